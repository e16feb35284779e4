# serve_clients: the official API clients from npm (tests/clients) through
# `ipfsacc serve` to the fake APIs of tests/fakes/http. Each client runs
# twice: the first run reaches the fake API, the second makes no request to
# it at all, prints the same bytes, and was given the same bytes (a stream's
# events included). Both ways of running the proxy are used: `ipfsacc serve
# … -- CLIENT` (the proxy lives as long as the client, its variables point
# the client at it) and one `ipfsacc serve` in the background with the
# client pointed at it by hand. Skipped when tests/clients/node_modules is
# not installed, like clients.bash (which runs the same clients without the
# proxy).

# A run of Claude Code or the Gemini CLI takes seconds of CPU; on a busy
# machine the safety net of one call is wider than lib.bash's default.
TEST_CALL_TIMEOUT=${TEST_CALL_TIMEOUT:-180}
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$IPFSACC_SOURCE_DIR/tests/clients/lib.bash"

if ! command -v curl >/dev/null 2>&1; then
  echo "$SUITE: curl is not installed" >&2
  exit 125
fi

requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }

# start_serve ROUTE: `ipfsacc serve -v` in the background, in front of the
# fake API of the case ($API_URL) on ROUTE; sets PROXY (its base URL). Its
# log (one line per request) is $T/serve.err.
start_serve() {
  "$IPFSACC_BIN" serve -v --listen 127.0.0.1:0 --port-file "$T/serve.port" \
    --upstream "$1=$API_URL" 2>"$T/serve.err" &
  local pid=$!
  FAKE_PIDS+=($pid)
  wait_until "[[ -s $T/serve.port ]] || ! kill -0 $pid 2>/dev/null" "ipfsacc serve to listen"
  [[ -s $T/serve.port ]] || { _show "$T/serve.err" >&2; fail "ipfsacc serve did not start"; }
  PROXY=http://127.0.0.1:$(tr -d '\n' <"$T/serve.port")
}

# served WHAT: the requests the proxy's log shows as WHAT (HIT, MISS,
# BYPASS), as "METHOD PATH" (the log leaves the query out), one per line.
served() {
  sed -n "s/^ipfsacc serve: $1 \(bafk[^ ]* \)\{0,1\}\([A-Z]* [^ ]*\) .*/\2/p" "$T/serve.err"
}

# The way a case runs a client: THROUGH is empty when the client is pointed
# at a proxy already running (start_serve); else it is the `ipfsacc serve …
# --` that starts one for the client's run only.
THROUGH=()
through() { # ROUTE: each run of a client starts its own proxy
  THROUGH=("$IPFSACC_BIN" serve --upstream "$1=$API_URL" --)
}

# sdk NAME SCRIPT ARGS...: the client script run (through the proxy when
# through was called), what it was given over HTTP recorded as
# $T/NAME.fetch.* (record_fetch.mjs).
sdk() {
  local name=$1 script=$2
  shift 2
  FETCH_RECORD=$T/$name.fetch capture "$name" "$BOUNDED" "${THROUGH[@]}" \
    node --import "$CLIENTS/record_fetch.mjs" "$CLIENTS/$script" "$@"
}

# fetched NAME: what the run NAME fetched, one line per answer: "STATUS
# CACHE METHOD PATH" (the proxy's address left out: a proxy started for
# the run listens on a port of its own).
fetched() {
  [[ -s $T/$1.fetch.log ]] || fail "$1 recorded no answer"
  sort -n "$T/$1.fetch.log" | sed -E 's|^[0-9]+ ||; s|http://127\.0\.0\.1:[0-9]+||'
}

# twice_through NAME N SCRIPT ARGS...: the client run twice through the
# proxy (NAME.1 and NAME.2). The first run makes N requests to the fake
# API, each a MISS; the second none, each answer a HIT; both runs print the
# same bytes and were given the same bytes, answer by answer.
twice_through() {
  local name=$1 n=$2 before k f
  shift 2
  before=$(requests)
  sdk "$name.1" "$@"
  expect_client_ok "$name.1"
  expect_eq "$n" "$(($(requests) - before))" "requests to the fake API in $name's first run"
  expect_eq "" "$(fetched "$name.1" | grep -v ' MISS ')" "answers of $name's first run that are not a MISS"
  before=$(requests)
  sdk "$name.2" "$@"
  expect_client_ok "$name.2"
  expect_eq 0 "$(($(requests) - before))" "requests to the fake API in $name's second run"
  expect_eq "$(fetched "$name.1" | sed 's/ MISS / HIT /')" "$(fetched "$name.2")" "what $name's second run fetched"
  expect_same_file "$T/$name.1.out" "$T/$name.2.out" "transcript of the second run"
  for f in "$T/$name".1.fetch.*.body; do
    k=${f%.body}
    k=${k##*.}
    expect_same_file "$f" "$T/$name.2.fetch.$k.body" "answer $k of $name's second run"
  done
}

# expect_stream NAME LABEL: the stream of NAME's answer 1, as the client
# received it through the proxy, is a whole SSE stream, and the events the
# transcript shows (lines starting with LABEL) are its events.
expect_stream() {
  if ! node "$CLIENTS/stream_check.mjs" "$T/$1.1.fetch.1.body" "$T/$1.1.out" "$2" >"$T/$1.stream-diff"; then
    cat "$T/$1.stream-diff" >&2
    fail "the events $1 was given are not those its transcript shows"
  fi
}

# ---------------------------------------------------------------------------
# The SDKs

anthropic_env() {
  start_trap
  start_api anthropic
  export ANTHROPIC_API_KEY=sk-ant-test-key-1
}

test_anthropic_sdk_create_stream_and_count_through_serve_with_a_command() {
  anthropic_env
  through anthropic
  twice_through create 1 anthropic.mjs create
  expect_eq '"Claude says 42 to \"What is 6x7?\" (claude-sonnet-4-5)"' "$(line_of create.1 text)"
  expect_eq "200 MISS POST /anthropic/v1/messages" "$(fetched create.1)"
  twice_through stream 1 anthropic.mjs stream
  expect_stream stream event
  expect_file_contains "$T/stream.2.fetch.1.body" $'event: message_stop\ndata: {"type":"message_stop"}\n\n'
  twice_through count 1 anthropic.mjs count
  expect_eq "200 HIT POST /anthropic/v1/messages/count_tokens" "$(fetched count.2)"
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path).join(" ")' \
    '/v1/messages /v1/messages /v1/messages/count_tokens'
  # The same proxy entries in the store the other commands read.
  stats_json
  expect_stat tools.serve.hits 3
  expect_stat tools.serve.misses 3
  capture list ipfsacc list
  expect_eq 3 "$(grep -c 'POST /anthropic/v1/messages' "$T/list.out")" "entries listed"
  no_escape
}

test_openai_sdk_on_the_openai_route() {
  start_trap
  start_api openai
  export OPENAI_API_KEY=sk-test-key-1
  through openai
  twice_through chat 1 openai.mjs chat
  expect_eq '"Fast answer to \"What is 6x7?\" from gpt-4o-mini at temperature 0."' "$(line_of chat.1 text)"
  twice_through stream 1 openai.mjs stream
  expect_stream stream chunk
  expect_eq 'data: [DONE]' "$(tail -n 2 "$T/stream.2.fetch.1.body" | head -n 1)"
  twice_through embed 1 openai.mjs embeddings
  expect_eq "200 HIT POST /openai/v1/embeddings" "$(fetched embed.2)"
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path).join(" ")' \
    '/v1/chat/completions /v1/chat/completions /v1/embeddings'
  no_escape
}

# Groq is asked through the openai SDK at GROQ_BASE_URL/openai/v1: `serve
# --` sets GROQ_BASE_URL, the SDK reads OPENAI_BASE_URL.
test_openai_sdk_on_the_groq_route() {
  start_trap
  start_api groq
  export OPENAI_API_KEY=gsk_test_key_1 MODEL=llama-3.3-70b-versatile
  THROUGH=("$IPFSACC_BIN" serve --upstream "groq=$API_URL" -- sh -c
    'OPENAI_BASE_URL=$GROQ_BASE_URL/openai/v1 exec "$@"' sh)
  twice_through chat 1 openai.mjs chat
  expect_eq '"Fast answer to \"What is 6x7?\" from llama-3.3-70b-versatile at temperature 0."' "$(line_of chat.1 text)"
  expect_eq "200 HIT POST /groq/openai/v1/chat/completions" "$(fetched chat.2)"
  twice_through stream 1 openai.mjs stream
  expect_stream stream chunk
  unset MODEL
  twice_through embed 1 openai.mjs embeddings
  expect_log "$API_DIR/requests.log" 'r.map((x) => x.path).join(" ")' \
    '/openai/v1/chat/completions /openai/v1/chat/completions /openai/v1/embeddings'
  no_escape
}

test_genai_generate_stream_embed_and_count_through_a_running_serve() {
  start_trap
  start_api gemini
  start_serve gemini
  export GOOGLE_GEMINI_BASE_URL=$PROXY/gemini GEMINI_API_KEY=AIzaTestKey1
  twice_through generate 1 genai.mjs generate
  expect_eq '"Gemini says 42 to \"What is 6x7?\" (gemini-2.5-flash)"' "$(line_of generate.1 text)"
  twice_through stream 1 genai.mjs stream
  expect_stream stream chunk
  twice_through embed 1 genai.mjs embed
  twice_through count 1 genai.mjs count
  expect_eq "POST /gemini/v1beta/models/gemini-2.5-flash:generateContent
POST /gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent
POST /gemini/v1beta/models/gemini-embedding-001:batchEmbedContents
POST /gemini/v1beta/models/gemini-2.5-flash:countTokens" "$(served MISS)" "the proxy's misses"
  expect_eq "$(served MISS)" "$(served HIT)" "the proxy's hits"
  stats_json
  expect_stat tools.serve.hits 4
  no_escape
}

# A Gemini stream has no closing event: its last chunk carries the
# finishReason. One cut short before it is not stored, so the next run asks
# again and gets the whole answer.
test_a_gemini_stream_cut_short_is_not_replayed() {
  start_trap
  start_api gemini
  start_serve gemini
  export GOOGLE_GEMINI_BASE_URL=$PROXY/gemini GEMINI_API_KEY=AIzaTestKey1
  printf 'cut\n' >"$API_DIR/scenario"
  sdk cut genai.mjs stream
  if grep -q finishReason "$T/cut.out"; then
    fail "the fake API did not cut the stream"
  fi
  twice_through whole 1 genai.mjs stream
  expect_contains "$(grep '^chunk' "$T/whole.2.out" | tail -n 1)" '"finishReason":"STOP"'
  expect_stream whole chunk
  expect_eq 2 "$(requests)" "requests to the fake API"
}

# The same for an OpenAI stream, whose end is `data: [DONE]`.
test_an_openai_stream_cut_short_is_not_replayed() {
  start_trap
  start_api openai
  start_serve openai
  export OPENAI_BASE_URL=$PROXY/openai/v1 OPENAI_API_KEY=sk-test-key-1
  printf 'cut\n' >"$API_DIR/scenario"
  sdk cut openai.mjs stream
  twice_through whole 1 openai.mjs stream
  expect_stream whole chunk
  expect_eq 2 "$(requests)" "requests to the fake API"
}

test_hub_model_info_and_list_files_through_serve_with_a_command() {
  start_trap
  start_api hf
  export HF_TOKEN=hf_testtoken1
  through hf
  twice_through info 1 hub.mjs model-info
  expect_eq '"607a30d783dfa663caf39e06633721c8d4cfcd7e"' "$(line_of info.1 sha)"
  twice_through files 1 hub.mjs list-files
  expect_eq "file .gitattributes
file config.json
file model.safetensors
directory onnx" "$(labels files.1)"
  expect_eq "200 HIT GET /hf/api/models/openai-community/gpt2/tree/main?recursive=false&expand=false" \
    "$(fetched files.2)"
  capture list ipfsacc list
  expect_eq 2 "$(grep -c 'GET /hf/api/models/openai-community/gpt2/' "$T/list.out")" "entries listed"
  no_escape
}

# ---------------------------------------------------------------------------
# Claude Code

expect_claude_run() { # NAME
  expect_rc 0
  expect_answer "$1" '^Claude says 42 to "say hi" \(claude-[a-z0-9.-]+\)$'
}

# claude_through NAME: `claude -p "say hi"` in `ipfsacc serve -- …`.
claude_through() {
  capture "$1" "$BOUNDED" "$IPFSACC_BIN" serve --upstream "anthropic=$API_URL" -- \
    "$CLIENTS/node_modules/.bin/claude" -p "say hi"
}

# expect_replay_shares_the_entry NAME: the request Claude Code sent in run
# NAME (as the fake API logged it), sent again to the proxy with a session
# id of another run in its header and its metadata.user_id, is a HIT, and
# the stream replayed is, byte for byte, what the fake API answers that
# request: the scrub profile (wrappers/scrub/anthropic.json) leaves the
# session out of the key, and the entry holds the stream as it was sent.
expect_replay_shares_the_entry() {
  local session=00000000-1111-2222-3333-444444444444 h
  local post='r.findIndex((x) => x.method === "POST")'
  logq "$T/$1.requests" "
    const body = b[$post];
    const user = JSON.parse(body.metadata.user_id);
    if (user.session_id === '$session') throw new Error('same session');
    user.session_id = '$session';
    body.metadata.user_id = JSON.stringify(user);
    JSON.stringify(body)" >"$T/replay.request"
  local headers=()
  while IFS= read -r h; do headers+=(-H "$h"); done < <(logq "$T/$1.requests" "
    Object.entries(r[$post].headers)
      .filter(([k]) => !/^(host|content-length|connection|accept-encoding|x-claude-code-session-id)$/.test(k))
      .map(([k, v]) => k + ': ' + v).join('\n')")
  local path
  path=$(logq "$T/$1.requests" "r[$post].path")
  "$BOUNDED" curl -sS --noproxy '*' -N "${headers[@]}" -H "x-claude-code-session-id: $session" \
    -H 'x-ipfsacc-cache: only' --data-binary @"$T/replay.request" \
    -D "$T/replay.head" -o "$T/replay.body" "$PROXY/anthropic$path" || fail "curl to the proxy failed"
  expect_file_contains "$T/replay.head" "x-ipfsacc-cache: HIT"
  "$BOUNDED" curl -sS --noproxy '*' -N "${headers[@]}" --data-binary @"$T/replay.request" \
    -o "$T/direct.body" "$API_URL$path" || fail "curl to the fake API failed"
  expect_same_file "$T/direct.body" "$T/replay.body" "the stream replayed"
  expect_file_contains "$T/replay.body" 'event: message_stop'
}

test_claude_p_twice_outside_a_git_repository() {
  start_trap
  start_api anthropic
  export ANTHROPIC_API_KEY=sk-ant-test-key-1
  claude_opt_outs
  claude_through first
  expect_claude_run first
  cp "$API_DIR/requests.log" "$T/first.requests"
  expect_log "$T/first.requests" 'r.map((x) => x.method + " " + x.path).join(", ")' 'POST /v1/messages?beta=true'
  claude_through second
  expect_claude_run second
  expect_same first second
  expect_eq 1 "$(requests)" "requests to the fake API after the second run"
  stats_json
  expect_stat tools.serve.hits 1
  expect_stat tools.serve.misses 1
  capture list ipfsacc list
  expect_eq 1 "$(grep -c 'POST /anthropic/v1/messages' "$T/list.out")" "entries listed"
  no_escape
  start_serve anthropic
  expect_replay_shares_the_entry first
}

# In a git repository (the git status is in the prompt), against a proxy
# already running and with no HTTPS_PROXY: Claude Code then first sends
# HEAD / to its base URL, a warm-up the proxy passes through.
test_claude_p_twice_in_a_git_repository() {
  start_api anthropic
  start_serve anthropic
  export ANTHROPIC_BASE_URL=$PROXY/anthropic ANTHROPIC_API_KEY=sk-ant-test-key-1
  claude_opt_outs
  make_git_repo "$W"
  echo x >"$W/file"
  git -C "$W" add file
  git -C "$W" -c user.name=t -c user.email=t@example.com commit -qm init
  claude_p first
  expect_claude_run first
  claude_p second
  expect_claude_run second
  expect_same first second
  expect_log "$T/first.requests" 'r.map((x) => x.method + " " + x.path).join(", ")' \
    'HEAD /, POST /v1/messages?beta=true'
  expect_log "$T/first.requests" 'b[1].system.some((s) => s.text.includes("gitStatus"))' true
  expect_log "$T/second.requests" 'r.map((x) => x.method + " " + x.path).join(", ")' 'HEAD /'
  expect_eq "POST /anthropic/v1/messages" "$(served MISS)" "the proxy's misses"
  expect_eq "POST /anthropic/v1/messages" "$(served HIT)" "the proxy's hits"
  expect_eq "HEAD /anthropic
HEAD /anthropic" "$(served BYPASS)" "what the proxy passed through"
  expect_replay_shares_the_entry first
}

# ---------------------------------------------------------------------------
# Gemini CLI

# The model router's JSON question, then the streamed answer: two misses,
# then two hits, and the stream replayed byte for byte. The Gemini CLI was
# once seen to send another system instruction in one run of two
# (clients.bash's gemini_p_twice): when the second run reaches the fake API,
# a third run, which repeats one of the two, must reach it no more.
test_gemini_p_twice() {
  start_trap
  start_api gemini
  start_serve gemini
  export GOOGLE_GEMINI_BASE_URL=$PROXY/gemini GEMINI_API_KEY=AIzaTestKey1
  gemini_opt_outs
  gemini_p first
  expect_rc 0
  expect_answer first '^Gemini says 42 to "say hi" \(gemini-[a-z0-9.-]+\)$'
  expect_log "$T/first.requests" 'r.map((x) => x.path.replace(/.*:/, "")).join(" ")' \
    'generateContent streamGenerateContent?alt=sse'
  gemini_p second
  local last=second
  if [[ -s $T/second.requests ]]; then
    echo "  note: the second run reached the fake API ($(logq "$T/second.requests" \
      'r.map((x) => x.path.replace(/.*:/, "")).join(" ")')); a third run decides" >&2
    gemini_p third
    last=third
  fi
  expect_same first "$last"
  expect_eq 0 "$(wc -l <"$T/$last.requests" | tr -d ' ')" "requests to the fake API in the $last run"
  if [[ $last == second ]]; then
    expect_eq "$(served MISS)" "$(served HIT)" "the proxy's hits"
  fi
  expect_match "$(served HIT | tail -n 2 | tr '\n' ' ')" \
    '^POST /gemini/v1beta/models/[a-z0-9.-]+:generateContent POST /gemini/v1beta/models/[a-z0-9.-]+:streamGenerateContent $'
  # The stream as the proxy replays it is what the fake API sent.
  local path
  path=$(logq "$T/first.requests" 'r[1].path')
  logq "$T/first.requests" 'r[1].body' >"$T/stream.request"
  "$BOUNDED" curl -sS --noproxy '*' -N -H 'x-goog-api-key: AIzaTestKey1' -H 'content-type: application/json' \
    -H 'x-ipfsacc-cache: only' --data-binary @"$T/stream.request" -D "$T/replay.head" \
    -o "$T/replay.body" "$PROXY/gemini$path" || fail "curl to the proxy failed"
  expect_file_contains "$T/replay.head" "x-ipfsacc-cache: HIT"
  "$BOUNDED" curl -sS --noproxy '*' -N -H 'x-goog-api-key: AIzaTestKey1' -H 'content-type: application/json' \
    --data-binary @"$T/stream.request" -o "$T/direct.body" "$API_URL$path" || fail "curl to the fake API failed"
  expect_same_file "$T/direct.body" "$T/replay.body" "the stream replayed"
  expect_file_contains "$T/replay.body" '"finishReason":"STOP"'
  no_escape
}

run_tests
