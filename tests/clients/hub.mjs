// @huggingface/hub against HF_ENDPOINT with HF_TOKEN (the variables of the
// Hub's own tools, passed as hubUrl and accessToken: the library reads no
// environment): node hub.mjs model-info|list-files [REPO]
//   model-info  modelInfo, with a few additional fields
//   list-files  listFiles at main
// Prints a transcript (transcript.mjs).
import { listFiles, modelInfo } from '@huggingface/hub';
import { line, mode, run } from './transcript.mjs';

const m = mode('hub.mjs', ['model-info', 'list-files']);
const name = process.argv[3] ?? 'openai-community/gpt2';
const options = { hubUrl: process.env.HF_ENDPOINT, accessToken: process.env.HF_TOKEN };

await run(async () => {
  if (m === 'model-info') {
    const info = await modelInfo({ ...options, name, additionalFields: ['author', 'sha', 'tags'] });
    for (const [k, v] of Object.entries(info)) line(k, v);
  } else {
    for await (const f of listFiles({ ...options, repo: { type: 'model', name } })) line(`${f.type} ${f.path}`, f);
  }
});
