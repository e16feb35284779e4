#!/usr/bin/env node
// github.mjs: a fake GitHub API (REST and the GraphQL queries gh sends) on
// 127.0.0.1, serving one fixed dataset the same way over both, for tests of
// ipfsacc's HTTP path against the real gh. Node's built-in modules only.
//
// Usage: node github.mjs --log FILE [--port-file FILE] [--token TOKEN]
//   Listens on a free loopback port, writes it to --port-file (and stdout).
//   Every request is appended to --log as one JSON line:
//     {"method","path","headers":{...},"body"}
//   where path is the path and query (a proxy's absolute URL is reduced to
//   its path). With --token, a request whose Authorization header is not
//   "token TOKEN" or "Bearer TOKEN" (GitHub takes both) gets 401 Bad
//   credentials.
//
// Conditional requests as GitHub answers them: a 200 to a GET carries an
// ETag (a hash of the body, and of the text of --etag-salt FILE when that
// file exists, so a test can make the "same" answer a new version), and a
// GET whose If-None-Match names the current ETag gets 304 Not Modified with
// no body (the ETag and X-RateLimit-* headers only; GitHub does not count it
// against the rate limit). --count-304 FILE holds how many 304s were sent.
//
// Reached directly (GITHUB_API_URL=http://127.0.0.1:PORT) or as a proxy
// (GH_HOST=github.localhost HTTP_PROXY=http://127.0.0.1:PORT: gh then asks
// for http://api.github.localhost/...). Paths may carry GitHub Enterprise's
// /api/v3 prefix; GraphQL is POST /graphql or /api/graphql.
//
// Link headers name the host the request was sent to, so a client follows
// them to the same place whichever way it came.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const logFile = opt('--log');
const portFile = opt('--port-file');
const token = opt('--token');
const etagSalt = opt('--etag-salt');
const count304 = opt('--count-304');
let notModified = 0;

function etagOf(text) {
  const salt = etagSalt && fs.existsSync(etagSalt) ? fs.readFileSync(etagSalt, 'utf8') : '';
  return `W/"${createHash('sha256').update(salt).update(text).digest('hex')}"`;
}

// ---------------------------------------------------------------------------
// The dataset, in GraphQL's shape (REST answers are derived from it).

const host = 'https://github.com';
const user = (login, id, name) => ({ __typename: 'User', login, id, name, databaseId: id.length });
const mona = user('mona', 'MDQ6VXNlcjE=', 'Mona Lisa');
const hubot = { __typename: 'Bot', login: 'hubot', id: 'MDM6Qm90MQ==' };
const octo = { __typename: 'Organization', login: 'octo-org', id: 'MDEyOk9yZ2FuaXphdGlvbjE=', name: 'Octo Org' };

const label = (id, name, description, color) => ({ id, name, description, color });
const bug = label('LA_bug', 'bug', "Something isn't working", 'd73a4a');
const docs = label('LA_docs', 'docs', '', '0075ca');

const repo = (name, extra) => ({
  __typename: 'Repository',
  id: `R_${name}`,
  name,
  nameWithOwner: `octo-org/${name}`,
  owner: octo,
  description: null,
  url: `${host}/octo-org/${name}`,
  sshUrl: `git@github.com:octo-org/${name}.git`,
  homepageUrl: '',
  isPrivate: false,
  isFork: false,
  isArchived: false,
  isTemplate: false,
  isEmpty: false,
  hasIssuesEnabled: true,
  hasWikiEnabled: false,
  stargazerCount: 0,
  forkCount: 0,
  diskUsage: 12,
  createdAt: '2021-03-04T05:06:07Z',
  updatedAt: '2023-01-02T03:04:05Z',
  pushedAt: '2023-01-02T03:04:05Z',
  defaultBranchRef: { name: 'main' },
  primaryLanguage: null,
  licenseInfo: null,
  latestRelease: null,
  parent: null,
  repositoryTopics: { nodes: [] },
  visibility: 'PUBLIC',
  ...extra,
});

const repos = [
  repo('hello', {
    description: 'Says hello <to> "everyone" & more — ünïcode',
    homepageUrl: 'https://hello.example',
    stargazerCount: 42,
    forkCount: 7,
    primaryLanguage: { name: 'C++' },
    licenseInfo: { key: 'mit', name: 'MIT License', nickname: '' },
    repositoryTopics: { nodes: [{ topic: { name: 'greeting' } }, { topic: { name: 'cli' } }] },
    latestRelease: { publishedAt: '2023-01-01T00:00:00Z', tagName: 'v1.1.0', name: 'One point one', url: `${host}/octo-org/hello/releases/tag/v1.1.0` },
    pushedAt: '2023-02-01T10:00:00Z',
  }),
  repo('world', {
    isPrivate: true,
    visibility: 'PRIVATE',
    description: 'Private world\nwith a newline\tand a tab',
    pushedAt: '2023-01-15T08:00:00Z',
    defaultBranchRef: { name: 'trunk' },
  }),
  repo('spoon', {
    isFork: true,
    isArchived: true,
    pushedAt: '2022-06-01T00:00:00Z',
    defaultBranchRef: null,
    parent: { id: 'R_upstream', name: 'upstream', owner: { id: 'MDQ6VXNlcjE=', login: 'mona' } },
  }),
];
// Most recently pushed first, as GitHub orders `repo list`.
repos.sort((a, b) => b.pushedAt.localeCompare(a.pushedAt));

const milestone = { number: 1, title: 'v2', description: 'The next one', dueOn: '2023-06-30T00:00:00Z' };

const issues = [
  { number: 5, title: 'Crash on empty input', state: 'OPEN', closed: false, closedAt: null, author: mona,
    assignees: [mona], labels: [bug], milestone, body: 'Steps:\n1. run it\r\n2. see <crash>',
    createdAt: '2023-02-05T12:00:00Z', updatedAt: '2023-02-06T12:00:00Z' },
  { number: 4, title: 'Document the "hello" flag', state: 'OPEN', closed: false, closedAt: null, author: hubot,
    assignees: [], labels: [docs, bug], milestone: null, body: '',
    createdAt: '2023-02-04T12:00:00Z', updatedAt: '2023-02-04T12:00:00Z' },
  { number: 3, title: 'Old bug', state: 'CLOSED', closed: true, closedAt: '2023-02-03T13:00:00Z', author: mona,
    assignees: [], labels: [], milestone: null, body: 'fixed',
    createdAt: '2023-02-03T12:00:00Z', updatedAt: '2023-02-03T13:00:00Z' },
  { number: 1, title: 'First issue ✨', state: 'OPEN', closed: false, closedAt: null, author: mona,
    assignees: [], labels: [], milestone: null, body: 'Hello\u2028world',
    createdAt: '2023-02-01T12:00:00Z', updatedAt: '2023-02-01T12:00:00Z' },
].map((i) => ({ ...i, __typename: 'Issue', id: `I_${i.number}`, url: `${host}/octo-org/hello/issues/${i.number}` }));

const pulls = [
  { number: 6, title: 'Add a flag', state: 'OPEN', isDraft: false, closed: false, closedAt: null, mergedAt: null,
    author: mona, assignees: [mona], labels: [docs], milestone, body: 'Adds --loud.',
    headRefName: 'loud', baseRefName: 'main', headRefOid: 'a'.repeat(40), additions: 10, deletions: 2,
    changedFiles: 3, isCrossRepository: false, mergeable: 'MERGEABLE', reviewDecision: 'REVIEW_REQUIRED',
    headRepositoryOwner: { id: octo.id, login: 'octo-org', __typename: 'Organization' }, mergedBy: null,
    createdAt: '2023-02-07T09:00:00Z', updatedAt: '2023-02-07T10:00:00Z' },
  { number: 2, title: 'Fix <typo>', state: 'MERGED', isDraft: false, closed: true, closedAt: '2023-02-02T11:00:00Z',
    mergedAt: '2023-02-02T11:00:00Z', author: hubot, assignees: [], labels: [], milestone: null, body: '',
    headRefName: 'typo', baseRefName: 'main', headRefOid: 'b'.repeat(40), additions: 1, deletions: 1,
    changedFiles: 1, isCrossRepository: true, mergeable: 'UNKNOWN', reviewDecision: '',
    headRepositoryOwner: { ...mona }, mergedBy: mona,
    createdAt: '2023-02-02T09:00:00Z', updatedAt: '2023-02-02T11:00:00Z' },
  { number: 7, title: 'WIP: draft', state: 'OPEN', isDraft: true, closed: false, closedAt: null, mergedAt: null,
    author: mona, assignees: [], labels: [], milestone: null, body: 'not yet',
    headRefName: 'wip', baseRefName: 'dev', headRefOid: 'c'.repeat(40), additions: 0, deletions: 0,
    changedFiles: 0, isCrossRepository: false, mergeable: 'CONFLICTING', reviewDecision: null,
    headRepositoryOwner: { id: octo.id, login: 'octo-org', __typename: 'Organization' }, mergedBy: null,
    createdAt: '2023-02-08T09:00:00Z', updatedAt: '2023-02-08T09:30:00Z' },
].map((p) => ({ ...p, __typename: 'PullRequest', id: `PR_${p.number}`, url: `${host}/octo-org/hello/pull/${p.number}` }));
pulls.sort((a, b) => b.createdAt.localeCompare(a.createdAt));

const runs = [
  { id: 30003, name: 'CI', display_title: 'Add a flag', status: 'in_progress', conclusion: null, head_branch: 'loud',
    head_sha: 'a'.repeat(40), event: 'pull_request', run_number: 12, workflow_id: 111, run_attempt: 1,
    created_at: '2023-02-07T09:01:00Z', updated_at: '2023-02-07T09:05:00Z', run_started_at: '2023-02-07T09:01:00Z' },
  { id: 30002, name: 'CI', display_title: 'Fix <typo>', status: 'completed', conclusion: 'success', head_branch: 'main',
    head_sha: 'b'.repeat(40), event: 'push', run_number: 11, workflow_id: 111, run_attempt: 2,
    created_at: '2023-02-02T11:01:00Z', updated_at: '2023-02-02T11:09:00Z', run_started_at: '2023-02-02T11:03:00Z' },
  { id: 30001, name: 'Release', display_title: 'v1.1.0', status: 'completed', conclusion: 'failure', head_branch: 'v1.1.0',
    head_sha: 'd'.repeat(40), event: 'release', run_number: 3, workflow_id: 222, run_attempt: 1,
    created_at: '2023-01-01T00:01:00Z', updated_at: '2023-01-01T00:04:00Z', run_started_at: '2023-01-01T00:01:00Z' },
];
const workflows = [
  { id: 111, name: 'CI', path: '.github/workflows/ci.yml', state: 'active' },
  { id: 222, name: 'Release', path: '.github/workflows/release.yml', state: 'active' },
];

const releases = [
  { tagName: 'v1.1.0', name: 'One point one', isDraft: false, isLatest: true, isPrerelease: false,
    createdAt: '2022-12-31T23:00:00Z', publishedAt: '2023-01-01T00:00:00Z' },
  { tagName: 'v1.2.0-rc1', name: '', isDraft: false, isLatest: false, isPrerelease: true,
    createdAt: '2023-02-01T00:00:00Z', publishedAt: '2023-02-01T01:00:00Z' },
  { tagName: 'v1.0.0', name: 'One', isDraft: false, isLatest: false, isPrerelease: false,
    createdAt: '2022-01-01T00:00:00Z', publishedAt: '2022-01-01T00:00:00Z' },
];
releases.sort((a, b) => b.createdAt.localeCompare(a.createdAt));

// ---------------------------------------------------------------------------
// REST.

const restUser = (u) => ({ login: u.login, id: u.login.length, type: u.__typename === 'Bot' ? 'Bot' : 'User' });

function restRepo(r) {
  return {
    id: r.name.length * 1000,
    node_id: r.id,
    name: r.name,
    full_name: r.nameWithOwner,
    private: r.isPrivate,
    owner: { login: 'octo-org', id: 1, type: 'Organization' },
    html_url: r.url,
    description: r.description,
    fork: r.isFork,
    homepage: r.homepageUrl || null,
    stargazers_count: r.stargazerCount,
    forks_count: r.forkCount,
    archived: r.isArchived,
    default_branch: r.defaultBranchRef ? r.defaultBranchRef.name : 'main',
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    pushed_at: r.pushedAt,
    topics: r.repositoryTopics.nodes.map((n) => n.topic.name),
  };
}

function restIssue(i) {
  return {
    number: i.number,
    title: i.title,
    state: i.state.toLowerCase(),
    user: restUser(i.author),
    labels: i.labels.map((l) => ({ name: l.name, color: l.color })),
    body: i.body || null,
    html_url: i.url,
    created_at: i.createdAt,
    closed_at: i.closedAt,
  };
}

function restRun(r, base) {
  return {
    ...r,
    html_url: `${host}/octo-org/hello/actions/runs/${r.id}`,
    url: `${base}/repos/octo-org/hello/actions/runs/${r.id}`,
    path: workflows.find((w) => w.id === r.workflow_id).path,
  };
}

function paginate(res, req, base, items, perPageDefault) {
  const u = new URL(req.pathOnly, 'http://x');
  const perPage = Math.min(Number(u.searchParams.get('per_page') || perPageDefault), 100);
  const page = Number(u.searchParams.get('page') || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p) => {
    u.searchParams.set('page', String(p));
    return `<${base}${u.pathname}?${u.searchParams.toString()}>`;
  };
  const links = [];
  if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
  if (page > 1) links.push(`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`);
  if (links.length) res.setHeader('Link', links.join(', '));
  return items.slice((page - 1) * perPage, page * perPage);
}

function rest(req, res, send) {
  const base = `http://${req.headers.host}${req.prefix}`;
  const u = new URL(req.pathOnly, 'http://x');
  const p = u.pathname.replace(/\/+$/, '');
  let m;
  if (p === '/rate_limit') {
    return send(200, { resources: { core: { limit: 5000, remaining: 4999, reset: 1700000000, used: 1 } } });
  }
  if (p === '/user') return send(200, { login: 'mona', id: 1, name: 'Mona Lisa' });
  if ((m = p.match(/^\/repos\/octo-org\/([^/]+)$/))) {
    const r = repos.find((x) => x.name === m[1]);
    if (r) return send(200, restRepo(r));
  }
  if (p === '/repos/octo-org/hello/issues') {
    const state = u.searchParams.get('state') || 'open';
    const list = issues.filter((i) => state === 'all' || i.state.toLowerCase() === state);
    return send(200, paginate(res, req, base, list, 30).map(restIssue));
  }
  if ((m = p.match(/^\/repos\/octo-org\/hello\/issues\/(\d+)$/))) {
    const i = issues.find((x) => x.number === Number(m[1]));
    if (i) return send(200, restIssue(i));
  }
  if (p === '/orgs/octo-org/repos') {
    return send(200, paginate(res, req, base, repos, 30).map(restRepo));
  }
  if (p === '/repos/octo-org/hello/actions/runs') {
    let list = runs;
    for (const k of ['branch', 'event', 'status']) {
      const v = u.searchParams.get(k);
      const field = { branch: 'head_branch', event: 'event', status: 'status' }[k];
      if (v) list = list.filter((r) => r[field] === v || (k === 'status' && r.conclusion === v));
    }
    const page = paginate(res, req, base, list, 30).map((r) => restRun(r, base));
    return send(200, { total_count: list.length, workflow_runs: page });
  }
  if ((m = p.match(/^\/repos\/octo-org\/hello\/actions\/workflows\/([^/]+)$/))) {
    const w = workflows.find((x) => String(x.id) === m[1]);
    if (w) return send(200, w);
  }
  if (p === '/repos/octo-org/hello/actions/workflows') {
    return send(200, { total_count: workflows.length, workflows: paginate(res, req, base, workflows, 30) });
  }
  if (p === '/repos/octo-org/hello/releases') {
    return send(200, paginate(res, req, base, releases, 30).map((r) => ({ tag_name: r.tagName, name: r.name })));
  }
  return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
}

// ---------------------------------------------------------------------------
// GraphQL: the queries gh sends for repo list/view, pr list, issue list and
// release list. Selections are parsed and applied to the dataset, so any
// field set gh asks for is answered.

// Parses a selection set "a,b{c},d(first:100){nodes{e}},...on User{f}" into
// [{name, sub, on}] (sub: nested selection or null; on: a type condition).
function parseSelection(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
  };
  const name = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) throw new Error(`bad selection at ${i}: ${text.slice(i, i + 20)}`);
    i += m[0].length;
    return m[0];
  };
  const set = () => {
    const out = [];
    i++; // {
    for (;;) {
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      if (text.startsWith('...', i)) {
        i += 3;
        ws();
        name(); // on
        ws();
        const type = name();
        ws();
        out.push({ on: type, sub: set() });
        continue;
      }
      let n = name();
      ws();
      if (text[i] === ':') { // alias
        i++;
        ws();
        n = name();
        ws();
      }
      if (text[i] === '(') {
        let depth = 0;
        do {
          if (text[i] === '(') depth++;
          if (text[i] === ')') depth--;
          i++;
        } while (depth > 0);
        ws();
      }
      out.push({ name: n, sub: text[i] === '{' ? set() : null });
    }
  };
  return set();
}

// Applies a parsed selection to a value of the dataset.
function project(value, sel) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => project(v, sel));
  const out = {};
  for (const f of sel) {
    if (f.on) {
      if (value.__typename === f.on) Object.assign(out, project(value, f.sub));
      continue;
    }
    let v = value[f.name];
    if (f.name === '__typename') v = value.__typename;
    if (Array.isArray(v) && f.sub && f.sub.some((s) => s.name === 'nodes' || s.name === 'totalCount')) {
      v = { nodes: v, totalCount: v.length };
    }
    out[f.name] = v === undefined ? null : f.sub ? project(v, f.sub) : v;
  }
  return out;
}

// The selection inside "KEYWORD ... {" at the first match of re in query.
function selectionAfter(query, re) {
  const m = re.exec(query);
  if (!m) return null;
  const start = query.indexOf('{', m.index + m[0].length - 1);
  let depth = 0;
  let end = start;
  do {
    if (query[end] === '{') depth++;
    if (query[end] === '}') depth--;
    end++;
  } while (depth > 0);
  return parseSelection(query.slice(start, end));
}

function connection(list, first, after, sel) {
  const start = after ? Number(Buffer.from(after, 'base64').toString().split(':')[1]) : 0;
  const page = list.slice(start, start + first);
  const next = start + page.length;
  const hasNextPage = next < list.length;
  return {
    totalCount: list.length,
    nodes: project(page, sel),
    pageInfo: { hasNextPage, endCursor: hasNextPage ? Buffer.from(`cursor:${next}`).toString('base64') : null },
  };
}

function notFoundRepo(owner, name) {
  return {
    data: { repository: null },
    errors: [{ type: 'NOT_FOUND', path: ['repository'], locations: [{ line: 2, column: 3 }],
      message: `Could not resolve to a Repository with the name '${owner}/${name}'.` }],
  };
}

function graphql(body) {
  const q = body.query || '';
  const v = body.variables || {};
  const op = (/query\s+(\w+)/.exec(q) || [])[1];
  if (op === 'RepositoryList') {
    // No owner: the viewer's repositories (the viewer owns the same ones).
    if (v.owner !== undefined && v.owner !== 'octo-org') {
      return { data: { repositoryOwner: null }, errors: [{ type: 'NOT_FOUND', path: ['repositoryOwner'],
        message: `Could not resolve to a RepositoryOwner with the login of '${v.owner}'.` }] };
    }
    let list = repos;
    if (v.privacy) list = list.filter((r) => r.visibility === v.privacy);
    if (v.fork !== undefined && v.fork !== null) list = list.filter((r) => r.isFork === v.fork);
    const sel = selectionAfter(q, /nodes\s*\{/);
    return { data: { repositoryOwner: { login: 'octo-org', repositories: connection(list, v.perPage, v.endCursor, sel) } } };
  }
  if (op === 'RepositoryInfo') {
    const r = v.owner === 'octo-org' && repos.find((x) => x.name === v.name);
    if (!r) return notFoundRepo(v.owner, v.name);
    return { data: { repository: project(r, selectionAfter(q, /repository\([^)]*\)\s*\{/)) } };
  }
  if (op === 'PullRequestList' || op === 'IssueList') {
    const repoName = v.repo;
    if (v.owner !== 'octo-org' || repoName !== 'hello') return notFoundRepo(v.owner, repoName);
    const isPr = op === 'PullRequestList';
    const states = isPr ? v.state : v.states;
    let list = isPr ? pulls : issues;
    if (states) list = list.filter((x) => states.includes(x.state));
    if (v.baseBranch) list = list.filter((x) => x.baseRefName === v.baseBranch);
    if (v.headBranch) list = list.filter((x) => x.headRefName === v.headBranch);
    if (v.author) list = list.filter((x) => x.author.login === v.author);
    if (v.assignee) list = list.filter((x) => x.assignees.some((a) => a.login === v.assignee));
    const sel = selectionAfter(q, isPr ? /fragment pr on PullRequest\s*\{/ : /fragment issue on Issue\s*\{/);
    const conn = connection(list, v.limit, v.endCursor, sel);
    const repository = isPr ? { pullRequests: conn } : { hasIssuesEnabled: true, issues: conn };
    return { data: { repository } };
  }
  if (op === 'RepositoryReleaseList') {
    if (v.owner !== 'octo-org' || !repos.some((r) => r.name === v.name)) return notFoundRepo(v.owner, v.name);
    const sel = selectionAfter(q, /nodes\s*\{/);
    // Only hello has releases.
    const c = connection(v.name === 'hello' ? releases : [], v.perPage, v.endCursor, sel);
    return { data: { repository: { releases: { nodes: c.nodes, pageInfo: c.pageInfo } } } };
  }
  return { errors: [{ message: `fake github: unknown query ${op}` }] };
}

// ---------------------------------------------------------------------------

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    // A proxy request carries an absolute URL.
    let path = req.url;
    if (/^https?:\/\//.test(path)) {
      const u = new URL(path);
      path = u.pathname + u.search;
    }
    req.prefix = path.startsWith('/api/v3/') ? '/api/v3' : '';
    req.pathOnly = path.slice(req.prefix.length);
    if (logFile) {
      const line = JSON.stringify({ method: req.method, path, headers: req.headers, body });
      fs.appendFileSync(logFile, `${line}\n`);
    }
    const send = (status, obj) => {
      const text = JSON.stringify(obj);
      res.sendDate = false;
      const rate = { 'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '4999' };
      const get = req.method === 'GET' || req.method === 'HEAD';
      const etag = get && status === 200 ? etagOf(text) : undefined;
      if (etag && req.headers['if-none-match'] === etag) {
        notModified += 1;
        if (count304) fs.writeFileSync(count304, `${notModified}\n`);
        res.writeHead(304, { Date: 'Wed, 01 Mar 2023 00:00:00 GMT', ETag: etag, ...rate });
        res.end();
        return;
      }
      res.writeHead(status, {
        Date: 'Wed, 01 Mar 2023 00:00:00 GMT',
        'Content-Length': Buffer.byteLength(text),
        'Content-Type': 'application/json; charset=utf-8',
        ...(etag ? { ETag: etag } : {}),
        ...rate,
        'X-GitHub-Media-Type': 'github.v3; format=json',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (token !== undefined && ![`token ${token}`, `Bearer ${token}`].includes(req.headers.authorization)) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    if (req.pathOnly === '/graphql' || path === '/api/graphql') {
      if (req.method !== 'POST') return send(404, { message: 'Not Found' });
      let parsed;
      try {
        parsed = JSON.parse(body);
      } catch {
        return send(400, { message: 'Problems parsing JSON' });
      }
      return send(200, graphql(parsed));
    }
    return rest(req, res, send);
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  if (portFile) fs.writeFileSync(portFile, `${port}\n`);
  process.stdout.write(`${port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
