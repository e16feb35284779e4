# http: the HTTP path. A tool whose CLI is missing, cannot be executed or
# crashes before printing anything is called over HTTP (groq: always first),
# against fake API servers on 127.0.0.1 (tests/fakes/http, Node built-ins
# only) that log every request they receive.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

if ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: node is not installed (the fake API servers need it)" >&2
  exit 125
fi

# start_api NAME: the fake server of API NAME (groq, anthropic, gemini) in
# $T/api-NAME; sets API_URL and API_DIR. Stopped when the case ends.
API_PIDS=()
start_api() {
  API_DIR=$T/api-$1
  mkdir -p "$API_DIR"
  node "$FAKES/http/server.mjs" "$1" "$API_DIR" 2>"$API_DIR/server.err" &
  API_PIDS+=($!)
  trap 'kill "${API_PIDS[@]}" 2>/dev/null' EXIT
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $API_DIR/port ]] && break
    sleep 0.05
  done
  [[ -s $API_DIR/port ]] || { _show "$API_DIR/server.err" >&2; fail "the fake $1 API did not start"; }
  API_URL=http://127.0.0.1:$(cat "$API_DIR/port")
  : >"$API_DIR/requests.log"
}

# requests: how many requests the fake server received.
requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }

expect_requests() { # N
  expect_eq "$1" "$(requests)" "requests to the fake API"
}

# scenario WORD...: the next requests' scripted answers (see server.mjs).
scenario() { printf '%s\n' "$@" >"$API_DIR/scenario"; }

# no_cli: ipfsacc finds no wrapped tool at all (an empty search path).
no_cli() { export IPFSACC_PATH=$T/bin; }

groq_env() {
  start_api groq
  export GROQ_BASE_URL=$API_URL GROQ_API_KEY=gsk_test_key_123
}

# ---------------------------------------------------------------------------
# groq: no official CLI; the HTTP path comes first.

test_groq_goes_over_http_even_with_a_groq_on_path() {
  groq_env
  capture first ipfsacc -v groq --temperature 0 "What is 6x7?"
  expect_rc 0
  expect_eq 'Fast answer to "What is 6x7?" from llama-3.3-70b-versatile at temperature 0.' \
    "$(cat "$T/first.out")"
  expect_invocations groq 0
  expect_requests 1
  expect_file_contains "$T/first.err" "path=sdk"
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"method":"POST","path":"/openai/v1/chat/completions"'
  expect_contains "$log" '"authorization":"Bearer gsk_test_key_123"'
  expect_contains "$log" '\"temperature\":0.0'
  expect_contains "$log" '{\"content\":\"What is 6x7?\",\"role\":\"user\"}'
}

test_groq_second_call_is_a_hit_with_no_request() {
  groq_env
  capture first ipfsacc groq --temperature 0 "hello"
  expect_rc 0
  capture second ipfsacc -v groq --temperature 0 "hello"
  expect_rc 0
  expect_requests 1
  expect_eq "$(cat "$T/first.out")" "$(cat "$T/second.out")"
  expect_file_contains "$T/second.err" "ipfsacc: HIT"
  capture stats ipfsacc stats --format json
  expect_contains "$(cat "$T/stats.out")" '"groq"'
}

# An answer made over HTTP is stored like a CLI's: its token usage (18 prompt
# and 12 completion tokens in the fake API's reply) counts on each hit.
test_groq_json_hits_count_the_tokens_saved() {
  groq_env
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  printf 'price.llama-3.3-* = 1/2\n' >"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  local i
  for i in 1 2 3; do
    ipfsacc groq --json --temperature 0 "hello" >/dev/null 2>&1
  done
  expect_requests 1
  stats_json
  expect_stat tools.groq.hits 2
  expect_stat tools.groq.input_tokens_saved 36
  expect_stat tools.groq.output_tokens_saved 24
  # 2 x (18 x 1 + 12 x 2) millionths of a dollar.
  expect_stat tools.groq.cost_saved_micro_usd 84
}

test_groq_temperature_zero_gets_the_long_ttl() {
  groq_env
  ipfsacc groq --temperature 0 "a" >/dev/null
  ipfsacc groq --temperature 0.7 "b" >/dev/null
  capture t0 ipfsacc -v groq --temperature 0 "a"
  capture sampled ipfsacc -v groq --temperature 0.7 "b"
  expect_match "$(cat "$T/t0.err")" 'rule=groq/chat-t0 .*expires_in=(59m|1h)'
  expect_match "$(cat "$T/sampled.err")" 'rule=groq/chat .*expires_in=(29m|30m)'
  expect_requests 2
}

test_groq_options_system_model_json_and_stdin() {
  groq_env
  capture json ipfsacc groq -m llama-3.1-8b-instant --system "Be terse." --json "hi"
  expect_rc 0
  expect_contains "$(cat "$T/json.out")" '"object":"chat.completion"'
  expect_contains "$(cat "$T/json.out")" 'from llama-3.1-8b-instant (system: Be terse.)'
  printf 'piped prompt' | capture piped ipfsacc groq -
  expect_rc 0
  expect_eq 'Fast answer to "piped prompt" from llama-3.3-70b-versatile.' "$(cat "$T/piped.out")"
  printf 'piped prompt' | capture again ipfsacc groq -
  printf 'another prompt' | capture other ipfsacc groq -
  expect_contains "$(cat "$T/other.out")" 'another prompt'
  expect_requests 3
}

test_groq_usage_error_exits_2_without_a_request() {
  groq_env
  capture none ipfsacc groq
  expect_rc 2
  expect_file_contains "$T/none.err" "expected one prompt"
  capture bad ipfsacc groq --temperature hot "x"
  expect_rc 2
  expect_file_contains "$T/bad.err" "is not a number"
  expect_requests 0
}

test_groq_key_from_the_secrets_store() {
  groq_env
  unset GROQ_API_KEY
  printf 'gsk_stored_secret_456\n' | ipfsacc secrets set groq_api_key >/dev/null 2>&1 ||
    fail "secrets set failed"
  capture first ipfsacc -v groq "from the store"
  expect_rc 0
  expect_contains "$(cat "$API_DIR/requests.log")" '"authorization":"Bearer gsk_stored_secret_456"'
  expect_not_contains "$(grep -o '"path":"[^"]*"' "$API_DIR/requests.log")" gsk_stored
  expect_not_contains "$(cat "$T/first.err")" gsk_stored
  ipfsacc list >"$T/list.out" 2>&1
  expect_not_contains "$(cat "$T/list.out")" gsk_stored
  if grep -rqa gsk_stored_secret_456 "$IPFSACC_DIR"; then
    fail "the secret is in the cache directory"
  fi
  capture second ipfsacc groq "from the store"
  expect_requests 1
}

test_groq_without_a_key_says_so() {
  groq_env
  unset GROQ_API_KEY
  capture nokey ipfsacc groq "x"
  expect_rc 1
  expect_file_contains "$T/nokey.err" "GROQ_API_KEY is not set"
  expect_requests 0
}

test_groq_http_errors_are_reported_and_not_cached() {
  groq_env
  scenario 401
  capture unauthorized ipfsacc groq "x"
  expect_rc 1
  expect_file_contains "$T/unauthorized.err" "groq: error: HTTP 401: Invalid API Key"
  expect_empty "$T/unauthorized.out"
  scenario 500
  capture broken ipfsacc groq "x"
  expect_rc 1
  expect_file_contains "$T/broken.err" "HTTP 500"
  capture ok ipfsacc groq "x"
  expect_rc 0
  expect_requests 3
}

test_groq_429_with_retry_after_is_retried() {
  groq_env
  scenario 429:1
  capture retried ipfsacc groq "x"
  expect_rc 0
  expect_contains "$(cat "$T/retried.out")" 'Fast answer'
  expect_requests 2
}

test_groq_503_retries_are_bounded() {
  groq_env
  scenario 503:0 503:0 503:0 503:0 503:0
  capture unavailable ipfsacc groq "x"
  expect_rc 1
  expect_file_contains "$T/unavailable.err" "HTTP 503"
  expect_requests 4
}

test_groq_timeout_is_reported_and_not_cached() {
  groq_env
  scenario slow:5
  IPFSACC_HTTP_TIMEOUT=1s capture slow ipfsacc groq "x"
  expect_rc 1
  expect_file_contains "$T/slow.err" "request timed out"
  expect_not_contains "$(cat "$T/slow.err")" gsk_test_key_123
  capture after ipfsacc groq "x"
  expect_rc 0
  expect_requests 2
}

test_groq_prefer_cli_runs_the_groq_on_path() {
  groq_env
  capture flag ipfsacc --prefer cli groq "x"
  expect_rc 0
  expect_file_contains "$T/flag.out" "answer: Fast answer 42."
  IPFSACC_PREFER=cli capture env ipfsacc groq "y"
  expect_file_contains "$T/env.out" "answer: Fast answer 42."
  ipfsacc config set prefer.groq cli >/dev/null
  capture conf ipfsacc groq "z"
  expect_file_contains "$T/conf.out" "answer: Fast answer 42."
  # The command line wins over the config file.
  capture over ipfsacc --prefer sdk groq "z"
  expect_file_contains "$T/over.out" "Fast answer to"
  expect_invocations groq 3
  expect_requests 1
  capture badflag ipfsacc --prefer both groq "z"
  expect_rc 2
  capture badconf ipfsacc config set prefer.groq sometimes
  expect_rc 2
}

test_groq_cli_and_http_answers_have_different_keys() {
  groq_env
  ipfsacc --prefer cli groq "same" >/dev/null
  capture http ipfsacc -v groq "same"
  expect_file_contains "$T/http.err" "MISS"
  expect_requests 1
}

# ---------------------------------------------------------------------------
# claude: the CLI first; the Messages API when it is missing or broken.

# claude and gemini read the working directory: their calls are cached in
# a git repository only.
git_work() { make_git_repo "$W"; }

claude_env() {
  git_work
  start_api anthropic
  export ANTHROPIC_BASE_URL=$API_URL ANTHROPIC_API_KEY=sk-ant-test-789
}

test_claude_falls_back_when_the_cli_is_missing() {
  claude_env
  no_cli
  capture first ipfsacc -v claude -p "What is 6x7?"
  expect_rc 0
  expect_eq 'Claude says 42 to "What is 6x7?" (claude-sonnet-4-5)' "$(cat "$T/first.out")"
  expect_file_contains "$T/first.err" "path=sdk (fallback: claude is not on IPFSACC_PATH)"
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"path":"/v1/messages"'
  expect_contains "$log" '"x-api-key":"sk-ant-test-789"'
  expect_contains "$log" '"anthropic-version":"2023-06-01"'
  capture second ipfsacc -v claude -p "What is 6x7?"
  expect_file_contains "$T/second.err" "ipfsacc: HIT"
  expect_requests 1
}

test_claude_options_and_json_output() {
  claude_env
  no_cli
  capture json ipfsacc claude -p "hi" --model opus --system-prompt "Be brief." --output-format json
  expect_rc 0
  local out
  out=$(cat "$T/json.out")
  expect_contains "$out" '"type":"result"'
  expect_contains "$out" '"is_error":false'
  expect_contains "$out" '"result":"Claude says 42 to \"hi\" (claude-opus-4-1) [system: Be brief.]"'
  expect_contains "$out" '"usage":{"input_tokens":12,"output_tokens":9}'
  printf 'from stdin' | capture piped ipfsacc claude -p
  expect_rc 0
  expect_eq 'Claude says 42 to "from stdin" (claude-sonnet-4-5)' "$(cat "$T/piped.out")"
}

test_claude_no_fallback_on_an_ordinary_failure() {
  claude_env
  FAKE_EXIT=1 capture failed ipfsacc -v claude -p "x"
  expect_rc 1
  expect_file_contains "$T/failed.out" "answer: The answer to your prompt is 42."
  expect_file_contains "$T/failed.err" "path=cli"
  expect_requests 0
  expect_invocations "claude -p x" 1
}

test_claude_falls_back_when_the_cli_crashes_before_printing() {
  claude_env
  printf '#!/bin/sh\nkill -SEGV $$\n' >"$T/bin/claude"
  chmod +x "$T/bin/claude"
  capture crashed ipfsacc -v claude -p "crash"
  expect_rc 0
  expect_contains "$(cat "$T/crashed.out")" 'Claude says 42 to "crash"'
  expect_file_contains "$T/crashed.err" "FALLBACK claude: claude died of signal SEGV before printing anything"
  expect_requests 1
  capture again ipfsacc -v claude -p "crash"
  expect_file_contains "$T/again.err" "ipfsacc: HIT"
  expect_requests 1
}

test_claude_crash_after_output_is_the_answer() {
  claude_env
  printf '#!/bin/sh\necho partial\nkill -SEGV $$\n' >"$T/bin/claude"
  chmod +x "$T/bin/claude"
  capture crashed ipfsacc claude -p "crash"
  expect_rc 139
  expect_eq partial "$(cat "$T/crashed.out")"
  expect_requests 0
}

test_claude_falls_back_when_the_cli_cannot_be_executed() {
  claude_env
  printf '#!/nonexistent/interpreter\n' >"$T/bin/claude"
  chmod +x "$T/bin/claude"
  capture broken ipfsacc -v claude -p "x"
  expect_rc 0
  expect_file_contains "$T/broken.err" "FALLBACK claude: claude could not be executed"
  expect_requests 1
}

test_claude_prefer_sdk_skips_the_cli() {
  claude_env
  capture sdk ipfsacc --prefer sdk claude -p "x"
  expect_rc 0
  expect_contains "$(cat "$T/sdk.out")" "Claude says 42"
  expect_invocations claude 0
  IPFSACC_PREFER=sdk capture env ipfsacc claude -p "y"
  expect_contains "$(cat "$T/env.out")" "Claude says 42"
  expect_invocations claude 0
  expect_requests 2
}

test_claude_unsupported_call_exits_127() {
  claude_env
  no_cli
  capture interactive ipfsacc claude --continue
  expect_rc 127
  expect_file_contains "$T/interactive.err" "claude: command not found"
  expect_file_contains "$T/interactive.err" "install claude (npm install -g @anthropic-ai/claude-code)"
  capture session ipfsacc --no-cache claude
  expect_rc 127
  expect_requests 0
}

test_claude_api_error_is_not_cached() {
  claude_env
  no_cli
  scenario 529
  capture overloaded ipfsacc claude -p "x"
  expect_rc 1
  expect_file_contains "$T/overloaded.out" "API Error: 529 Overloaded"
  capture ok ipfsacc claude -p "x"
  expect_rc 0
  expect_requests 2
}

test_claude_key_from_the_secrets_store() {
  claude_env
  no_cli
  unset ANTHROPIC_API_KEY
  printf 'sk-ant-stored-000\n' | ipfsacc secrets set anthropic_api_key >/dev/null 2>&1 ||
    fail "secrets set failed"
  capture first ipfsacc claude -p "x"
  expect_rc 0
  expect_contains "$(cat "$API_DIR/requests.log")" '"x-api-key":"sk-ant-stored-000"'
  if grep -rqa sk-ant-stored-000 "$IPFSACC_DIR"; then
    fail "the secret is in the cache directory"
  fi
}

# ---------------------------------------------------------------------------
# gemini

test_gemini_falls_back_when_the_cli_is_missing() {
  git_work
  start_api gemini
  export GOOGLE_GEMINI_BASE_URL=$API_URL GEMINI_API_KEY=AIzaTestKey
  no_cli
  capture text ipfsacc gemini -p "hello" -m gemini-2.5-flash
  expect_rc 0
  expect_eq 'Gemini says 42 to "hello" (gemini-2.5-flash)' "$(cat "$T/text.out")"
  expect_contains "$(cat "$API_DIR/requests.log")" '"path":"/v1beta/models/gemini-2.5-flash:generateContent"'
  expect_contains "$(cat "$API_DIR/requests.log")" '"x-goog-api-key":"AIzaTestKey"'
  capture json ipfsacc gemini -p "hello" -o json
  expect_rc 0
  expect_contains "$(cat "$T/json.out")" '"response": "Gemini says 42 to \"hello\" (gemini-2.5-pro)"'
  capture hit ipfsacc -v gemini -p "hello" -m gemini-2.5-flash
  expect_file_contains "$T/hit.err" "ipfsacc: HIT"
  expect_requests 2
  scenario 403
  capture denied ipfsacc gemini -p "denied"
  expect_rc 1
  expect_requests 3
}

# ---------------------------------------------------------------------------
# code: no web API; the extension manifests answer --list-extensions.

# extension DIR PUBLISHER NAME VERSION: an installed extension's folder.
extension() {
  mkdir -p "$1/$2.$3-$4"
  printf '{"name": "%s", "publisher": "%s", "version": "%s", "engines": {"vscode": "^1.80.0"}}\n' \
    "$3" "$2" "$4" >"$1/$2.$3-$4/package.json"
}

test_code_lists_extensions_from_the_manifests() {
  no_cli
  local dir=$HOME/.vscode/extensions
  extension "$dir" ms-python python 2024.2.1
  extension "$dir" GitHub copilot 1.180.0
  extension "$dir" eamodio gitlens 15.0.4
  extension "$dir" rust-lang rust-analyzer 0.3.1850
  printf '[%s,%s,%s]\n' \
    '{"identifier":{"id":"ms-python.python"},"version":"2024.2.1","relativeLocation":"ms-python.python-2024.2.1"}' \
    '{"identifier":{"id":"github.copilot"},"version":"1.180.0","relativeLocation":"GitHub.copilot-1.180.0"}' \
    '{"identifier":{"id":"eamodio.gitlens"},"version":"15.0.4","relativeLocation":"eamodio.gitlens-15.0.4"}' \
    >"$dir/extensions.json"
  capture plain ipfsacc code --list-extensions
  expect_rc 0
  expect_eq $'eamodio.gitlens\nGitHub.copilot\nms-python.python' "$(cat "$T/plain.out")"
  capture versions ipfsacc code --list-extensions --show-versions
  expect_eq $'eamodio.gitlens@15.0.4\nGitHub.copilot@1.180.0\nms-python.python@2024.2.1' \
    "$(cat "$T/versions.out")"
  capture hit ipfsacc -v code --list-extensions
  expect_file_contains "$T/hit.err" "ipfsacc: HIT"
  # An install changes the manifest list, and so the key.
  printf '[%s]\n' \
    '{"identifier":{"id":"rust-lang.rust-analyzer"},"version":"0.3.1850","relativeLocation":"rust-lang.rust-analyzer-0.3.1850"}' \
    >"$dir/extensions.json"
  capture after ipfsacc code --list-extensions
  expect_eq rust-lang.rust-analyzer "$(cat "$T/after.out")"
  capture other ipfsacc code --install-extension foo.bar
  expect_rc 127
  expect_file_contains "$T/other.err" "install code"
}

test_code_without_a_list_reads_the_folders_but_obsolete_ones() {
  no_cli
  local dir=$T/exts
  export VSCODE_EXTENSIONS=$dir
  extension "$dir" b-pub b 1.0.0
  extension "$dir" a-pub a 2.0.0
  extension "$dir" c-pub c 3.0.0
  printf '{"c-pub.c-3.0.0": true}\n' >"$dir/.obsolete"
  capture list ipfsacc code --list-extensions --show-versions
  expect_rc 0
  expect_eq $'a-pub.a@2.0.0\nb-pub.b@1.0.0' "$(cat "$T/list.out")"
}

# ---------------------------------------------------------------------------
# Tools whose calls are not mapped yet: a clear 127.

test_unmapped_calls_exit_127_naming_the_cli() {
  no_cli
  capture hf ipfsacc hf models info gpt2
  expect_rc 127
  expect_file_contains "$T/hf.err" "hf: command not found"
  expect_file_contains "$T/hf.err" "install hf"
  capture vast ipfsacc vastai show user --raw
  expect_rc 127
  expect_file_contains "$T/vast.err" "install vastai"
}

test_a_tool_without_an_http_path_still_says_command_not_found() {
  no_cli
  capture run ipfsacc run -- no-such-command-here
  expect_rc 127
}

# ---------------------------------------------------------------------------
# The hit path does not load libcurl; a request does.

test_a_hit_does_not_load_libcurl() {
  groq_env
  LD_DEBUG=libs capture miss ipfsacc groq "x"
  expect_rc 0
  expect_file_contains "$T/miss.err" "libcurl.so.4"
  LD_DEBUG=libs capture hit ipfsacc groq "x"
  expect_rc 0
  expect_not_contains "$(cat "$T/hit.err")" "libcurl"
  expect_requests 1
}

run_tests
