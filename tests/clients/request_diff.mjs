// What changes between two runs of a client: node request_diff.mjs A B
//
// A and B are requests.log files of the fake APIs (server.mjs), one per run
// of the same command. Their requests are paired in order; for each pair the
// headers and the JSON body are compared field by field, and every path
// whose value differs (or exists in one only) is printed once, sorted:
// "header NAME" or "body PATH" (PATH: keys and array indices joined by ".").
// Inside a string, "KEY=VALUE" pairs separated by ";" (the billing header
// system block) are compared one by one, as "body PATH:KEY". A different
// number of requests, or a different method or path, is printed as such.
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).map((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
const out = new Set();

function pairs(s) {
  const m = /^([\w-]+): (.*)$/s.exec(s);
  if (!m || !m[2].includes('=')) return null;
  return Object.fromEntries(m[2].split(';').map((p) => p.trim()).filter(Boolean).map((p) => p.split('=')));
}

function compare(path, x, y) {
  if (typeof x === 'string' && typeof y === 'string' && x !== y) {
    const px = pairs(x);
    const py = pairs(y);
    if (px && py) {
      for (const k of new Set([...Object.keys(px), ...Object.keys(py)])) {
        if (px[k] !== py[k]) out.add(`body ${path}:${k}`);
      }
      return;
    }
    // A JSON document in a string (metadata.user_id): compared inside.
    try {
      const jx = JSON.parse(x);
      const jy = JSON.parse(y);
      if (jx && typeof jx === 'object' && jy && typeof jy === 'object') return compare(path, jx, jy);
    } catch {}
  }
  if (x && y && typeof x === 'object' && typeof y === 'object') {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) compare(path ? `${path}.${k}` : k, x[k], y[k]);
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y)) {
    out.add(`body ${path}`);
    if (typeof x === 'string' && typeof y === 'string') explain(path, x, y);
  }
}

// On stderr, so that a failing case shows what changed: the first line
// that differs in a text of several lines, or both values of a short one.
function explain(path, x, y) {
  const [lx, ly] = [x.split('\n'), y.split('\n')];
  let i = 0;
  while (i < lx.length && i < ly.length && lx[i] === ly[i]) i++;
  const show = (v) => JSON.stringify((v ?? '(none)').slice(0, 300));
  console.error(`${path}, line ${i + 1} of ${lx.length} vs ${ly.length}:\n  ${show(lx[i])}\n  ${show(ly[i])}`);
}

if (a.length !== b.length) out.add(`requests ${a.length} vs ${b.length}`);
for (let i = 0; i < Math.min(a.length, b.length); i++) {
  const [x, y] = [a[i], b[i]];
  if (x.method !== y.method || x.path !== y.path) {
    out.add(`request ${i}: ${x.method} ${x.path} vs ${y.method} ${y.path}`);
    continue;
  }
  for (const h of new Set([...Object.keys(x.headers), ...Object.keys(y.headers)])) {
    if (x.headers[h] !== y.headers[h]) out.add(`header ${h}`);
  }
  let bx, by;
  try {
    bx = JSON.parse(x.body);
    by = JSON.parse(y.body);
  } catch {
    if (x.body !== y.body) out.add('body');
    continue;
  }
  compare('', bx, by);
}
for (const line of [...out].sort()) console.log(line);
