// A server that answers every request with one canned answer, for answers
// no well-behaved API gives: node canned.mjs DIR
//
// Listens on a free port of 127.0.0.1 and writes it to DIR/port. Every
// request is appended to DIR/requests.log as one line (METHOD PATH) and
// answered with the status in DIR/status (200 when absent) and the bytes of
// DIR/body, as application/json; both are read at each request, so a test
// changes the answer between calls. The body is streamed from its file.
// Built-in modules only.
import { createServer } from 'node:http';
import { appendFileSync, createReadStream, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node canned.mjs DIR');
  process.exit(2);
}

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    appendFileSync(join(dir, 'requests.log'), `${req.method} ${req.url}\n`);
    const statusFile = join(dir, 'status');
    const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : 200;
    const bodyFile = join(dir, 'body');
    if (!existsSync(bodyFile)) {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': 0 });
      res.end();
      return;
    }
    // Streamed from the file: a large answer costs this server no memory.
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': statSync(bodyFile).size,
    });
    createReadStream(bodyFile).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => {
  writeFileSync(join(dir, 'port.tmp'), String(server.address().port));
  // Renamed into place: a reader never sees a half-written port.
  renameSync(join(dir, 'port.tmp'), join(dir, 'port'));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
