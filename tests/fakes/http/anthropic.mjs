// The Anthropic Messages API (POST /v1/messages), as api.anthropic.com
// answers it.
const types = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };
const messages = { 401: 'invalid x-api-key', 404: 'model: not found', 429: 'Number of request tokens has exceeded your per-minute rate limit', 500: 'Internal server error', 529: 'Overloaded' };

export function error(status) {
  return { type: 'error', error: { type: types[status] ?? 'api_error', message: messages[status] ?? `HTTP ${status}` } };
}

export function handle({ method, url, headers, body }) {
  if (method !== 'POST' || url.pathname !== '/v1/messages') {
    return { status: 404, body: error(404) };
  }
  if (!headers['anthropic-version']) {
    return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
  }
  if (!/^sk-ant-/.test(headers['x-api-key'] ?? '')) {
    return { status: 401, body: error(401) };
  }
  const request = JSON.parse(body);
  if (!request.max_tokens) {
    return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } } };
  }
  const prompt = request.messages[request.messages.length - 1].content;
  let text = `Claude says 42 to "${prompt}" (${request.model})`;
  if (request.system) text += ` [system: ${request.system}]`;
  return {
    headers: { 'request-id': 'req_018EeWyXxfu5pfWkrYcMdjWG', 'anthropic-ratelimit-requests-remaining': '49' },
    body: {
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 9 },
    },
  };
}
