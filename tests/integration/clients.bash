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
source "$IPFSACC_SOURCE_DIR/tests/clients/lib.bash"

# Each client pointed at its fake API, with a key of the right shape, and
# every other destination trapped.
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

claude_env() {
  anthropic_env
  claude_opt_outs
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
  # The billing block stays the same from run to run (its suffix follows the
  # prompt): a newer version that changes it per request shows here.
  expect_log "$T/first.requests" 'b[0].system[0].text' \
    'x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;'
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
  export TMPDIR=$T/tmp
  mkdir -p "$TMPDIR"
  claude_p open
  expect_rc 0
  expect_file_contains "$T/trap/requests.log" '"method":"CONNECT","path":"api.anthropic.com:443"'
}

# ---------------------------------------------------------------------------
# Gemini CLI (`gemini -p`)

gemini_cli_env() {
  gemini_env
  gemini_opt_outs
}

expect_gemini_run() { # NAME
  expect_rc 0
  expect_answer "$1" '^Gemini says 42 to "say hi" \(gemini-[a-z0-9.-]+\)$'
  # The model router's JSON question, then the streamed answer.
  expect_log "$T/$1.requests" 'r.map((x) => x.path.replace(/.*:/, "")).join(" ")' 'generateContent streamGenerateContent?alt=sse'
  expect_log "$T/$1.requests" 'b[0].generationConfig.responseMimeType' application/json
}

# The same command sends the same requests, so that a cache answers the
# next run. Gemini CLI 0.61 was once seen, in CI under load, to send another
# system instruction in one run of two (the Gemini CLI builds it from state
# it loads as it starts); request_diff.mjs prints the line that changed. One
# odd run is therefore allowed: a third run must then repeat one of the two.
test_gemini_p_twice() {
  gemini_cli_env
  gemini_p first
  expect_gemini_run first
  gemini_p second
  expect_gemini_run second
  expect_same_file "$T/first.out" "$T/second.out" "gemini's answer"
  local changed
  changed=$(node "$CLIENTS/request_diff.mjs" "$T/first.requests" "$T/second.requests")
  if [[ -n $changed ]]; then
    echo "  note: the second run's requests differ in: ${changed//$'\n'/, }; a third run decides" >&2
    gemini_p third
    expect_gemini_run third
    if [[ -n $(node "$CLIENTS/request_diff.mjs" "$T/first.requests" "$T/third.requests" 2>/dev/null) ]]; then
      expect_eq "" "$(node "$CLIENTS/request_diff.mjs" "$T/second.requests" "$T/third.requests")" \
        "fields that changed between each two of three runs"
    fi
  fi
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
