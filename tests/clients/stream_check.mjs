// Whether a client was given the events a stream carried:
//   node stream_check.mjs RAW TRANSCRIPT LABEL
//
// RAW is the body of a streamed answer as it was sent (SSE); TRANSCRIPT a
// client script's output. The JSON of each `data:` event of RAW, but
// `[DONE]` and Anthropic's pings (which the SDKs do not yield), must equal,
// in order and with the keys of every object sorted, the JSON value of each
// transcript line that starts with LABEL. Prints the first difference and
// exits 1 if they are not; an answer with no event is a difference too.
import { readFileSync } from 'node:fs';

const [raw, transcript, label] = process.argv.slice(2);
const sorted = (v) =>
  Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
const canon = (text) => JSON.stringify(sorted(JSON.parse(text)));

const sent = readFileSync(raw, 'utf8')
  .split(/\r?\n/)
  .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
  .map((l) => l.slice(6))
  .filter((d) => JSON.parse(d).type !== 'ping')
  .map(canon);
const shown = readFileSync(transcript, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith(label + ' '))
  .map((l) => canon(l.slice(l.search(/ [[{]/) + 1)));

if (sent.length && JSON.stringify(sent) === JSON.stringify(shown)) process.exit(0);
console.log(`the stream sent ${sent.length} events, the transcript shows ${shown.length}`);
for (let i = 0; i < Math.max(sent.length, shown.length); i++) {
  if (sent[i] !== shown[i]) {
    console.log(`first difference, event ${i}:\n  sent  ${sent[i]}\n  shown ${shown[i]}`);
    break;
  }
}
process.exit(1);
