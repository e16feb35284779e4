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
  if (typeof request.system === 'string') text += ` [system: ${request.system}]`;
  const answerHeaders = { 'request-id': 'req_018EeWyXxfu5pfWkrYcMdjWG', 'anthropic-ratelimit-requests-remaining': '49' };
  if (request.stream) {
    // The event sequence of a streamed Messages answer.
    const id = 'msg_01SSEstreamFakeAnswer00';
    const half = Math.ceil(text.length / 2);
    return {
      headers: answerHeaders,
      sse: [
        { event: 'message_start', data: { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } } },
        { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
        { event: 'ping', data: { type: 'ping' } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(0, half) } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(half) } } },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
        { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } } },
        { event: 'message_stop', data: { type: 'message_stop' } },
      ],
    };
  }
  return {
    headers: answerHeaders,
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
