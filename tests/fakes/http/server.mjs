// A fake API server for the HTTP path's tests: node server.mjs API DIR
//
// Listens on a free port of 127.0.0.1, writes it to DIR/port, and answers
// with the routes of ./API.mjs (groq, anthropic, gemini, hf, vastai). Every
// request is appended to DIR/requests.log as one JSON line {method, path,
// headers, body}, so a test can assert what ipfsacc, or a client, sent.
//
// A route answers {status, headers, body} or, for a streamed answer,
// {headers, events}: the events are written one at a time (each its own
// write, as an API flushes them), as text/event-stream unless the headers
// say otherwise.
//
// Pointed at as an HTTP(S) proxy (HTTPS_PROXY), it logs a CONNECT as
// {method: "CONNECT", path: "HOST:PORT"} and refuses it, and a request for an
// absolute URL is logged with that URL as its path: a test sees any attempt
// of a client to reach a host other than its fake API.
//
// DIR/scenario, read at each request, scripts failures: one word per line,
// each consumed by one request (the first line first):
//   STATUS          answer with that status and the API's error body
//   429:SECONDS     429 Too Many Requests with Retry-After: SECONDS
//   503:SECONDS     503 with Retry-After
//   slow:SECONDS    wait that long, then answer normally
//   big:BYTES       200 with a body of BYTES bytes ("x"), streamed
//   gzip:BYTES      200 with a gzip body (Content-Encoding: gzip) that
//                   expands to BYTES zero bytes: a "gzip bomb"
//   cut             answer normally, but a streamed (SSE) answer stops
//                   before its last event, as a connection cut short would

// Built-in modules only.
import { createServer } from 'node:http';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';

const [api, dir] = process.argv.slice(2);
if (!api || !dir) {
  console.error('usage: node server.mjs API DIR');
  process.exit(2);
}
const routes = await import(new URL(`./${api}.mjs`, import.meta.url));
const log = join(dir, 'requests.log');
const scenario = join(dir, 'scenario');

// The next scripted word, removed from the scenario file.
function nextWord() {
  if (!existsSync(scenario)) return null;
  const lines = readFileSync(scenario, 'utf8').split('\n').filter((l) => l.trim());
  if (!lines.length) return null;
  writeFileSync(scenario, lines.slice(1).join('\n') + (lines.length > 1 ? '\n' : ''));
  return lines[0].trim();
}

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

// Writes each event on its own, waiting for the next turn of the event loop
// between them, so that a client reads them as they come, not as one lump.
async function sendEvents(res, status, events, headers) {
  res.writeHead(status, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...headers });
  let gone = false;
  res.on('close', () => { gone = true; });
  for (const event of events) {
    if (gone) return;
    res.write(event);
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

// Streams bytes bytes of chunk's content, as fast as the client reads, and
// stops when it goes away.
function stream(res, bytes, headers) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': bytes, ...headers });
  const chunk = Buffer.alloc(1 << 16, 'x');
  let left = bytes;
  res.on('close', () => { left = 0; });
  res.on('error', () => { left = 0; });
  (function more() {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(chunk.subarray(0, n))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  })();
}

// The gzip of bytes zero bytes, compressed a megabyte at a time.
function gzipOfZeros(bytes) {
  return new Promise((resolve, reject) => {
    const gz = createGzip();
    const out = [];
    gz.on('data', (c) => out.push(c));
    gz.on('end', () => resolve(Buffer.concat(out)));
    gz.on('error', reject);
    const zeros = Buffer.alloc(1 << 20);
    let left = bytes;
    (function more() {
      while (left > 0) {
        const n = Math.min(left, zeros.length);
        left -= n;
        if (!gz.write(zeros.subarray(0, n))) {
          gz.once('drain', more);
          return;
        }
      }
      gz.end();
    })();
  });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks).toString('utf8');
    appendFileSync(log, JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }) + '\n');
    let word = nextWord();
    let cut = false;
    if (word === 'cut') {
      cut = true;
      word = null;
    }
    if (word) {
      const [what, arg] = word.split(':');
      if (what === 'slow') {
        await new Promise((r) => setTimeout(r, Number(arg) * 1000));
      } else if (what === 'big') {
        stream(res, Number(arg), {});
        return;
      } else if (what === 'gzip') {
        const body = await gzipOfZeros(Number(arg));
        res.on('error', () => {});
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': body.length });
        res.end(body);
        return;
      } else {
        const status = Number(what);
        const headers = arg !== undefined ? { 'Retry-After': arg } : {};
        send(res, status, routes.error(status), headers);
        return;
      }
    }
    let answer;
    try {
      answer = routes.handle({ method: req.method, url: new URL(req.url, 'http://fake'), headers: req.headers, body });
    } catch (e) {
      answer = { status: 500, body: routes.error(500) };
    }
    if (answer.events) {
      const events = cut ? answer.events.slice(0, -1) : answer.events;
      sendEvents(res, answer.status ?? 200, events, answer.headers ?? {});
    } else {
      send(res, answer.status ?? 200, answer.body, answer.headers ?? {});
    }
  });
});
server.on('connect', (req, socket) => {
  appendFileSync(log, JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body: '' }) + '\n');
  socket.on('error', () => {});
  socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
});
server.listen(0, '127.0.0.1', () => {
  writeFileSync(join(dir, 'port.tmp'), String(server.address().port));
  // Renamed into place: a reader never sees a half-written port.
  import('node:fs').then((fs) => fs.renameSync(join(dir, 'port.tmp'), join(dir, 'port')));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
