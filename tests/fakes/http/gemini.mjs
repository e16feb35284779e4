// The Gemini API, as generativelanguage.googleapis.com answers it, under
// /v1beta/models/MODEL: generateContent, streamGenerateContent (with
// ?alt=sse: `data:` events, each a partial answer, the last with the
// finishReason; without it the same answers as one JSON array), countTokens, embedContent and batchEmbedContents. The
// answer's text is made from the request alone.
const statuses = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
const messages = { 400: 'API key not valid. Please pass a valid API key.', 404: 'models/nope is not found for API version v1beta', 429: 'Resource has been exhausted (e.g. check quota).', 500: 'An internal error has occurred.', 503: 'The model is overloaded. Please try again later.' };

export function error(status) {
  return { error: { code: status, message: messages[status] ?? `HTTP ${status}`, status: statuses[status] ?? 'UNKNOWN' } };
}

// The prompt: the last text part of the last user turn (a client's context
// comes first).
function promptOf(contents) {
  const turns = contents.filter((c) => (c.role ?? 'user') === 'user');
  const parts = (turns[turns.length - 1]?.parts ?? []).filter((p) => typeof p.text === 'string');
  return parts.length ? parts[parts.length - 1].text : '';
}

// A deterministic vector for a text: 8 numbers from its bytes.
function vector(text) {
  const bytes = Buffer.from(text);
  return Array.from({ length: 8 }, (_, i) => Number(((bytes[i % Math.max(1, bytes.length)] ?? 0) / 255 - 0.5).toFixed(6)));
}

function textOfContent(content) {
  return (content?.parts ?? []).map((p) => p.text ?? '').join('');
}

// A value that fits a JSON schema (responseJsonSchema or responseSchema, in
// the API's OBJECT/STRING/... or JSON Schema's spelling): what a client that
// asks for JSON (the Gemini CLI's model router) parses. Strings are text,
// numbers their minimum or 1, enums their first value.
function fitting(schema, text) {
  if (!schema) return text;
  if (schema.enum) return schema.enum[0];
  switch (String(schema.type ?? 'string').toLowerCase()) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, fitting(v, text)]));
    case 'array':
      return [fitting(schema.items, text)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      return text;
  }
}

const usage = { promptTokenCount: 8, candidatesTokenCount: 10, totalTokenCount: 18 };
const responseId = 'mKdGaPDxF5WjmtkP3-fY2QM';

export function handle({ method, url, headers, body }) {
  const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/.exec(url.pathname);
  if (method !== 'POST' || !m) {
    return { status: 404, body: error(404) };
  }
  if (!/^AIza/.test(headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? '')) {
    return { status: 400, body: error(400) };
  }
  const model = decodeURIComponent(m[1]);
  const request = JSON.parse(body);
  switch (m[2]) {
    case 'countTokens':
      return { body: { totalTokens: Math.max(1, Math.ceil(body.length / 4)) } };
    case 'embedContent':
      return { body: { embedding: { values: vector(textOfContent(request.content)) } } };
    case 'batchEmbedContents':
      return { body: { embeddings: request.requests.map((r) => ({ values: vector(textOfContent(r.content)) })) } };
  }
  let text = `Gemini says 42 to "${promptOf(request.contents)}" (${model})`;
  const config = request.generationConfig ?? {};
  if (config.responseMimeType === 'application/json') {
    text = JSON.stringify(fitting(config.responseJsonSchema ?? config.responseSchema, text));
  }
  if (m[2] === 'generateContent') {
    return {
      body: {
        candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage,
        modelVersion: model,
        responseId,
      },
    };
  }
  // Two words per event, as the API sends a few tokens at a time; the
  // usage and the finishReason come with the last.
  const words = text.match(/\s*\S+/g);
  const events = [];
  for (let i = 0; i < words.length; i += 2) {
    const last = i + 2 >= words.length;
    const candidate = { content: { parts: [{ text: words.slice(i, i + 2).join('') }], role: 'model' }, index: 0 };
    if (last) candidate.finishReason = 'STOP';
    const answer = { candidates: [candidate], usageMetadata: last ? usage : { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: model, responseId };
    events.push(answer);
  }
  if (url.searchParams.get('alt') !== 'sse') {
    // Without alt=sse the API sends the partial answers as one JSON array.
    return { body: events };
  }
  return { events: events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`) };
}
