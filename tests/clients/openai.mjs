// The openai SDK against OPENAI_BASE_URL with OPENAI_API_KEY, as a user's
// script sets them (OpenAI itself, or Groq at .../openai/v1):
//   node openai.mjs chat|stream|embeddings [PROMPT]
//   chat        chat.completions.create, the whole completion
//   stream      the same with stream: true (and the usage chunk): every chunk
//   embeddings  embeddings.create
// MODEL overrides the model. Prints a transcript (transcript.mjs).
import OpenAI from 'openai';
import { line, mode, prompt, run } from './transcript.mjs';

const m = mode('openai.mjs', ['chat', 'stream', 'embeddings']);
const client = new OpenAI({ maxRetries: 0 });
const model = process.env.MODEL ?? (m === 'embeddings' ? 'text-embedding-3-small' : 'gpt-4o-mini');
const messages = [{ role: 'user', content: prompt() }];

await run(async () => {
  if (m === 'chat') {
    const c = await client.chat.completions.create({ model, messages, temperature: 0 });
    line('id', c.id);
    line('model', c.model);
    line('finish_reason', c.choices[0].finish_reason);
    line('usage', c.usage);
    line('text', c.choices[0].message.content);
  } else if (m === 'stream') {
    const stream = await client.chat.completions.create({ model, messages, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const chunk of stream) {
      line(`chunk ${chunk.object}`, chunk);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    line('text', text);
  } else {
    const e = await client.embeddings.create({ model, input: [prompt(), 'second input'] });
    line('model', e.model);
    line('usage', e.usage);
    for (const d of e.data) line(`embedding ${d.index}`, d.embedding);
  }
});
