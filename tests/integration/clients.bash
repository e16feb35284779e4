# clients: the official API clients from npm (tests/clients: the Anthropic,
# OpenAI, Gemini and Hugging Face SDKs, Claude Code and the Gemini CLI)
# against the fake API servers (tests/fakes/http), with nothing in between.
# Each client parses the fake's answers (streams included) without error,
# prints what it was given, and the fake's log shows what it sent: the
# fakes are faithful enough for a proxy's tests to put the proxy between
# the two. Skipped when tests/clients/node_modules is not installed.
# A run of Claude Code or the Gemini CLI takes seconds of CPU; on a busy
# machine the safety net of one call is wider than lib.bash's default.
TEST_CALL_TIMEOUT=${TEST_CALL_TIMEOUT:-180}
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

CLIENTS=$IPFSACC_SOURCE_DIR/tests/clients
if [[ ! -d $CLIENTS/node_modules ]]; then
  echo "$SUITE: tests/clients/node_modules is missing (cd tests/clients && npm install)" >&2
  exit 125
fi
if ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: node is not installed, but tests/clients/node_modules is" >&2
  exit 1
fi

# start_fake DIR API: the fake server of API (server.mjs) logging to DIR;
# prints nothing, sets FAKE_URL. Stopped when the case ends.
FAKE_PIDS=()
start_fake() {
  local dir=$1
  mkdir -p "$dir"
  node "$FAKES/http/server.mjs" "$2" "$dir" 2>"$dir/server.err" &
  FAKE_PIDS+=($!)
  trap 'kill "${FAKE_PIDS[@]}" 2>/dev/null' EXIT
  wait_until "[[ -s $dir/port ]]" "the fake $2 API to start"
  FAKE_URL=http://127.0.0.1:$(cat "$dir/port")
  : >"$dir/requests.log"
}

# start_api NAME: the fake API NAME in $T/api-NAME; sets API_URL and API_DIR.
start_api() {
  API_DIR=$T/api-$1
  start_fake "$API_DIR" "$1"
  API_URL=$FAKE_URL
}

# A trap for everything else: every client's HTTP(S) proxy is a fake server
# that logs each CONNECT (or absolute URL) it is asked for and refuses it;
# only loopback bypasses it. A case ends with no_escape: the trap saw
# nothing, so no request left 127.0.0.1 (the clients honour HTTPS_PROXY:
# test_claude_trap_sees_what_the_opt_outs_stop shows it).
start_trap() {
  start_fake "$T/trap" anthropic
  local v
  for v in HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy; do
    export "$v=$FAKE_URL"
  done
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
}

no_escape() {
  if [[ -s $T/trap/requests.log ]]; then
    _show "$T/trap/requests.log" >&2
    fail "a client tried to reach a host other than the fake API"
  fi
}

# client NAME SCRIPT ARGS...: capture NAME of `node tests/clients/SCRIPT ARGS`.
client() {
  local name=$1 script=$2
  shift 2
  capture "$name" "$BOUNDED" node "$CLIENTS/$script" "$@"
}

# expect_client_ok NAME: the client capture NAME exited 0 with nothing on
# stderr.
expect_client_ok() {
  if [[ $(cat "$T/$1.rc") != 0 || -s $T/$1.err ]]; then
    _show "$T/$1.err" >&2
    fail "$1 exited $(cat "$T/$1.rc")"
  fi
}

# line_of NAME LABEL: the JSON value of the transcript line "LABEL VALUE".
line_of() {
  sed -n "s/^$2 //p" "$T/$1.out"
}

# labels NAME: the labels of the transcript's lines (what comes before the
# JSON value), in order, one per line, repeated labels counted
# ("event content_block_delta x7").
labels() {
  sed -E -e '/ [[{"]/{s/ [[{"].*$//;b' -e '}' -e 's/ [^ ]+$//' "$T/$1.out" | uniq -c |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); print $0 (n > 1 ? " x" n : "") }'
}

# logq LOG JS: the value of the JavaScript expression JS over the requests
# of LOG (a requests.log of server.mjs): r is their list ({method, path, headers, body}),
# b the list of their bodies parsed as JSON (null when not JSON). A string
# is printed as is, anything else as JSON.
logq() {
  node -e '
    const fs = require("fs");
    const r = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const b = r.map((x) => { try { return JSON.parse(x.body); } catch { return null; } });
    const v = eval(process.argv[2]);
    console.log(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# expect_log LOG JS EXPECTED: logq LOG JS prints EXPECTED.
expect_log() {
  expect_eq "$3" "$(logq "$1" "$2")" "$2 in $1"
}

# twice NAME SCRIPT ARGS...: the client run twice (NAME.1, NAME.2) against
# the fake API of the case ($API_DIR), both fine and printing the same
# bytes, and sending the same requests: no field of theirs changes from one
# run to the next (request_diff.mjs). Each run's requests are kept as
# $T/NAME.K.requests.
twice() {
  local name=$1 k before
  shift
  for k in 1 2; do
    before=$(wc -l <"$API_DIR/requests.log")
    client "$name.$k" "$@"
    expect_client_ok "$name.$k"
    tail -n +$((before + 1)) "$API_DIR/requests.log" >"$T/$name.$k.requests"
  done
  expect_same_file "$T/$name.1.out" "$T/$name.2.out" "transcript of the second run"
  expect_eq "" "$(node "$CLIENTS/request_diff.mjs" "$T/$name.1.requests" "$T/$name.2.requests")" \
    "fields of $name's requests that changed in the second run"
}

# expect_stream_transcript NAME LABEL: the streamed answer the client run
# NAME.1 was given is what its transcript shows. Its first request is sent
# again to the fake with curl (the answer depends on the request alone),
# and the JSON of each `data:` event of the raw answer (but [DONE] and
# Anthropic's pings, which the SDKs do not yield) must equal, in order and
# with keys sorted, the JSON of each transcript line starting with LABEL
# (stream_check.mjs).
expect_stream_transcript() {
  local name=$1 label=$2 path auth h
  path=$(logq "$T/$name.1.requests" 'r[0].path')
  auth=$(logq "$T/$name.1.requests" 'Object.entries(r[0].headers).filter(([k]) => /^(authorization|x-api-key|x-goog-api-key|anthropic-version)$/.test(k)).map(([k, v]) => k + ": " + v).join("\n")')
  local headers=()
  while IFS= read -r h; do headers+=(-H "$h"); done <<<"$auth"
  logq "$T/$name.1.requests" 'r[0].body' >"$T/$name.raw-request"
  curl -sS --noproxy '*' -N "$API_URL$path" "${headers[@]}" -H 'content-type: application/json' \
    --data-binary @"$T/$name.raw-request" -o "$T/$name.raw" || fail "curl failed"
  if ! node "$CLIENTS/stream_check.mjs" "$T/$name.raw" "$T/$name.1.out" "$label" >"$T/$name.stream-diff"; then
    cat "$T/$name.stream-diff" >&2
    fail "the events $name was given differ from what the fake sent"
  fi
}

anthropic_env() {
  start_trap
  start_api anthropic
  export ANTHROPIC_BASE_URL=$API_URL ANTHROPIC_API_KEY=sk-ant-test-key-1
}

openai_env() { # API BASE_PATH KEY
  start_trap
  start_api "$1"
  export OPENAI_BASE_URL=$API_URL$2 OPENAI_API_KEY=$3
}

gemini_env() {
  start_trap
  start_api gemini
  export GOOGLE_GEMINI_BASE_URL=$API_URL GEMINI_API_KEY=AIzaTestKey1
}

hf_env() {
  start_trap
  start_api hf
  export HF_ENDPOINT=$API_URL HF_TOKEN=hf_testtoken1
}

# expect_answer NAME ERE: the stdout of capture NAME matches ERE. A CLI
# that answered some other part of its request (its system prompt, a
# reminder) prints pages: only their start is shown.
expect_answer() {
  if [[ ! $(cat "$T/$1.out") =~ $2 ]]; then
    fail "$1's answer does not match /$2/; it begins: $(head -c 300 "$T/$1.out")"
  fi
}

# ---------------------------------------------------------------------------
# @anthropic-ai/sdk

test_anthropic_create_parses_the_message() {
  anthropic_env
  twice create anthropic.mjs create
  expect_eq '"Claude says 42 to \"What is 6x7?\" (claude-sonnet-4-5)"' "$(line_of create.1 text)"
  expect_eq '"end_turn"' "$(line_of create.1 stop_reason)"
  expect_log "$API_DIR/requests.log" 'r.length' 2
  expect_log "$API_DIR/requests.log" 'r[0].method + " " + r[0].path' 'POST /v1/messages'
  # This SDK sends the key as a bearer token, not as x-api-key (Claude Code
  # does), and its own API version.
  expect_log "$API_DIR/requests.log" 'r[0].headers.authorization' 'Bearer sk-ant-test-key-1'
  expect_log "$API_DIR/requests.log" 'r[0].headers["x-api-key"] ?? "none"' none
  expect_log "$API_DIR/requests.log" 'r[0].headers["anthropic-version"]' 2026-10-21
  expect_log "$API_DIR/requests.log" 'r[0].headers["x-stainless-lang"]' js
  expect_log "$API_DIR/requests.log" 'b[0]' '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"What is 6x7?"}]}'
  no_escape
}

test_anthropic_stream_yields_every_event_in_order() {
  anthropic_env
  twice stream anthropic.mjs stream
  # The SDK's MessageStream yields every event but the pings.
  expect_eq "event message_start
event content_block_start
event content_block_delta x8
event content_block_stop
event message_delta
event message_stop
id
model
stop_reason
usage
text" "$(labels stream.1)"
  local deltas
  deltas=$(grep '^event content_block_delta ' "$T/stream.1.out" | sed 's/^[^{]*//' |
    node -e 'let s = ""; require("readline").createInterface({ input: process.stdin })
      .on("line", (l) => { s += JSON.parse(l).delta.text; }).on("close", () => console.log(JSON.stringify(s)))')
  expect_eq '"Claude says 42 to \"What is 6x7?\" (claude-sonnet-4-5)"' "$deltas" "the deltas' text"
  expect_eq "$deltas" "$(line_of stream.1 text)" "the final message's text"
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path).join(" ")' '/v1/messages /v1/messages'
  expect_log "$API_DIR/requests.log" 'b[0].stream' true
  expect_log "$API_DIR/requests.log" 'r[0].headers["x-stainless-helper-method"]' stream
  expect_stream_transcript stream event
  no_escape
}

# The raw stream, as a proxy will record it: event/data frames, each ending
# with a blank line, the last one message_stop.
test_anthropic_stream_framing_on_the_wire() {
  anthropic_env
  curl -sS --noproxy '*' -N "$API_URL/v1/messages" -H 'anthropic-version: 2023-06-01' \
    -H "x-api-key: $ANTHROPIC_API_KEY" -H 'content-type: application/json' \
    -d '{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    -D "$T/sse.headers" -o "$T/sse.body" || fail "curl failed"
  expect_file_contains "$T/sse.headers" "Content-Type: text/event-stream"
  expect_eq "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop" \
    "$(sed -n 's/^event: //p' "$T/sse.body" | tr '\n' ' ' | sed 's/ $//')"
  expect_eq 'data: {"type":"message_stop"}' "$(tail -n 2 "$T/sse.body" | head -n 1)"
  expect_eq "" "$(tail -n 1 "$T/sse.body")" "the last frame's blank line"
  no_escape
}

test_anthropic_count_tokens() {
  anthropic_env
  twice count anthropic.mjs count
  expect_match "$(line_of count.1 input_tokens)" '^[0-9]+$' "input_tokens"
  expect_log "$API_DIR/requests.log" 'r[0].path' /v1/messages/count_tokens
  no_escape
}

test_anthropic_errors_reach_the_caller_as_the_sdk_s_errors() {
  anthropic_env
  printf '429:7\n529\n' >"$API_DIR/scenario"
  client limited anthropic.mjs create
  expect_rc 1
  expect_file_contains "$T/limited.err" "RateLimitError: 429"
  expect_file_contains "$T/limited.err" "per-minute rate limit"
  client overloaded anthropic.mjs stream
  expect_rc 1
  expect_file_contains "$T/overloaded.err" "Overloaded"
  export ANTHROPIC_API_KEY=wrong
  client denied anthropic.mjs create
  expect_rc 1
  expect_file_contains "$T/denied.err" "AuthenticationError: 401"
  no_escape
}

# ---------------------------------------------------------------------------
# openai, against OpenAI and against Groq

test_openai_chat_parses_the_completion() {
  openai_env openai /v1 sk-test-key-1
  twice chat openai.mjs chat
  expect_eq '"Fast answer to \"What is 6x7?\" from gpt-4o-mini at temperature 0."' "$(line_of chat.1 text)"
  expect_log "$API_DIR/requests.log" 'r[0].method + " " + r[0].path' 'POST /v1/chat/completions'
  expect_log "$API_DIR/requests.log" 'r[0].headers.authorization' 'Bearer sk-test-key-1'
  expect_log "$API_DIR/requests.log" 'b[0]' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is 6x7?"}],"temperature":0}'
  no_escape
}

test_openai_stream_yields_every_chunk_and_the_usage() {
  openai_env openai /v1 sk-test-key-1
  twice stream openai.mjs stream
  expect_eq "chunk chat.completion.chunk x14
text" "$(labels stream.1)"
  expect_eq '"Fast answer to \"What is 6x7?\" from gpt-4o-mini at temperature 0."' "$(line_of stream.1 text)"
  expect_contains "$(grep '^chunk' "$T/stream.1.out" | tail -n 1)" '"choices":[],"usage":{"prompt_tokens":19'
  expect_stream_transcript stream chunk
  expect_log "$API_DIR/requests.log" 'JSON.stringify([b[0].stream, b[0].stream_options])' '[true,{"include_usage":true}]'
  no_escape
}

test_openai_stream_ends_with_done_on_the_wire() {
  openai_env openai /v1 sk-test-key-1
  curl -sS --noproxy '*' -N "$API_URL/v1/chat/completions" -H "authorization: Bearer $OPENAI_API_KEY" \
    -H 'content-type: application/json' \
    -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    -o "$T/sse.body" || fail "curl failed"
  expect_eq "" "$(grep -v '^data: ' "$T/sse.body" | sort -u)" "lines other than data: and blank ones"
  expect_eq 'data: [DONE]' "$(tail -n 2 "$T/sse.body" | head -n 1)"
  no_escape
}

test_openai_embeddings_decode_the_base64_vectors() {
  openai_env openai /v1 sk-test-key-1
  twice embed openai.mjs embeddings
  expect_eq "model
usage
embedding 0
embedding 1" "$(labels embed.1)"
  expect_match "$(line_of embed.1 'embedding 0')" '^\[(-?[0-9.e-]+,){7}-?[0-9.e-]+\]$' "embedding 0"
  # The SDK asks for base64 and decodes it: the fake sent float32s.
  expect_log "$API_DIR/requests.log" 'b[0].encoding_format' base64
  expect_log "$API_DIR/requests.log" 'r[0].path' /v1/embeddings
  no_escape
}

test_openai_sdk_against_groq() {
  openai_env groq /openai/v1 gsk_test_key_1
  export MODEL=llama-3.3-70b-versatile
  twice chat openai.mjs chat
  expect_eq '"Fast answer to \"What is 6x7?\" from llama-3.3-70b-versatile at temperature 0."' "$(line_of chat.1 text)"
  twice stream openai.mjs stream
  expect_eq "$(line_of chat.1 text)" "$(line_of stream.1 text)"
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path).join(" ")' '/openai/v1/chat/completions /openai/v1/chat/completions /openai/v1/chat/completions /openai/v1/chat/completions'
  expect_log "$API_DIR/requests.log" 'r[0].headers.authorization' 'Bearer gsk_test_key_1'
  no_escape
}

# ---------------------------------------------------------------------------
# @google/genai

test_genai_generate_parses_the_answer() {
  gemini_env
  twice generate genai.mjs generate
  expect_eq '"Gemini says 42 to \"What is 6x7?\" (gemini-2.5-flash)"' "$(line_of generate.1 text)"
  expect_log "$API_DIR/requests.log" 'r[0].method + " " + r[0].path' 'POST /v1beta/models/gemini-2.5-flash:generateContent'
  expect_log "$API_DIR/requests.log" 'r[0].headers["x-goog-api-key"]' AIzaTestKey1
  expect_log "$API_DIR/requests.log" 'b[0].contents' '[{"parts":[{"text":"What is 6x7?"}],"role":"user"}]'
  no_escape
}

test_genai_stream_yields_every_partial_answer() {
  gemini_env
  twice stream genai.mjs stream
  expect_eq "chunk x4
text" "$(labels stream.1)"
  expect_eq '"Gemini says 42 to \"What is 6x7?\" (gemini-2.5-flash)"' "$(line_of stream.1 text)"
  expect_contains "$(grep '^chunk' "$T/stream.1.out" | tail -n 1)" '"finishReason":"STOP"'
  expect_stream_transcript stream chunk
  expect_log "$API_DIR/requests.log" 'r[0].path' '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'
  no_escape
}

test_genai_base_url_from_http_options() {
  gemini_env
  export BASE_URL=$GOOGLE_GEMINI_BASE_URL
  unset GOOGLE_GEMINI_BASE_URL
  client generate genai.mjs generate
  expect_client_ok generate
  expect_eq '"Gemini says 42 to \"What is 6x7?\" (gemini-2.5-flash)"' "$(line_of generate text)"
  expect_log "$API_DIR/requests.log" 'r.length' 1
  no_escape
}

test_genai_embed_and_count_tokens() {
  gemini_env
  twice embed genai.mjs embed
  expect_eq "embedding 0
embedding 1" "$(labels embed.1)"
  twice count genai.mjs count
  expect_match "$(line_of count.1 totalTokens)" '^[0-9]+$' "totalTokens"
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path.replace(/.*:/, "")).join(" ")' 'batchEmbedContents batchEmbedContents countTokens countTokens'
  no_escape
}

# ---------------------------------------------------------------------------
# @huggingface/hub

test_hub_model_info_and_list_files() {
  hf_env
  twice info hub.mjs model-info
  expect_eq '"openai-community/gpt2"' "$(line_of info.1 name)"
  expect_eq '"text-generation"' "$(line_of info.1 task)"
  expect_eq '"607a30d783dfa663caf39e06633721c8d4cfcd7e"' "$(line_of info.1 sha)"
  twice files hub.mjs list-files
  expect_eq "file .gitattributes
file config.json
file model.safetensors
directory onnx" "$(labels files.1)"
  expect_log "$API_DIR/requests.log" 'r[0].path.replace(/\?.*/, "")' /api/models/openai-community/gpt2/revision/HEAD
  expect_log "$API_DIR/requests.log" 'new URL(r[0].path, "http://x").searchParams.getAll("expand").join(",")' \
    'pipeline_tag,private,gated,downloads,likes,lastModified,author,sha,tags'
  expect_log "$API_DIR/requests.log" 'r[2].path' '/api/models/openai-community/gpt2/tree/main?recursive=false&expand=false'
  expect_log "$API_DIR/requests.log" 'r[2].headers.authorization' 'Bearer hf_testtoken1'
  no_escape
}

# ---------------------------------------------------------------------------
# Claude Code (`claude -p`)

# What keeps Claude Code to the API it is pointed at: no telemetry, error
# reports, auto-update or other "nonessential" traffic.
claude_env() {
  anthropic_env
  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
    DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1 TMPDIR=$T/tmp
  mkdir -p "$TMPDIR"
}

# claude_p NAME: `claude -p "say hi"` in the current directory; its
# requests are kept as $T/NAME.requests.
claude_p() {
  : >"$API_DIR/requests.log"
  capture "$1" "$BOUNDED" "$CLIENTS/node_modules/.bin/claude" -p "say hi"
  cp "$API_DIR/requests.log" "$T/$1.requests"
}

# The request fields that differ between two identical runs of Claude Code
# 2.1.197 (tests/clients/README.md): the session id, in a header and in
# metadata.user_id. Nothing else: not the billing header block, not the
# x-stainless-* headers.
CLAUDE_VARYING="body metadata.user_id.session_id
header x-claude-code-session-id"

expect_claude_run() { # NAME
  expect_rc 0
  expect_answer "$1" '^Claude says 42 to "say hi" \(claude-[a-z0-9.-]+\)$'
  expect_eq 1 "$(wc -l <"$T/$1.requests" | tr -d ' ')" "requests of $1"
}

test_claude_p_twice_outside_a_git_repository() {
  claude_env
  claude_p first
  expect_claude_run first
  claude_p second
  expect_claude_run second
  expect_same first second
  expect_log "$T/first.requests" 'r[0].method + " " + r[0].path' 'POST /v1/messages?beta=true'
  expect_log "$T/first.requests" 'b[0].stream' true
  expect_log "$T/first.requests" 'r[0].headers["x-api-key"]' sk-ant-test-key-1
  expect_eq "$CLAUDE_VARYING" "$(node "$CLIENTS/request_diff.mjs" "$T/first.requests" "$T/second.requests")" \
    "fields that changed between the two runs"
  no_escape
}

test_claude_p_twice_in_a_git_repository() {
  claude_env
  make_git_repo "$W"
  echo x >"$W/file"
  git -C "$W" add file
  git -C "$W" -c user.name=t -c user.email=t@example.com commit -qm init
  claude_p first
  expect_claude_run first
  claude_p second
  expect_claude_run second
  expect_same first second
  expect_eq "$CLAUDE_VARYING" "$(node "$CLIENTS/request_diff.mjs" "$T/first.requests" "$T/second.requests")" \
    "fields that changed between the two runs"
  no_escape
}

# With no proxy in its environment, Claude Code first sends HEAD / to the
# API (a connection warm-up, answered 404 here): a proxy passes it through.
test_claude_without_a_proxy_sends_head_first() {
  claude_env
  unset HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy
  claude_p direct
  expect_rc 0
  expect_answer direct '^Claude says 42 to "say hi"'
  expect_log "$T/direct.requests" 'r.map((x) => x.method + " " + x.path).join(", ")' \
    'HEAD /, POST /v1/messages?beta=true'
}

# Without the opt-outs, Claude Code calls api.anthropic.com itself: the trap
# sees it, so an empty trap log elsewhere means something.
test_claude_trap_sees_what_the_opt_outs_stop() {
  anthropic_env
  claude_p open
  expect_rc 0
  expect_file_contains "$T/trap/requests.log" '"method":"CONNECT","path":"api.anthropic.com:443"'
}

# ---------------------------------------------------------------------------
# Gemini CLI (`gemini -p`)

# The settings that keep the Gemini CLI to the API it is pointed at (no
# usage statistics, no update checks) and pick the API key as its
# authentication, as `gemini` itself would store them; the workspace is
# trusted for the run.
gemini_cli_env() {
  gemini_env
  export TMPDIR=$T/tmp GEMINI_CLI_TRUST_WORKSPACE=true
  mkdir -p "$TMPDIR" "$HOME/.gemini"
  cat >"$HOME/.gemini/settings.json" <<'EOF'
{
  "security": { "auth": { "selectedType": "gemini-api-key" } },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false },
  "privacy": { "usageStatisticsEnabled": false },
  "telemetry": { "enabled": false }
}
EOF
}

gemini_p() { # NAME
  : >"$API_DIR/requests.log"
  capture "$1" "$BOUNDED" "$CLIENTS/node_modules/.bin/gemini" -p "say hi"
  cp "$API_DIR/requests.log" "$T/$1.requests"
}

expect_gemini_run() { # NAME
  expect_rc 0
  expect_answer "$1" '^Gemini says 42 to "say hi" \(gemini-[a-z0-9.-]+\)$'
  # The model router's JSON question, then the streamed answer.
  expect_log "$T/$1.requests" 'r.map((x) => x.path.replace(/.*:/, "")).join(" ")' 'generateContent streamGenerateContent?alt=sse'
  expect_log "$T/$1.requests" 'b[0].generationConfig.responseMimeType' application/json
}

test_gemini_p_twice() {
  gemini_cli_env
  gemini_p first
  expect_gemini_run first
  gemini_p second
  expect_gemini_run second
  expect_same_file "$T/first.out" "$T/second.out" "gemini's answer"
  expect_eq "" "$(node "$CLIENTS/request_diff.mjs" "$T/first.requests" "$T/second.requests")" \
    "fields that changed between the two runs"
  no_escape
}

test_gemini_trap_sees_what_the_settings_stop() {
  gemini_cli_env
  printf '{ "security": { "auth": { "selectedType": "gemini-api-key" } } }\n' >"$HOME/.gemini/settings.json"
  gemini_p open
  expect_rc 0
  expect_file_contains "$T/trap/requests.log" '"method":"CONNECT","path":"play.googleapis.com:443"'
}

run_tests
