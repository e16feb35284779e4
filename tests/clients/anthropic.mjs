// @anthropic-ai/sdk against ANTHROPIC_BASE_URL with ANTHROPIC_API_KEY, as a
// user's script sets them: node anthropic.mjs create|stream|count [PROMPT]
//   create  messages.create, the whole message
//   stream  messages.stream: every event in order, then the final message
//   count   messages.countTokens
// MODEL overrides the model. Prints a transcript (transcript.mjs).
import Anthropic from '@anthropic-ai/sdk';
import { line, mode, prompt, run } from './transcript.mjs';

const m = mode('anthropic.mjs', ['create', 'stream', 'count']);
const client = new Anthropic({ maxRetries: 0 });
const request = {
  model: process.env.MODEL ?? 'claude-sonnet-4-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: prompt() }],
};

function message(msg) {
  line('id', msg.id);
  line('model', msg.model);
  line('stop_reason', msg.stop_reason);
  line('usage', msg.usage);
  line('text', msg.content.map((b) => b.text).join(''));
}

await run(async () => {
  if (m === 'create') {
    message(await client.messages.create(request));
  } else if (m === 'stream') {
    const stream = client.messages.stream(request);
    for await (const event of stream) line(`event ${event.type}`, event);
    message(await stream.finalMessage());
  } else {
    const { model, messages } = request;
    line('input_tokens', (await client.messages.countTokens({ model, messages })).input_tokens);
  }
});
