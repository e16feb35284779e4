// What OpenAI's API and the APIs compatible with it (Groq) answer to a chat
// completion, streamed or not, and to an embeddings request. Shared by
// openai.mjs and groq.mjs; not an API of its own.

// The chat completion's text, made from the request alone.
export function chatText(request) {
  const user = request.messages.filter((m) => m.role === 'user').pop().content;
  const system = request.messages.find((m) => m.role === 'system');
  let content = `Fast answer to "${user}" from ${request.model}`;
  if (system) content += ` (system: ${system.content})`;
  if (request.temperature !== undefined) content += ` at temperature ${request.temperature}`;
  return content + '.';
}

// The answer to a chat completion request: the whole completion, or with
// "stream": true the chunks as `data:` events ending with `data: [DONE]`
// (one word per chunk; with stream_options.include_usage a last chunk with
// no choices and the usage). extra holds the provider's own fields.
export function chatAnswer(request, { id, created, fingerprint, usage, extra = {}, headers = {} }) {
  const content = chatText(request);
  if (!request.stream) {
    return {
      headers,
      body: {
        id,
        object: 'chat.completion',
        created,
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' }],
        usage,
        system_fingerprint: fingerprint,
        ...extra,
      },
    };
  }
  const chunk = (choices, more = {}) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, system_fingerprint: fingerprint, choices, ...more })}\n\n`;
  const delta = (d, finish = null) => [{ index: 0, delta: d, logprobs: null, finish_reason: finish }];
  const events = [chunk(delta({ role: 'assistant', content: '' }))];
  for (const piece of content.match(/\s*\S+/g)) events.push(chunk(delta({ content: piece })));
  events.push(chunk(delta({}, 'stop')));
  if (request.stream_options?.include_usage) events.push(chunk([], { usage }));
  events.push('data: [DONE]\n\n');
  return { headers, events };
}

// The answer to an embeddings request: for each input a vector of 8 numbers
// derived from its bytes (deterministic, not meaningful); with
// "encoding_format": "base64" (what the openai SDK asks for) the vectors are
// the base64 of their little-endian float32s, as the API sends them.
export function embeddingsAnswer(request) {
  const inputs = Array.isArray(request.input) ? request.input : [request.input];
  const data = inputs.map((text, index) => {
    const bytes = Buffer.from(String(text));
    const embedding = Array.from({ length: 8 }, (_, i) => Number(((bytes[i % Math.max(1, bytes.length)] ?? 0) / 255 - 0.5).toFixed(6)));
    if (request.encoding_format !== 'base64') return { object: 'embedding', index, embedding };
    return { object: 'embedding', index, embedding: Buffer.from(new Float32Array(embedding).buffer).toString('base64') };
  });
  const tokens = inputs.reduce((n, t) => n + Math.max(1, Math.ceil(String(t).length / 4)), 0);
  return { body: { object: 'list', data, model: request.model, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
}
