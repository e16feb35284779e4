// What a client script was given over HTTP, byte for byte: loaded before
// the script (node --import ./record_fetch.mjs SCRIPT …), it wraps the
// global fetch, which the SDKs use, and for each answer appends to
// $FETCH_RECORD.log one line "N STATUS CACHE METHOD URL" (CACHE: the
// answer's x-ipfsacc-cache header, "-" when it has none) and writes the
// body as it arrived to $FETCH_RECORD.N.body (N from 1, in the order the
// requests were made). The script reads the answer as usual: the recording
// reads a copy (Response.clone), so a stream reaches the SDK as it comes.
import { appendFileSync, writeFileSync } from 'node:fs';

const record = process.env.FETCH_RECORD;
const original = globalThis.fetch;
let count = 0;

if (record && original) {
  globalThis.fetch = async (input, init) => {
    const n = ++count;
    const method = init?.method ?? input?.method ?? 'GET';
    const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const response = await original(input, init);
    const copy = response.clone();
    const cache = response.headers.get('x-ipfsacc-cache') ?? '-';
    // An answer the SDK abandons (an aborted request) is logged as such,
    // never an unhandled rejection that would end the script.
    copy.arrayBuffer().then(
      (body) => {
        writeFileSync(`${record}.${n}.body`, Buffer.from(body));
        appendFileSync(`${record}.log`, `${n} ${response.status} ${cache} ${method} ${url}\n`);
      },
      (e) => appendFileSync(`${record}.log`, `${n} ${response.status} ${cache} ${method} ${url} (${e?.name ?? 'Error'})\n`),
    );
    return response;
  };
}
