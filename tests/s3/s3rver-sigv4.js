// s3rver with its signature checking completed: s3rver 3.7.1 checks
// Signature Version 2 but takes any SigV4 request whose access key id it
// knows ("Signature version 4 calculation is unimplemented"). This checks
// SigV4 header signatures (AWS's algorithm, for the s3 service) before
// s3rver sees the request: a wrong secret key is SignatureDoesNotMatch, an
// unknown key id InvalidAccessKeyId, both 403 as on AWS. Unsigned requests
// go through as anonymous, as s3rver serves them.
//   node s3rver-sigv4.js DIR BUCKET   prints "S3rver listening on ADDR:PORT",
//   then "connection from port N" for each connection accepted and
//   "request METHOD PATH from port N" for each request
'use strict';
const crypto = require('crypto');
const S3rver = require('s3rver');

const KEYS = { S3RVER: 'S3RVER' };
const [dir, bucket] = process.argv.slice(2);

const rfc3986 = s =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest();
const sha256 = text => crypto.createHash('sha256').update(text).digest('hex');

function deny(ctx, code, message) {
  ctx.status = 403;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

async function checkSigV4(ctx, next) {
  const auth = ctx.get('authorization');
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) {
    return next(); // unsigned (anonymous), or V2 (s3rver checks it)
  }
  const fields = {};
  for (const part of auth.slice(17).split(',')) {
    const eq = part.indexOf('=');
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const [keyId, date, region, service, term] = (fields.Credential || '').split('/');
  const secret = KEYS[keyId];
  if (secret === undefined) {
    return deny(ctx, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  const signed = (fields.SignedHeaders || '').split(';');
  const url = ctx.req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = (q < 0 ? '' : url.slice(q + 1))
    .split('&')
    .filter(p => p !== '')
    .map(p => {
      const eq = p.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, '%20'));
      return [rfc3986(name), rfc3986(value)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
  const headers = signed
    .map(h => `${h}:${String(ctx.get(h)).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonical = [
    ctx.method,
    path,
    query,
    headers,
    signed.join(';'),
    ctx.get('x-amz-content-sha256') || 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = [date, region, service, term].join('/');
  const toSign = ['AWS4-HMAC-SHA256', ctx.get('x-amz-date'), scope, sha256(canonical)].join('\n');
  let key = hmac('AWS4' + secret, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, term);
  const want = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  if (want !== fields.Signature) {
    return deny(ctx, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return next();
}

const server = new S3rver({
  directory: dir,
  address: '127.0.0.1',
  port: 0,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.middleware.unshift(checkSigV4);
// One line per request (refused ones too), naming the client's port: the
// tests count the connections a process makes and the requests it sends.
server.middleware.unshift(async (ctx, next) => {
  console.log('request %s %s from port %d', ctx.method, ctx.path, ctx.req.socket.remotePort);
  return next();
});
server.run().then(
  ({ address, port }) => {
    server.httpServer.on('connection', socket =>
      console.log('connection from port %d', socket.remotePort),
    );
    console.log('S3rver listening on %s:%d', address, port);
  },
  err => {
    console.error(err);
    process.exit(1);
  },
);
