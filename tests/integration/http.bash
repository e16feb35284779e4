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
  local deadline=$((SECONDS + 60))
  until [[ -s $API_DIR/port ]] || ((SECONDS >= deadline)); do
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
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
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
  scenario slow:60
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
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
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
# hf: the CLI first; the Hub API when it is missing or broken.

hf_env() {
  start_api hf
  export HF_ENDPOINT=$API_URL HF_TOKEN=hf_testtoken123
}

# The bytes hf 1.x prints for the fake Hub's openai-community/gpt2:
# json.dumps(repo_info_to_dict(model_info), indent=2).
expected_gpt2_info() {
  cat <<'JSON'
{
  "id": "openai-community/gpt2",
  "author": "openai-community",
  "sha": "607a30d783dfa663caf39e06633721c8d4cfcd7e",
  "created_at": "2022-03-02T23:29:04+00:00",
  "last_modified": "2024-02-19T10:57:45.123000+00:00",
  "private": false,
  "disabled": false,
  "downloads": 11357416,
  "gated": false,
  "inference": "warm",
  "inference_provider_mapping": [
    {
      "provider": "hf-inference",
      "hf_model_id": "openai-community/gpt2",
      "provider_id": "openai-community/gpt2",
      "status": "live",
      "task": "text-generation",
      "adapter": null,
      "adapter_weights_path": null,
      "type": null
    }
  ],
  "likes": 2893,
  "library_name": "transformers",
  "tags": [
    "transformers",
    "safetensors",
    "gpt2",
    "text-generation",
    "en",
    "license:mit",
    "region:us"
  ],
  "pipeline_tag": "text-generation",
  "card_data": {},
  "widget_data": [
    {
      "text": "Mon nom est Thomas et j'aime le caf\u00e9"
    }
  ],
  "config": {
    "architectures": [
      "GPT2LMHeadModel"
    ],
    "model_type": "gpt2",
    "layer_norm_epsilon": 1e-05,
    "tokenizer_config": {}
  },
  "transformers_info": {
    "auto_model": "AutoModelForCausalLM",
    "custom_class": null,
    "pipeline_tag": "text-generation",
    "processor": "AutoTokenizer"
  },
  "siblings": [
    {
      "rfilename": ".gitattributes",
      "size": null,
      "blob_id": null,
      "lfs": null
    },
    {
      "rfilename": "model.safetensors",
      "size": null,
      "blob_id": null,
      "lfs": null
    }
  ],
  "spaces": [
    "open-llm-leaderboard/open_llm_leaderboard"
  ],
  "safetensors": {
    "parameters": {
      "F32": 137022720
    },
    "total": 137022720
  }
}
JSON
}

# hf_list_item ID DOWNLOADS LIKES TRENDING [LAST]: one model of `hf models ls`.
hf_list_item() {
  printf '  {\n    "id": "%s",\n    "created_at": "2022-03-02T23:29:04+00:00",\n' "$1"
  printf '    "private": false,\n    "downloads": %s,\n    "likes": %s,\n' "$2" "$3"
  printf '    "library_name": "transformers",\n    "tags": [\n      "transformers",\n'
  printf '      "pytorch",\n      "text-generation"\n    ],\n'
  printf '    "pipeline_tag": "text-generation",\n    "trending_score": %s\n  }%s\n' "$4" "${5-,}"
}

test_hf_models_info_falls_back_when_the_cli_is_missing() {
  hf_env
  no_cli
  capture first ipfsacc -v hf models info openai-community/gpt2
  expect_rc 0
  expected_gpt2_info >"$T/expected.out"
  expect_same_file "$T/expected.out" "$T/first.out" "hf models info output"
  expect_file_contains "$T/first.err" "path=sdk (fallback: hf is not on IPFSACC_PATH)"
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"method":"GET","path":"/api/models/openai-community/gpt2"'
  expect_contains "$log" '"authorization":"Bearer hf_testtoken123"'
  capture second ipfsacc -v hf models info openai-community/gpt2
  expect_rc 0
  expect_file_contains "$T/second.err" "ipfsacc: HIT"
  expect_same_file "$T/expected.out" "$T/second.out" "replayed output"
  expect_requests 1
}

test_hf_models_ls_searches_with_the_default_limit_and_follows_pages() {
  hf_env
  no_cli
  capture ls ipfsacc hf models ls --search gpt2 --limit 4
  expect_rc 0
  {
    echo '['
    hf_list_item openai-community/gpt2 11357416 2893 6
    hf_list_item distilbert/distilgpt2 2387616 545 5
    hf_list_item openai-community/gpt2-medium 401231 182 4
    hf_list_item openai-community/gpt2-large 1320441 317 3 ''
    echo ']'
  } >"$T/expected.out"
  expect_same_file "$T/expected.out" "$T/ls.out" "hf models ls output"
  expect_requests 2
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"path":"/api/models?search=gpt2&limit=4"'
  expect_contains "$log" '"path":"/api/models?search=gpt2&limit=4&cursor=3"'
  # Without --limit, hf asks for 10.
  capture all ipfsacc hf models ls
  expect_rc 0
  expect_contains "$(cat "$API_DIR/requests.log")" '"path":"/api/models?limit=10"'
  expect_eq 6 "$(grep -c '"id":' "$T/all.out")" "models listed"
  capture again ipfsacc -v hf models ls
  expect_file_contains "$T/again.err" "ipfsacc: HIT"
  expect_requests 4
}

test_hf_datasets_and_spaces_info_and_ls() {
  hf_env
  no_cli
  capture ds ipfsacc hf datasets info rajpurkar/squad
  expect_rc 0
  local out
  out=$(cat "$T/ds.out")
  expect_contains "$out" $'{\n  "id": "rajpurkar/squad",\n  "author": "rajpurkar",'
  expect_contains "$out" $'  "paperswithcode_id": "squad",\n  "tags": ['
  expect_contains "$out" $'  "card_data": {},\n  "siblings": ['
  capture space ipfsacc hf spaces info gradio/hello_world
  expect_rc 0
  out=$(cat "$T/space.out")
  expect_contains "$out" $'  "runtime": {\n    "stage": "RUNNING",\n    "hardware": "cpu-basic",\n    "requested_hardware": "cpu-basic",\n    "sleep_time": 172800,\n    "storage": null,\n    "raw": {'
  expect_contains "$out" $'  "models": [],\n  "datasets": []\n}'
  capture dls ipfsacc hf datasets ls --search squad
  expect_rc 0
  expect_contains "$(cat "$T/dls.out")" '"id": "rajpurkar/squad"'
  capture sls ipfsacc hf spaces ls --author gradio
  expect_rc 0
  expect_contains "$(cat "$T/sls.out")" '"sdk": "gradio"'
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"path":"/api/datasets/rajpurkar/squad"'
  expect_contains "$log" '"path":"/api/spaces/gradio/hello_world"'
  expect_contains "$log" '"path":"/api/spaces?author=gradio&limit=10"'
}

test_hf_no_fallback_on_an_ordinary_failure() {
  hf_env
  FAKE_EXIT=1 capture failed ipfsacc -v hf models info openai-community/gpt2
  expect_rc 1
  expect_file_contains "$T/failed.out" "token: token-set"
  expect_file_contains "$T/failed.err" "path=cli"
  expect_requests 0
  expect_invocations "hf models info" 1
}

test_hf_auth_whoami_with_the_token_from_the_secrets_store() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  hf_env
  no_cli
  unset HF_TOKEN
  printf 'hf_storedtoken456\n' | ipfsacc secrets set hf_token >/dev/null 2>&1 ||
    fail "secrets set failed"
  capture who ipfsacc hf auth whoami
  expect_rc 0
  expect_eq $'\e[1muser: \e[0m julien-c\n\e[1morgs: \e[0m huggingface,blog-explorers\nAuthenticated through private endpoint: '"$API_URL" \
    "$(cat "$T/who.out")"
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"path":"/api/whoami-v2"'
  expect_contains "$log" '"authorization":"Bearer hf_storedtoken456"'
  expect_not_contains "$(grep -o '"path":"[^"]*"' "$API_DIR/requests.log")" hf_stored
  if grep -rqa hf_storedtoken456 "$IPFSACC_DIR"; then
    fail "the token is in the cache directory"
  fi
  NO_COLOR=1 capture plain ipfsacc hf auth whoami
  expect_eq $'user:  julien-c\norgs:  huggingface,blog-explorers\nAuthenticated through private endpoint: '"$API_URL" \
    "$(cat "$T/plain.out")"
  capture hit ipfsacc -v hf auth whoami
  expect_file_contains "$T/hit.err" "ipfsacc: HIT"
  expect_requests 2
}

test_hf_legacy_huggingface_cli_whoami() {
  hf_env
  no_cli
  NO_COLOR=1 capture who ipfsacc huggingface-cli whoami
  expect_rc 0
  expect_eq $'\xe2\x9a\xa0\xef\xb8\x8f  Warning: \'huggingface-cli whoami\' is deprecated. Use \'hf auth whoami\' instead.\nuser:  julien-c\norgs:  huggingface,blog-explorers\nAuthenticated through private endpoint: '"$API_URL" \
    "$(cat "$T/who.out")"
  capture other ipfsacc huggingface-cli models info gpt2
  expect_rc 127
  expect_file_contains "$T/other.err" "install huggingface-cli (pip install -U huggingface_hub)"
}

test_hf_missing_repository_is_cached_for_the_negative_ttl() {
  hf_env
  no_cli
  capture missing ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_eq $'Model \e[1morg/missing\e[0m not found.' "$(cat "$T/missing.out")"
  expect_file_contains "$T/missing.err" "stored as not found for 1m (rule hf/models-info negative_ttl)"
  clock_advance 10
  capture again ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_file_contains "$T/again.err" "ipfsacc: HIT"
  expect_file_contains "$T/again.err" "age=10s expires_in=50s"
  expect_same_file "$T/missing.out" "$T/again.out" "replayed not-found"
  expect_requests 1
  # A minute after it was stored, the API is asked again.
  clock_advance 50
  capture later ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_file_contains "$T/later.err" "ipfsacc: MISS"
  expect_requests 2
  # A missing revision of an existing repository is not-found too.
  capture rev ipfsacc hf models info openai-community/gpt2 --revision nope
  expect_rc 1
  expect_eq $'Revision \e[1mnope\e[0m not found on \e[1mopenai-community/gpt2\e[0m.' "$(cat "$T/rev.out")"
  expect_contains "$(cat "$API_DIR/requests.log")" '"path":"/api/models/openai-community/gpt2/revision/nope"'
}

test_hf_missing_repository_without_a_negative_ttl_is_not_cached() {
  hf_env
  no_cli
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc/wrappers"
  sed -e 's/, "negative_ttl": "[^"]*"//' -e 's/"negative_match": "[^"]*", //' "$IPFSACC_SOURCE_DIR/wrappers/hf.json" \
    >"$XDG_CONFIG_HOME/ipfsacc/wrappers/hf.json"
  grep -q '"negative_' "$XDG_CONFIG_HOME/ipfsacc/wrappers/hf.json" &&
    fail "the rule file still has a negative_ttl"
  capture missing ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_file_contains "$T/missing.err" "not stored (not found; rule hf/models-info has no negative_ttl)"
  capture again ipfsacc hf models info org/missing
  expect_rc 1
  expect_requests 2
  # Anonymous, the Hub answers 401 for a missing repository: hf's same
  # message, never stored.
  unset HF_TOKEN
  capture anon ipfsacc hf models info org/missing
  expect_rc 1
  expect_eq $'Model \e[1morg/missing\e[0m not found.' "$(cat "$T/anon.out")"
}

# On the CLI path, hf's own not-found message (the rule's negative_match) is
# kept for the negative_ttl too; another failure is not.
test_hf_cli_not_found_is_cached_for_the_negative_ttl() {
  hf_env
  cat >"$T/bin/hf" <<'SH'
#!/bin/sh
[ "$1" = version ] && { echo 1.1.0; exit 0; }
echo "hf $*" >>"$FAKE_LOG"
case $3 in
  org/missing) printf 'Model \033[1m%s\033[0m not found.\n' "$3"; exit 1 ;;
  *) echo "Traceback (most recent call last):" >&2; exit 1 ;;
esac
SH
  chmod +x "$T/bin/hf"
  capture first ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_eq $'Model \e[1morg/missing\e[0m not found.' "$(cat "$T/first.out")"
  expect_file_contains "$T/first.err" "path=cli"
  expect_file_contains "$T/first.err" "hf: exit 1, stored as not found for 1m (rule hf/models-info negative_ttl)"
  capture second ipfsacc -v hf models info org/missing
  expect_rc 1
  expect_file_contains "$T/second.err" "ipfsacc: HIT"
  expect_same_file "$T/first.out" "$T/second.out" "replayed not-found"
  expect_invocations "hf models info org/missing" 1
  capture broken ipfsacc hf models info org/broken
  capture broken2 ipfsacc hf models info org/broken
  expect_rc 1
  expect_invocations "hf models info org/broken" 2
  expect_requests 0
}

# kept_as_not_found_for_a_minute LABEL: `hf models info org/missing` with
# --cache-failures fails, is stored as not found for the rule's negative_ttl
# (1m), is a hit 10 s later and a miss once the minute is over.
kept_as_not_found_for_a_minute() {
  capture "$1" ipfsacc -v --cache-failures hf models info org/missing
  expect_rc 1
  expect_file_contains "$T/$1.err" "stored as not found for 1m (rule hf/models-info negative_ttl)"
  clock_advance 10
  capture "$1_hit" ipfsacc -v --cache-failures hf models info org/missing
  expect_file_contains "$T/$1_hit.err" "age=10s expires_in=50s"
  clock_advance 50
  capture "$1_later" ipfsacc -v --cache-failures hf models info org/missing
  expect_file_contains "$T/$1_later.err" "ipfsacc: MISS"
}

# --cache-failures keeps failures, but a not-found answer only for the
# rule's negative_ttl, on both paths alike: the CLI's negative_match and
# the HTTP path's 404 give the same lifetime.
test_cache_failures_keeps_not_found_for_the_negative_ttl_on_both_paths() {
  hf_env
  cat >"$T/bin/hf" <<'SH'
#!/bin/sh
[ "$1" = version ] && { echo 1.1.0; exit 0; }
echo "hf $*" >>"$FAKE_LOG"
printf 'Model \033[1m%s\033[0m not found.\n' "$3"
exit 1
SH
  chmod +x "$T/bin/hf"
  kept_as_not_found_for_a_minute cli
  expect_file_contains "$T/cli.err" "path=cli"
  expect_invocations "hf models info org/missing" 2
  expect_requests 0

  # The same call over HTTP, in a cache of its own.
  rm -f "$T/bin/hf"
  no_cli
  export IPFSACC_DIR=$T/http-cache
  kept_as_not_found_for_a_minute http
  expect_requests 2
}

test_hf_server_error_is_reported_on_stderr_and_not_cached() {
  hf_env
  no_cli
  scenario 500
  capture broken ipfsacc hf models info openai-community/gpt2
  expect_rc 1
  expect_empty "$T/broken.out"
  expect_file_contains "$T/broken.err" \
    "huggingface_hub.errors.HfHubHTTPError: 500 Server Error: Internal Server Error for url: $API_URL/api/models/openai-community/gpt2"
  capture ok ipfsacc hf models info openai-community/gpt2
  expect_rc 0
  expect_requests 2
}

test_hf_unmapped_options_exit_127_with_the_install_hint() {
  hf_env
  no_cli
  capture sort ipfsacc hf models ls --sort likes
  expect_rc 127
  expect_file_contains "$T/sort.err" "hf: command not found"
  expect_file_contains "$T/sort.err" "install hf (pip install -U huggingface_hub)"
  capture expand ipfsacc hf models info openai-community/gpt2 --expand likes
  expect_rc 127
  capture files ipfsacc hf models ls openai-community/gpt2
  expect_rc 127
  capture download ipfsacc hf download openai-community/gpt2
  expect_rc 127
  expect_requests 0
}

# ---------------------------------------------------------------------------
# vastai: the CLI first; the REST API for the --raw forms.

vast_env() {
  start_api vastai
  export VAST_URL=$API_URL VAST_API_KEY=vast_test_key_123
}

expected_vast_user() {
  cat <<'JSON'
{
 "balance": 12.5,
 "balance_threshold": 5,
 "balance_threshold_enabled": false,
 "billaddress_city": "London",
 "billaddress_country": "GB",
 "billaddress_line1": "1 Analytical St",
 "billaddress_line2": null,
 "billaddress_zip": "N1",
 "can_pay": true,
 "credit": 40.25,
 "email": "ada@example.com",
 "email_verified": true,
 "fullname": "Ada Lovelace",
 "has_billing": true,
 "has_payout": false,
 "id": 31337,
 "last4": "4242",
 "paypal_email": null,
 "rights": null,
 "sid": "session-1",
 "ssh_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ada@example",
 "user": "ada@example.com",
 "username": "ada"
}
JSON
}

test_vastai_show_user_falls_back_when_the_cli_is_missing() {
  vast_env
  no_cli
  capture first ipfsacc -v vastai show user --raw
  expect_rc 0
  expected_vast_user >"$T/expected.out"
  expect_same_file "$T/expected.out" "$T/first.out" "vastai show user --raw output"
  expect_file_contains "$T/first.err" "path=sdk (fallback: vastai is not on IPFSACC_PATH)"
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"method":"GET","path":"/api/v0/users/current?owner=me"'
  expect_contains "$log" '"authorization":"Bearer vast_test_key_123"'
  expect_not_contains "$log" 'api_key='
  capture second ipfsacc -v vastai show user --raw
  expect_file_contains "$T/second.err" "ipfsacc: HIT"
  expect_same_file "$T/expected.out" "$T/second.out" "replayed output"
  expect_requests 1
}

test_vastai_show_instances_and_machines() {
  vast_env
  no_cli
  capture inst ipfsacc vastai show instances --raw
  expect_rc 0
  local out
  out=$(cat "$T/inst.out")
  expect_contains "$out" $'[\n {\n  "actual_status": "running",\n  "cpu_ram": 64300,\n  "cur_state": "running",\n  "disk_space": 40,\n  "dph_total": 0.3466666666666667,\n  "extra_env": [\n   [\n    "TZ",\n    "UTC"\n   ],'
  expect_contains "$out" $'  "ports": {\n   "22/tcp": [\n    {\n     "HostIp": "0.0.0.0",\n     "HostPort": "31235"\n    }\n   ]\n  },'
  expect_contains "$out" $'  "start_date": 1712003600.25,\n  "status_msg": "success, running pytorch/pytorch_latest/ssh",\n  "uptime_mins": 61.5\n }\n]'
  capture mach ipfsacc vastai show machines --raw
  expect_rc 0
  # vast-cli prints the whole answer of show machines, not its list.
  expect_contains "$(cat "$T/mach.out")" $'{\n "machines": [\n  {\n   "credit_discount_max": 0.4,'
  expect_contains "$(cat "$T/mach.out")" $'   "hostname": "rig-stockholm-01",\n   "id": 4200,\n   "listed": true,'
  local log
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"path":"/api/v0/instances?owner=me"'
  expect_contains "$log" '"path":"/api/v0/machines?owner=me"'
}

test_vastai_search_offers_posts_the_query_and_filters_rented() {
  vast_env
  no_cli
  capture offers ipfsacc vastai search offers 'gpu_name in [RTX_4090,RTX_3090]' 'cpu_ram>=32' --raw -o 'dph-'
  expect_rc 0
  local log out
  log=$(cat "$API_DIR/requests.log")
  expect_contains "$log" '"method":"POST","path":"/api/v0/bundles/"'
  expect_contains "$log" '{\"verified\": {\"eq\": true}, \"external\": {\"eq\": false}, \"rentable\": {\"eq\": true}, \"rented\": {\"eq\": false}, \"gpu_name\": {\"in\": [\"RTX 4090\", \"RTX 3090\"]}, \"cpu_ram\": {\"gte\": 32000.0}, \"order\": [[\"dph_total\", \"desc\"]], \"type\": \"on-demand\", \"allocated_storage\": 5.0}'
  out=$(cat "$T/offers.out")
  # The API returned 1001 and the rented 1002; vast-cli keeps 1001 only.
  expect_contains "$out" $'[\n {\n  "ask_contract_id": 1001,\n  "bundle_id": 501,'
  expect_contains "$out" $'  "extra": {\n   "note": "Donn\\u00e9es"\n  },'
  expect_not_contains "$out" '"id": 1002'
  expect_eq 1 "$(grep -c '"ask_contract_id"' "$T/offers.out")" "offers printed"
  capture hit ipfsacc -v vastai search offers 'gpu_name in [RTX_4090,RTX_3090]' 'cpu_ram>=32' --raw -o 'dph-'
  expect_file_contains "$T/hit.err" "ipfsacc: HIT"
  expect_requests 1
  # An unknown field is vast-cli's warning on stderr.
  capture odd ipfsacc vastai search offers 'num_gpus=1 colour=red' --raw
  expect_rc 0
  expect_file_contains "$T/odd.err" "Warning: Unrecognized field: colour, see list of recognized fields."
}

test_vastai_no_fallback_on_an_ordinary_failure() {
  vast_env
  FAKE_EXIT=1 capture failed ipfsacc -v vastai show instances --raw
  expect_rc 1
  expect_file_contains "$T/failed.err" "path=cli"
  expect_requests 0
  expect_invocations "vastai show instances" 1
}

# vast-cli reports an API error on stdout and exits 0: the rule file's
# failure_match tells it from an answer, and it is not stored.
test_vastai_cli_error_with_exit_0_is_not_cached() {
  cat >"$T/bin/vastai" <<'SH'
#!/bin/sh
[ "$1" = --version ] && { echo "vastai 0.3.1"; exit 0; }
echo run >>"$T_RUNS"
echo "failed with error 401: Invalid user key"
SH
  chmod +x "$T/bin/vastai"
  export T_RUNS=$T/runs
  capture first ipfsacc -v vastai show user --raw
  expect_rc 0
  expect_eq "failed with error 401: Invalid user key" "$(cat "$T/first.out")"
  expect_file_contains "$T/first.err" "path=cli"
  capture second ipfsacc -v vastai show user --raw
  expect_rc 0
  expect_eq "failed with error 401: Invalid user key" "$(cat "$T/second.out")"
  expect_not_contains "$(cat "$T/second.err")" "HIT "
  expect_eq 2 "$(wc -l <"$T/runs")" "vastai runs"
  expect_stat uncached_failures 2
}

test_vastai_key_from_the_secrets_store() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  vast_env
  no_cli
  unset VAST_API_KEY
  printf 'vast_stored_key_456\n' | ipfsacc secrets set vast_api_key >/dev/null 2>&1 ||
    fail "secrets set failed"
  capture user ipfsacc vastai show user --raw
  expect_rc 0
  expect_contains "$(cat "$API_DIR/requests.log")" '"authorization":"Bearer vast_stored_key_456"'
  expect_not_contains "$(grep -o '"path":"[^"]*"' "$API_DIR/requests.log")" vast_stored
  if grep -rqa vast_stored_key_456 "$IPFSACC_DIR"; then
    fail "the key is in the cache directory"
  fi
  expect_not_contains "$(cat "$T/user.out")" vast_secret_from_the_server
}

test_vastai_http_errors_are_printed_like_vast_cli_and_not_cached() {
  vast_env
  no_cli
  scenario 404
  capture missing ipfsacc -v vastai show user --raw
  expect_rc 0
  expect_eq "failed with error 404: Not found." "$(cat "$T/missing.out")"
  expect_file_contains "$T/missing.err" "not stored (not found; rule vastai/show-user has no negative_ttl)"
  capture ok ipfsacc vastai show user --raw
  expect_rc 0
  expect_requests 2
  export VAST_API_KEY=wrong
  capture denied ipfsacc vastai show user --raw
  expect_rc 0
  expect_eq "failed with error 401: Invalid user key" "$(cat "$T/denied.out")"
  capture denied_again ipfsacc vastai show user --raw
  expect_requests 4
}

test_vastai_not_found_is_cached_for_a_rule_negative_ttl() {
  vast_env
  no_cli
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc/wrappers"
  sed 's/{"id": "show-user",/{"id": "show-user", "negative_ttl": "45s",/' \
    "$IPFSACC_SOURCE_DIR/wrappers/vastai.json" >"$XDG_CONFIG_HOME/ipfsacc/wrappers/vastai.json"
  scenario 404
  capture missing ipfsacc -v vastai show user --raw
  expect_eq "failed with error 404: Not found." "$(cat "$T/missing.out")"
  expect_file_contains "$T/missing.err" "stored as not found for 45s (rule vastai/show-user negative_ttl)"
  capture again ipfsacc -v vastai show user --raw
  expect_file_contains "$T/again.err" "ipfsacc: HIT"
  expect_same_file "$T/missing.out" "$T/again.out" "replayed not-found"
  expect_requests 1
}

test_vastai_unmapped_calls_exit_127_with_the_install_hint() {
  vast_env
  no_cli
  capture table ipfsacc vastai show instances
  expect_rc 127
  expect_file_contains "$T/table.err" "vastai: command not found"
  expect_file_contains "$T/table.err" "install vastai (pip install vastai)"
  capture curl ipfsacc vastai show user --raw --curl
  expect_rc 127
  capture driver ipfsacc vastai search offers 'driver_version>=535.86.05' --raw
  expect_rc 127
  capture other ipfsacc vastai show invoices --raw
  expect_rc 127
  expect_requests 0
}

# ---------------------------------------------------------------------------
# A tool without an HTTP path.

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
