// The Hugging Face Hub API, as huggingface.co answers it: /api/models,
// /api/datasets, /api/spaces (lists with Link pagination, and one
// repository's info, optionally at a revision) and /api/whoami-v2.
//
// Like the Hub, a missing repository is a 404 with X-Error-Code: RepoNotFound
// for an authenticated caller and a 401 with the same code for an anonymous
// one; a missing revision is a 404 with X-Error-Code: RevisionNotFound; a
// token that is not an hf_ token is a 401 with X-Error-Message "Invalid
// credentials in Authorization header". Lists return at most 3 items per page
// and a rel="next" Link for the rest. A repository's info at the revision
// main or HEAD is the same; with expand= parameters only those fields (and
// _id, id) are sent. /api/models/ID/tree/REVISION[/PATH] lists its files;
// /ID/resolve/REVISION/FILE serves one (a small JSON document).
const PAGE = 3;

const gpt2 = {
  _id: '621ffdc036468d709f174338',
  id: 'openai-community/gpt2',
  private: false,
  pipeline_tag: 'text-generation',
  library_name: 'transformers',
  tags: ['transformers', 'safetensors', 'gpt2', 'text-generation', 'en', 'license:mit', 'region:us'],
  downloads: 11357416,
  likes: 2893,
  modelId: 'openai-community/gpt2',
  author: 'openai-community',
  sha: '607a30d783dfa663caf39e06633721c8d4cfcd7e',
  lastModified: '2024-02-19T10:57:45.123Z',
  gated: false,
  inference: 'warm',
  disabled: false,
  mask_token: null,
  widgetData: [{ text: "Mon nom est Thomas et j'aime le café" }],
  'model-index': null,
  config: { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', layer_norm_epsilon: 1e-5, tokenizer_config: {} },
  cardData: { language: 'en', tags: ['exbert'], license: 'mit' },
  transformersInfo: { auto_model: 'AutoModelForCausalLM', pipeline_tag: 'text-generation', processor: 'AutoTokenizer' },
  siblings: [{ rfilename: '.gitattributes' }, { rfilename: 'model.safetensors' }],
  spaces: ['open-llm-leaderboard/open_llm_leaderboard'],
  createdAt: '2022-03-02T23:29:04.000Z',
  safetensors: { parameters: { F32: 137022720 }, total: 137022720 },
  inferenceProviderMapping: { 'hf-inference': { status: 'live', providerId: 'openai-community/gpt2', task: 'text-generation' } },
  usedStorage: 13136601804,
};

// What /api/models lists: a summary of each model.
const modelList = [
  ['openai-community/gpt2', 2893, 11357416, '2022-03-02T23:29:04.000Z'],
  ['distilbert/distilgpt2', 545, 2387616, '2022-03-02T23:29:04.000Z'],
  ['openai-community/gpt2-medium', 182, 401231, '2022-03-02T23:29:04.000Z'],
  ['openai-community/gpt2-large', 317, 1320441, '2022-03-02T23:29:04.000Z'],
  ['openai-community/gpt2-xl', 345, 229882, '2022-03-02T23:29:04.000Z'],
  ['microsoft/DialoGPT-medium', 372, 250131, '2022-03-02T23:29:05.000Z'],
].map(([id, likes, downloads, createdAt], i) => ({
  _id: `621ffdc036468d709f17433${i}`,
  id,
  likes,
  trendingScore: 6 - i,
  private: false,
  downloads,
  tags: ['transformers', 'pytorch', 'text-generation'],
  pipeline_tag: 'text-generation',
  library_name: 'transformers',
  createdAt,
  modelId: id,
}));

const squad = {
  _id: '621ffdd236468d709f181d58',
  id: 'rajpurkar/squad',
  author: 'rajpurkar',
  sha: '7b6d24c440a36b6815f21b70d25016731768db1f',
  lastModified: '2024-03-04T13:54:37.000Z',
  private: false,
  gated: false,
  disabled: false,
  downloads: 147224,
  likes: 318,
  paperswithcode_id: 'squad',
  tags: ['task_categories:question-answering', 'language:en', 'license:cc-by-sa-4.0'],
  createdAt: '2022-03-02T23:29:22.000Z',
  cardData: { pretty_name: 'SQuAD', license: 'cc-by-sa-4.0' },
  siblings: [{ rfilename: 'README.md' }, { rfilename: 'plain_text/train-00000-of-00001.parquet' }],
  usedStorage: 89789763,
};

const space = {
  _id: '6266a8e3f7e6d6b7a3c1e0a1',
  id: 'gradio/hello_world',
  author: 'gradio',
  sha: 'b1d7a8f2c3e4d5f6a7b8c9d0e1f2a3b4c5d6e7f8',
  lastModified: '2024-05-01T08:00:00.000Z',
  private: false,
  gated: false,
  disabled: false,
  host: 'https://gradio-hello-world.hf.space',
  subdomain: 'gradio-hello-world',
  likes: 15,
  sdk: 'gradio',
  tags: ['gradio', 'region:us'],
  createdAt: '2022-04-25T14:00:00.000Z',
  siblings: [{ rfilename: 'app.py' }],
  runtime: { stage: 'RUNNING', hardware: { current: 'cpu-basic', requested: 'cpu-basic' }, storage: null, gcTimeout: 172800, replicas: { current: 1, requested: 1 } },
  models: [],
  datasets: [],
};

const repos = {
  models: { [gpt2.id]: gpt2 },
  datasets: { [squad.id]: squad },
  spaces: { [space.id]: space },
};
const lists = {
  models: modelList,
  datasets: [{ _id: squad._id, id: squad.id, author: squad.author, downloads: squad.downloads, likes: squad.likes, tags: squad.tags, createdAt: squad.createdAt, private: false, gated: false, disabled: false }],
  spaces: [{ _id: space._id, id: space.id, author: space.author, likes: space.likes, sdk: 'gradio', tags: space.tags, createdAt: space.createdAt, private: false, trendingScore: 1 }],
};

// The files of each model, as /tree/REVISION lists them.
const trees = {
  [gpt2.id]: [
    { type: 'file', oid: 'be7a9b1a6a2c5b0c1c1a6bc2a4f0a5f0b0e1e8f0', size: 445, path: '.gitattributes' },
    { type: 'file', oid: '10c66461e4c109db5a2196bff4bb59be30396ed8', size: 665, path: 'config.json' },
    { type: 'file', oid: 'a8c4b2d8c1bcb6dfd29d5ea4f5a3b3c3f1a3e0e5', size: 548105171, path: 'model.safetensors', lfs: { oid: '248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707', size: 548105171, pointerSize: 135 } },
    { type: 'directory', oid: '3f5c2e8d2e3c1f4a5b6c7d8e9f0a1b2c3d4e5f60', size: 0, path: 'onnx' },
  ],
};

export function error(status) {
  const messages = { 401: 'Invalid credentials in Authorization header', 404: 'Repository not found', 429: 'You have been rate-limited', 500: 'Internal Error - We\'re working hard to fix this as soon as possible!', 503: 'Service Unavailable' };
  return { error: messages[status] ?? `HTTP ${status}` };
}

function notFound(what, headers) {
  return {
    status: headers.authorization ? 404 : 401,
    headers: { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': `${what} not found` },
    body: { error: `${what} not found` },
  };
}

export function handle({ method, url, headers }) {
  const auth = headers.authorization ?? '';
  if (auth && !/^Bearer hf_[A-Za-z0-9]+$/.test(auth)) {
    return { status: 401, headers: { 'X-Error-Message': 'Invalid credentials in Authorization header' }, body: error(401) };
  }
  if (method !== 'GET') {
    return { status: 405, body: { error: 'Method not allowed' } };
  }
  if (url.pathname === '/api/whoami-v2') {
    if (!auth) return { status: 401, body: { error: 'Invalid credentials in Authorization header' } };
    return {
      body: {
        type: 'user', id: '5e67bd5b1009063689407478', name: 'julien-c', fullname: 'Julien Chaumond', email: 'julien@example.com', emailVerified: true, isPro: true, periodEnd: null,
        avatarUrl: '/avatars/julien.svg', orgs: [{ type: 'org', id: '5e67bce61009063689407477', name: 'huggingface', fullname: 'Hugging Face', roleInOrg: 'admin' }, { type: 'org', id: '5f0c746619cb630495b814fd', name: 'blog-explorers', fullname: 'Blog-explorers', roleInOrg: 'read' }],
        auth: { type: 'access_token', accessToken: { displayName: 'ci-read', role: 'read', createdAt: '2024-01-01T00:00:00.000Z' } },
      },
    };
  }
  // A file of a repository at a revision, as the Hub serves it from
  // /REPO/resolve/REVISION/FILE (a small JSON file here).
  const file = url.pathname.match(/^\/([^/]+\/[^/]+|[^/]+)\/resolve\/([^/]+)\/(.+)$/);
  if (file) {
    const [, id, revision, path] = file.map((p) => p && decodeURIComponent(p));
    if (!trees[id]) return notFound('Repository', headers);
    if (revision !== 'main' && revision !== gpt2.sha) {
      return { status: 404, headers: { 'X-Error-Code': 'RevisionNotFound', 'X-Error-Message': 'Invalid rev id' }, body: { error: 'Invalid rev id: ' + revision } };
    }
    return { headers: { 'X-Repo-Commit': gpt2.sha }, body: { path, model_type: 'gpt2', n_layer: 12 } };
  }
  const tree = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+|[^/]+)\/tree\/([^/]+)(?:\/(.+))?$/);
  if (tree) {
    const [, id, revision, dir] = tree.map((p) => p && decodeURIComponent(p));
    if (!trees[id]) return notFound('Repository', headers);
    if (revision !== 'main' && revision !== gpt2.sha) {
      return { status: 404, headers: { 'X-Error-Code': 'RevisionNotFound', 'X-Error-Message': 'Invalid rev id' }, body: { error: 'Invalid rev id: ' + revision } };
    }
    const prefix = dir ? dir.replace(/\/$/, '') + '/' : '';
    return { body: trees[id].filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes('/')) };
  }
  const m = url.pathname.match(/^\/api\/(models|datasets|spaces)(?:\/([^/]+\/[^/]+|[^/]+)(?:\/revision\/([^/]+))?)?$/);
  if (!m) return { status: 404, body: { error: 'Sorry, we can\'t find the page you are looking for.' } };
  const [, kind, id, revision] = m;
  const noun = { models: 'Repository', datasets: 'Dataset', spaces: 'Space' }[kind];
  if (id) {
    const repo = repos[kind][decodeURIComponent(id)];
    if (!repo) return notFound(noun, headers);
    if (revision !== undefined && !['main', 'HEAD'].includes(decodeURIComponent(revision))) {
      return { status: 404, headers: { 'X-Error-Code': 'RevisionNotFound', 'X-Error-Message': 'Invalid rev id' }, body: { error: 'Invalid rev id: ' + decodeURIComponent(revision) } };
    }
    const expand = url.searchParams.getAll('expand');
    if (!expand.length) return { body: repo };
    return { body: Object.fromEntries(Object.entries(repo).filter(([k]) => k === '_id' || k === 'id' || expand.includes(k))) };
  }
  const search = url.searchParams.get('search') ?? '';
  const author = url.searchParams.get('author');
  const limit = Number(url.searchParams.get('limit') ?? 1000);
  const offset = Number(url.searchParams.get('cursor') ?? 0);
  const found = lists[kind].filter((r) => r.id.includes(search) && (!author || r.id.startsWith(author + '/'))).slice(0, limit);
  const page = found.slice(offset, offset + PAGE);
  const out = { body: page, headers: {} };
  if (offset + PAGE < found.length) {
    const next = new URL(url);
    next.searchParams.set('cursor', String(offset + PAGE));
    out.headers.Link = `<http://${headers.host}${next.pathname}${next.search}>; rel="next"`;
  }
  return out;
}
