// The Anthropic Messages API, as api.anthropic.com answers it: POST
// /v1/messages (a JSON message, or with "stream": true the SSE events
// message_start, content_block_start, ping, content_block_delta...,
// content_block_stop, message_delta, message_stop) and POST
// /v1/messages/count_tokens. The answer's text is made from the request
// alone, so two identical requests get identical bytes.
const types = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };
const messages = { 401: 'invalid x-api-key', 404: 'model: not found', 429: 'Number of request tokens has exceeded your per-minute rate limit', 500: 'Internal server error', 529: 'Overloaded' };

export function error(status) {
  return { type: 'error', error: { type: types[status] ?? 'api_error', message: messages[status] ?? `HTTP ${status}` } };
}

// The text of a message's content: a string, or the last text block of a
// list of blocks (clients put context blocks before the user's words).
function textOf(content) {
  if (typeof content === 'string') return content;
  const texts = (content ?? []).filter((b) => b.type === 'text').map((b) => b.text);
  return texts.length ? texts[texts.length - 1] : '';
}

// A stable stand-in for a token count: one token per 4 bytes.
function tokens(text) {
  return Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
}

// An SSE frame as the API writes it.
function frame(type, data) {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

// The text split into the pieces a stream sends: one word (with the space
// before it) per content_block_delta.
function pieces(text) {
  return text.match(/\s*\S+/g) ?? [''];
}

function messageEvents(message) {
  const { content, stop_reason, usage } = message;
  const text = content[0].text;
  const start = { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } };
  return [
    frame('message_start', { message: start }),
    frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    frame('ping', {}),
    ...pieces(text).map((p) => frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } })),
    frame('content_block_stop', { index: 0 }),
    frame('message_delta', { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }),
    frame('message_stop', {}),
  ];
}

export function handle({ method, url, headers, body }) {
  const path = url.pathname;
  if (method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
    return { status: 404, body: error(404) };
  }
  if (!headers['anthropic-version']) {
    return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } } };
  }
  const bearer = /^Bearer (.*)$/.exec(headers.authorization ?? '');
  if (!/^sk-ant-/.test(headers['x-api-key'] ?? (bearer ? bearer[1] : ''))) {
    return { status: 401, body: error(401) };
  }
  const request = JSON.parse(body);
  const prompt = textOf(request.messages.filter((m) => m.role === 'user').pop().content);
  if (path === '/v1/messages/count_tokens') {
    return { body: { input_tokens: tokens(JSON.stringify(request)) } };
  }
  if (!request.max_tokens) {
    return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } } };
  }
  let text = `Claude says 42 to "${prompt}" (${request.model})`;
  if (typeof request.system === 'string') text += ` [system: ${request.system}]`;
  const message = {
    id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
    type: 'message',
    role: 'assistant',
    model: request.model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 9 },
  };
  const answerHeaders = { 'request-id': 'req_018EeWyXxfu5pfWkrYcMdjWG', 'anthropic-ratelimit-requests-remaining': '49' };
  if (request.stream) {
    return { headers: answerHeaders, events: messageEvents(message) };
  }
  return { headers: answerHeaders, body: message };
}
