// The OpenAI API, as api.openai.com answers it: chat completions (streamed
// or not) and embeddings under /v1.
import { chatAnswer, embeddingsAnswer } from './openai_wire.mjs';

const codes = { 401: 'invalid_api_key', 404: 'model_not_found', 429: 'rate_limit_exceeded', 500: 'server_error', 503: 'server_error' };

export function error(status) {
  const messages = { 401: 'Incorrect API key provided.', 404: 'The model does not exist or you do not have access to it.', 429: 'Rate limit reached for requests', 500: 'The server had an error while processing your request.', 503: 'The engine is currently overloaded, please try again later' };
  return { error: { message: messages[status] ?? `HTTP ${status}`, type: status === 401 ? 'invalid_request_error' : 'server_error', param: null, code: codes[status] ?? null } };
}

export function handle({ method, url, headers, body }) {
  const path = url.pathname;
  if (method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/embeddings')) {
    return { status: 404, body: { error: { message: `Invalid URL (${method} ${url.pathname})`, type: 'invalid_request_error', param: null, code: null } } };
  }
  if (!/^Bearer sk-/.test(headers.authorization ?? '')) {
    return { status: 401, body: error(401) };
  }
  const request = JSON.parse(body);
  if (path === '/v1/embeddings') return embeddingsAnswer(request);
  return chatAnswer(request, {
    id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    created: 1741569952,
    fingerprint: 'fp_6ec83003ad',
    usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
    headers: { 'x-request-id': 'req_7b0e8fd6b1c44a0f9c1e2e8c2b4a1f3d', 'openai-processing-ms': '321' },
  });
}
