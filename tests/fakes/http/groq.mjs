// Groq's OpenAI-compatible API, as api.groq.com answers it: chat completions
// (streamed or not) and embeddings under /openai/v1.
import { chatAnswer, embeddingsAnswer } from './openai_wire.mjs';

const statusText = { 400: 'invalid_request_error', 401: 'invalid_api_key', 404: 'not_found', 429: 'rate_limit_exceeded', 500: 'internal_server_error', 503: 'service_unavailable' };

export function error(status) {
  const messages = { 401: 'Invalid API Key', 404: 'The model does not exist or you do not have access to it.', 429: 'Rate limit reached for model. Please try again in 1s.', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  return { error: { message: messages[status] ?? `HTTP ${status}`, type: status === 401 ? 'invalid_request_error' : 'api_error', code: statusText[status] ?? 'error' } };
}

export function handle({ method, url, headers, body }) {
  const path = url.pathname;
  if (method !== 'POST' || (path !== '/openai/v1/chat/completions' && path !== '/openai/v1/embeddings')) {
    return { status: 404, body: { error: { message: `Unknown request URL: ${method} ${url.pathname}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`, type: 'invalid_request_error', code: 'unknown_url' } } };
  }
  if (!/^Bearer gsk_/.test(headers.authorization ?? '')) {
    return { status: 401, body: error(401) };
  }
  const request = JSON.parse(body);
  if (path === '/openai/v1/embeddings') return embeddingsAnswer(request);
  const usage = { queue_time: 0.037, prompt_tokens: 18, prompt_time: 0.0007, completion_tokens: 12, completion_time: 0.46, total_tokens: 30, total_time: 0.46 };
  return chatAnswer(request, {
    id: 'chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22',
    created: 1730241104,
    fingerprint: 'fp_179b0f92c9',
    usage,
    extra: { x_groq: { id: 'req_01jbd6g2qdfw2adyrt2az8hz4w' } },
    headers: { 'x-ratelimit-remaining-requests': '14399', 'x-request-id': 'req_01fake' },
  });
}
