// The OpenAI API, as api.openai.com answers it: chat completions and
// responses (streamed or not) and embeddings under /v1.
import { chatAnswer, embeddingsAnswer } from './openai_wire.mjs';

// The answer to a Responses API request: the response object, or with
// "stream": true its events (`event:` and `data:` lines, each data holding
// its type and sequence number) from response.created to
// response.completed, with no [DONE] after it.
function responsesAnswer(request) {
  const input = typeof request.input === 'string' ? request.input : JSON.stringify(request.input);
  const text = `Fast answer to "${input}" from ${request.model}.`;
  const id = 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b';
  const message = { type: 'message', id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e6', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
  const usage = { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 48 };
  const response = (status, output, more = {}) => ({ id, object: 'response', created_at: 1741476542, status, model: request.model, output, ...more });
  if (!request.stream) return { body: response('completed', [message], { usage }) };
  let sequence = 0;
  const event = (type, fields) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  const events = [event('response.created', { response: response('in_progress', []) })];
  for (const delta of text.match(/\s*\S+/g)) {
    events.push(event('response.output_text.delta', { item_id: message.id, output_index: 0, content_index: 0, delta }));
  }
  events.push(event('response.output_text.done', { item_id: message.id, output_index: 0, content_index: 0, text }));
  events.push(event('response.completed', { response: response('completed', [message], { usage }) }));
  return { events };
}

const codes = { 401: 'invalid_api_key', 404: 'model_not_found', 429: 'rate_limit_exceeded', 500: 'server_error', 503: 'server_error' };

export function error(status) {
  const messages = { 401: 'Incorrect API key provided.', 404: 'The model does not exist or you do not have access to it.', 429: 'Rate limit reached for requests', 500: 'The server had an error while processing your request.', 503: 'The engine is currently overloaded, please try again later' };
  return { error: { message: messages[status] ?? `HTTP ${status}`, type: status === 401 ? 'invalid_request_error' : 'server_error', param: null, code: codes[status] ?? null } };
}

export function handle({ method, url, headers, body }) {
  const path = url.pathname;
  if (method !== 'POST' || !['/v1/chat/completions', '/v1/embeddings', '/v1/responses'].includes(path)) {
    return { status: 404, body: { error: { message: `Invalid URL (${method} ${url.pathname})`, type: 'invalid_request_error', param: null, code: null } } };
  }
  if (!/^Bearer sk-/.test(headers.authorization ?? '')) {
    return { status: 401, body: error(401) };
  }
  const request = JSON.parse(body);
  if (path === '/v1/embeddings') return embeddingsAnswer(request);
  if (path === '/v1/responses') return responsesAnswer(request);
  return chatAnswer(request, {
    id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    created: 1741569952,
    fingerprint: 'fp_6ec83003ad',
    usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
    headers: { 'x-request-id': 'req_7b0e8fd6b1c44a0f9c1e2e8c2b4a1f3d', 'openai-processing-ms': '321' },
  });
}
