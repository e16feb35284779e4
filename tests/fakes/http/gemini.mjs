// The Gemini API's generateContent, as generativelanguage.googleapis.com
// answers it.
const statuses = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
const messages = { 400: 'API key not valid. Please pass a valid API key.', 404: 'models/nope is not found for API version v1beta', 429: 'Resource has been exhausted (e.g. check quota).', 500: 'An internal error has occurred.', 503: 'The model is overloaded. Please try again later.' };

export function error(status) {
  return { error: { code: status, message: messages[status] ?? `HTTP ${status}`, status: statuses[status] ?? 'UNKNOWN' } };
}

export function handle({ method, url, headers, body }) {
  const m = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(url.pathname);
  if (method !== 'POST' || !m) {
    return { status: 404, body: error(404) };
  }
  if (!/^AIza/.test(headers['x-goog-api-key'] ?? '')) {
    return { status: 400, body: error(400) };
  }
  const request = JSON.parse(body);
  const prompt = request.contents[0].parts[0].text;
  return {
    body: {
      candidates: [{ content: { parts: [{ text: `Gemini says 42 to "${prompt}" (${decodeURIComponent(m[1])})` }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 10, totalTokenCount: 18 },
      modelVersion: decodeURIComponent(m[1]),
      responseId: 'mKdGaPDxF5WjmtkP3-fY2QM',
    },
  };
}
