// @google/genai against GOOGLE_GEMINI_BASE_URL with GEMINI_API_KEY (the
// variables the SDK reads; BASE_URL=... passes the same URL as
// httpOptions.baseUrl instead, as a script may):
//   node genai.mjs generate|stream|embed|count [PROMPT]
//   generate  models.generateContent
//   stream    models.generateContentStream: every partial answer
//   embed     models.embedContent
//   count     models.countTokens
// MODEL overrides the model. Prints a transcript (transcript.mjs).
import { GoogleGenAI } from '@google/genai';
import { line, mode, prompt, run } from './transcript.mjs';

const m = mode('genai.mjs', ['generate', 'stream', 'embed', 'count']);
const ai = new GoogleGenAI(process.env.BASE_URL ? { httpOptions: { baseUrl: process.env.BASE_URL } } : {});
const model = process.env.MODEL ?? (m === 'embed' ? 'gemini-embedding-001' : 'gemini-2.5-flash');

// An answer's fields the API sent (the SDK's class adds an
// sdkHttpResponse with the HTTP headers, which are not the answer).
function answer(label, r) {
  line(label, { candidates: r.candidates, usageMetadata: r.usageMetadata, modelVersion: r.modelVersion, responseId: r.responseId });
}

await run(async () => {
  if (m === 'generate') {
    const r = await ai.models.generateContent({ model, contents: prompt() });
    answer('response', r);
    line('text', r.text);
  } else if (m === 'stream') {
    let text = '';
    for await (const r of await ai.models.generateContentStream({ model, contents: prompt() })) {
      answer('chunk', r);
      text += r.text ?? '';
    }
    line('text', text);
  } else if (m === 'embed') {
    const r = await ai.models.embedContent({ model, contents: [prompt(), 'second input'] });
    for (const [i, e] of r.embeddings.entries()) line(`embedding ${i}`, e.values);
  } else {
    line('totalTokens', (await ai.models.countTokens({ model, contents: prompt() })).totalTokens);
  }
});
