# serve: the caching HTTP proxy, driven with curl against the fake APIs of
# tests/fakes/http (the providers' wire format, SSE included), which log
# every request they receive.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_serve.bash"

test_a_repeated_request_is_answered_from_the_cache_byte_for_byte() {
  start_api anthropic
  start_serve
  messages first "$HELLO"
  messages second "$HELLO"
  expect_eq 200 "$(cat "$T/first.status")"
  expect_eq 200 "$(cat "$T/second.status")"
  expect_cache first MISS
  expect_cache second HIT
  expect_same_file "$T/first.body" "$T/second.body" "the replayed body"
  expect_file_contains "$T/second.body" 'Claude says 42 to \"hello\"'
  expect_eq "$(header first x-ipfsacc-key)" "$(header second x-ipfsacc-key)" "key"
  expect_match "$(header first x-ipfsacc-key)" '^bafkrei[a-z2-7]{52}$'
  expect_eq req_018EeWyXxfu5pfWkrYcMdjWG "$(header second request-id)" "replayed header"
  expect_requests 1
  # What the upstream got: the client's credential and headers, and the
  # answer asked for unencoded.
  expect_file_contains "$API_DIR/requests.log" '"x-api-key":"sk-ant-api03-first-secret-key"'
  expect_file_contains "$API_DIR/requests.log" '"accept-encoding":"identity"'
  expect_file_contains "$T/serve.err" "ipfsacc serve: HIT $(header first x-ipfsacc-key) POST /anthropic/v1/messages 200"
  stats_json
  expect_stat tools.serve.hits 1
  expect_stat tools.serve.misses 1
  capture list ipfsacc list
  expect_file_contains "$T/list.out" "POST /anthropic/v1/messages"
}

test_a_streamed_answer_is_replayed_with_the_same_bytes() {
  start_api anthropic
  start_serve
  messages first "$STREAM"
  messages second "$STREAM"
  expect_cache first MISS
  expect_cache second HIT
  expect_match "$(header second content-type)" '^text/event-stream'
  expect_file_contains "$T/first.body" 'event: message_start'
  expect_file_contains "$T/first.body" 'event: message_stop'
  expect_same_file "$T/first.body" "$T/second.body" "the replayed stream"
  expect_requests 1
  # The stream and the plain answer are different requests.
  messages plain "$HELLO"
  expect_cache plain MISS
  expect_requests 2
}

test_a_stream_cut_short_is_not_stored() {
  start_api anthropic
  start_serve
  scenario cut
  messages cut "$STREAM"
  expect_cache cut MISS
  expect_file_contains "$T/cut.body" 'event: message_delta'
  if grep -q 'event: message_stop' "$T/cut.body"; then
    fail "the fake API did not cut the stream"
  fi
  messages whole "$STREAM"
  expect_cache whole MISS
  expect_file_contains "$T/whole.body" 'event: message_stop'
  messages again "$STREAM"
  expect_cache again HIT
  expect_requests 2
}

test_an_upstream_error_is_passed_on_and_not_stored() {
  start_api anthropic
  start_serve
  scenario 500
  messages failed "$HELLO"
  expect_eq 500 "$(cat "$T/failed.status")"
  expect_cache failed MISS
  expect_file_contains "$T/failed.body" '"api_error"'
  messages next "$HELLO"
  expect_eq 200 "$(cat "$T/next.status")"
  expect_cache next MISS
  messages last "$HELLO"
  expect_cache last HIT
  expect_requests 2
  stats_json
  expect_stat tools.serve.uncached_failures 1
}

test_two_credentials_never_share_an_entry() {
  start_api anthropic
  start_serve
  messages first "$HELLO"
  KEY=sk-ant-api03-second-secret-key messages second "$HELLO"
  expect_cache first MISS
  expect_cache second MISS
  expect_ne "$(header first x-ipfsacc-key)" "$(header second x-ipfsacc-key)" "keys of two accounts"
  KEY=sk-ant-api03-second-secret-key messages second_again "$HELLO"
  expect_cache second_again HIT
  expect_eq "$(header second x-ipfsacc-key)" "$(header second_again x-ipfsacc-key)" "key"
  expect_requests 2
  # The credentials are in no key, no log line and no stored byte.
  if grep -rqa -e first-secret -e second-secret "$IPFSACC_DIR" "$T/serve.err"; then
    fail "a credential was written to the cache or the log"
  fi
}

test_what_the_scrub_profile_drops_does_not_change_the_key() {
  start_api anthropic
  start_serve
  local a b
  a='{"model":"claude-sonnet-4-5","max_tokens":64,"metadata":{"user_id":"user_abc_session_1"},"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197; cch=1111;"},{"type":"text","text":"You are Claude Code."}],"messages":[{"role":"user","content":"hi"}]}'
  # Another session: other ids, other billing marker, members in another order.
  b='{"messages":[{"content":"hi","role":"user"}],"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197; cch=2222;"},{"text":"You are Claude Code.","type":"text"}],"max_tokens":64,"metadata":{"user_id":"user_abc_session_2"},"model":"claude-sonnet-4-5"}'
  messages first "$a" -H 'X-Claude-Code-Session-Id: 1111' -H 'x-stainless-retry-count: 0'
  messages second "$b" -H 'X-Claude-Code-Session-Id: 2222' -H 'x-stainless-retry-count: 1'
  expect_cache first MISS
  expect_cache second HIT
  expect_requests 1
  # What is not noise still counts: another system prompt is another key.
  messages third "${a/You are Claude Code./You are someone else.}"
  expect_cache third MISS
  expect_requests 2
}

test_the_request_controls() {
  start_api anthropic
  start_serve
  messages only "$HELLO" -H 'x-ipfsacc-cache: only'
  expect_eq 504 "$(cat "$T/only.status")"
  expect_requests 0
  messages off "$HELLO" -H 'x-ipfsacc-cache: off'
  expect_cache off BYPASS
  expect_eq 200 "$(cat "$T/off.status")"
  expect_requests 1
  messages first "$HELLO"
  expect_cache first MISS
  messages refresh "$HELLO" -H 'x-ipfsacc-cache: refresh'
  expect_cache refresh MISS
  expect_requests 3
  messages cached "$HELLO" -H 'x-ipfsacc-cache: only'
  expect_cache cached HIT
  expect_requests 3
}

# Identical requests at once make one upstream request: the first holds
# the key's lock while the upstream answers (slowly here, so that the others
# arrive meanwhile; one that arrives later is a hit all the same).
test_identical_concurrent_requests_make_one_upstream_request() {
  start_api anthropic
  start_serve
  scenario slow:1
  local i pids=()
  for i in $(seq 32); do
    messages "c$i" "$HELLO" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do
    wait "$i" || fail "a concurrent request failed"
  done
  expect_requests 1
  for i in $(seq 2 32); do
    expect_same_file "$T/c1.body" "$T/c$i.body" "answer $i"
  done
  expect_eq 1 "$(cat "$T"/c*.head | grep -ci '^x-ipfsacc-cache: MISS')" "misses"
}

# SIGTERM drains: a request in flight is answered whole and stored before
# the server exits.
test_sigterm_lets_the_request_in_flight_finish_and_store() {
  start_api anthropic
  start_serve
  scenario slow:1
  messages drained "$STREAM" &
  local client=$!
  wait_until '[[ $(requests) == 1 ]]' "the request to reach the upstream"
  kill -TERM "$SERVE_PID"
  wait "$client" || fail "the request in flight failed"
  wait "$SERVE_PID"
  expect_eq 0 "$?" "serve's exit status"
  expect_eq 200 "$(cat "$T/drained.status")"
  expect_file_contains "$T/drained.body" 'event: message_stop'
  rm -f "$T/serve.port"
  start_serve
  messages after "$STREAM"
  expect_cache after HIT
  expect_same_file "$T/drained.body" "$T/after.body" "the stored stream"
  expect_requests 1
}

# The other wire formats: Groq's OpenAI-compatible chat completions and
# Gemini's generateContent, each through its own route.
test_groq_and_gemini_requests_are_cached_on_their_routes() {
  start_api groq
  local groq_dir=$API_DIR groq_url=$API_URL
  start_api gemini
  local gemini_dir=$API_DIR gemini_url=$API_URL
  API_URL=$groq_url
  start_serve --upstream "groq=$groq_url" --upstream "gemini=$gemini_url"
  local i
  for i in 1 2; do
    "$BOUNDED" curl -sS -D "$T/groq$i.head" -o "$T/groq$i.body" \
      -H 'authorization: Bearer gsk_test_key_123' -H 'content-type: application/json' \
      --data-binary '{"model":"llama-3.3-70b-versatile","temperature":0,"messages":[{"role":"user","content":"hi"}]}' \
      "$PROXY/groq/openai/v1/chat/completions" || fail "curl groq failed"
    "$BOUNDED" curl -sS -D "$T/gemini$i.head" -o "$T/gemini$i.body" \
      -H 'x-goog-api-key: AIzaTestKey' -H 'content-type: application/json' \
      --data-binary '{"contents":[{"parts":[{"text":"hi"}]}]}' \
      "$PROXY/gemini/v1beta/models/gemini-2.5-flash:generateContent" || fail "curl gemini failed"
  done
  expect_cache groq1 MISS
  expect_cache groq2 HIT
  expect_cache gemini1 MISS
  expect_cache gemini2 HIT
  expect_file_contains "$T/groq2.body" 'Fast answer to \"hi\" from llama-3.3-70b-versatile at temperature 0.'
  expect_file_contains "$T/gemini2.body" 'Gemini says 42 to \"hi\" (gemini-2.5-flash)'
  expect_same_file "$T/groq1.body" "$T/groq2.body" "the groq answer"
  expect_same_file "$T/gemini1.body" "$T/gemini2.body" "the gemini answer"
  expect_eq 1 "$(wc -l <"$groq_dir/requests.log" | tr -d ' ')" "requests to groq"
  expect_eq 1 "$(wc -l <"$gemini_dir/requests.log" | tr -d ' ')" "requests to gemini"
  stats_json
  expect_stat tools.serve.hits 2
}

test_a_request_that_is_not_cached_passes_through() {
  start_api anthropic
  start_serve
  local i
  for i in 1 2; do
    "$BOUNDED" curl -sS -o "$T/models$i.body" -D "$T/models$i.head" \
      -H "x-api-key: $KEY" "$PROXY/anthropic/v1/models" || fail "curl failed"
    expect_cache "models$i" BYPASS
  done
  expect_requests 2
  expect_file_contains "$API_DIR/requests.log" '"method":"GET","path":"/v1/models"'
}

test_an_unreachable_upstream_is_a_502_and_the_server_goes_on() {
  start_api anthropic
  local live=$API_URL
  API_URL=http://127.0.0.1:9 # discard: nothing listens there
  start_serve
  messages dead "$HELLO"
  expect_eq 502 "$(cat "$T/dead.status")"
  expect_file_contains "$T/dead.body" 'ipfsacc_upstream_error'
  "$BOUNDED" curl -sS "$PROXY/healthz" >"$T/health.out" || fail "the server is gone"
  expect_eq ok "$(cat "$T/health.out")"
  kill "$SERVE_PID"
  wait "$SERVE_PID" 2>/dev/null
  API_URL=$live
}

test_serve_with_a_command_runs_it_against_a_proxy_and_exits_like_it() {
  start_api anthropic
  capture cmd ipfsacc serve --upstream "anthropic=$API_URL" -- sh -c '
    for i in 1 2; do
      curl -sS -D - -o /dev/null -H "x-api-key: sk-ant-x" -H "anthropic-version: 2023-06-01" \
        -H "content-type: application/json" --data-binary "$0" "$ANTHROPIC_BASE_URL/v1/messages" |
        grep -i "^x-ipfsacc-cache"
    done
    echo "openai=$OPENAI_BASE_URL"
    exit 7' "$HELLO"
  expect_rc 7
  expect_file_contains "$T/cmd.out" "x-ipfsacc-cache: MISS"
  expect_file_contains "$T/cmd.out" "x-ipfsacc-cache: HIT"
  expect_match "$(cat "$T/cmd.out")" 'openai=http://127\.0\.0\.1:[0-9]+/openai/v1'
  expect_requests 1
  capture missing ipfsacc serve -- no-such-command-anywhere
  expect_rc 127
}

test_a_non_loopback_address_needs_a_token() {
  capture open ipfsacc serve --listen 0.0.0.0:0
  expect_rc 1
  expect_file_contains "$T/open.err" "needs --token"
  expect_file_contains "$T/open.err" "refusing to start"
  capture bad ipfsacc serve --listen nowhere
  expect_rc 2
}

test_env_prints_the_client_variables() {
  capture bash ipfsacc serve --env
  expect_rc 0
  expect_file_contains "$T/bash.out" "export ANTHROPIC_BASE_URL='http://127.0.0.1:8100/anthropic'"
  expect_file_contains "$T/bash.out" "export OPENAI_BASE_URL='http://127.0.0.1:8100/openai/v1'"
  expect_file_contains "$T/bash.out" "export GITHUB_API_URL='http://127.0.0.1:8100/github'"
  capture fish ipfsacc serve --listen 127.0.0.1:9000 --env fish
  expect_file_contains "$T/fish.out" "set -gx HF_ENDPOINT 'http://127.0.0.1:9000/hf'"
  expect_file_contains "$T/fish.out" "set -gx GOOGLE_GEMINI_BASE_URL 'http://127.0.0.1:9000/gemini'"
}

# start_canned: the canned-answer server (tests/fakes/http/canned.mjs, which
# streams $CANNED_DIR/body from its file) as the Hugging Face upstream; sets
# CANNED_URL and CANNED_DIR.
start_canned() {
  CANNED_DIR=$T/canned
  mkdir -p "$CANNED_DIR"
  node "$FAKES/http/canned.mjs" "$CANNED_DIR" 2>"$CANNED_DIR/server.err" &
  PIDS+=($!)
  stop_at_exit
  wait_until "[[ -s $CANNED_DIR/port ]]" "the canned API to listen"
  CANNED_URL=http://127.0.0.1:$(cat "$CANNED_DIR/port")
}

# hf_get NAME PATH: GET the proxy's /hf PATH into $T/NAME.body and .head.
hf_get() {
  "$BOUNDED" curl -sS -o "$T/$1.body" -D "$T/$1.head" "$PROXY/hf$2" ||
    fail "curl $1 failed"
}

# peak_kb PID: the most the process has held resident, in kB.
peak_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

test_a_large_answer_is_kept_and_replayed_with_bounded_memory() {
  # Larger than what a recording holds in memory and than what a hit copies
  # into memory: recorded through a spill file the store takes over, and
  # replayed from a private copy.
  start_api anthropic
  start_canned
  head -c 70000000 /dev/urandom >"$CANNED_DIR/body"
  # Under AddressSanitizer (the test command's second build) freed memory
  # waits in its quarantine, 256 MB by default, and would count here: a
  # small one leaves what the proxy itself holds.
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64 \
    start_serve --upstream "hf=$CANNED_URL"
  hf_get first /org/model/resolve/main/model.bin
  expect_cache first MISS
  hf_get second /org/model/resolve/main/model.bin
  expect_cache second HIT
  expect_eq 1 "$(wc -l <"$CANNED_DIR/requests.log" | tr -d ' ')" "requests to the upstream"
  expect_same_file "$CANNED_DIR/body" "$T/first.body" "the answer passed on"
  expect_same_file "$CANNED_DIR/body" "$T/second.body" "the hit"
  expect_eq 70000000 "$(header second content-length)" "the hit's length"
  local kb
  kb=$(peak_kb "$SERVE_PID")
  ((kb < 64000)) || fail "the proxy held $((kb / 1000)) MB at its peak (the bound is 64 MB)"
  expect_eq "" "$(ls -A "$IPFSACC_DIR/tmp" 2>/dev/null)" "files left in the cache's tmp/"
}

test_an_answer_over_max_answer_size_passes_through_unkept() {
  start_api anthropic
  start_canned
  head -c 3000000 /dev/urandom >"$CANNED_DIR/body"
  IPFSACC_MAX_ANSWER_SIZE=2M start_serve --upstream "hf=$CANNED_URL"
  hf_get first /org/model/resolve/main/big.bin
  hf_get second /org/model/resolve/main/big.bin
  expect_cache first MISS
  expect_cache second MISS
  expect_eq 2 "$(wc -l <"$CANNED_DIR/requests.log" | tr -d ' ')" "requests to the upstream"
  expect_same_file "$CANNED_DIR/body" "$T/second.body" "the answer passed on"
  expect_eq "" "$(ls -A "$IPFSACC_DIR/tmp" 2>/dev/null)" "files left in the cache's tmp/"
  stats_json
  expect_stat tools.serve.stores 0
}

test_every_hit_of_a_burst_is_counted_once_it_is_answered() {
  # Hits that queue for the store are written together: by the time every
  # client has its answer, all of them are in the statistics and the
  # entry's hit count, with the server still running.
  start_api anthropic
  start_serve
  messages first "$HELLO"
  expect_cache first MISS
  local i pids=()
  for i in $(seq 32); do
    messages "h$i" "$HELLO" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do
    wait "$i" || fail "a concurrent request failed"
  done
  expect_eq 32 "$(cat "$T"/h*.head | grep -ci '^x-ipfsacc-cache: HIT')" "hits"
  stats_json
  expect_stat tools.serve.hits 32
  capture list ipfsacc list --json
  expect_rc 0
  expect_eq 32 "$(node -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log((Array.isArray(l) ? l : l.entries).map((e) => e.hits).join(" "))' "$T/list.out")" "the entry's hits"
}

# responses NAME BODY: POST BODY to the proxy's /openai/v1/responses; as
# messages does.
responses() {
  "$BOUNDED" curl -sS -N -o "$T/$1.body" -D "$T/$1.head" -w '%{http_code}' \
    -H 'authorization: Bearer sk-proj-test-key' -H 'content-type: application/json' \
    --data-binary "$2" "$PROXY/openai/v1/responses" >"$T/$1.status" ||
    fail "curl $1 failed"
}

test_a_responses_stream_is_kept_once_it_completes() {
  # The Responses API's stream ends with response.completed, not [DONE].
  start_api openai
  start_serve --upstream "openai=$API_URL"
  local body='{"model":"gpt-4.1","input":"hello","stream":true}'
  scenario cut
  responses cut "$body"
  expect_cache cut MISS
  expect_file_contains "$T/cut.body" 'event: response.output_text.done'
  if grep -q 'event: response.completed' "$T/cut.body"; then
    fail "the fake API did not cut the stream"
  fi
  responses whole "$body"
  expect_cache whole MISS
  expect_file_contains "$T/whole.body" 'event: response.completed'
  responses again "$body"
  expect_cache again HIT
  expect_same_file "$T/whole.body" "$T/again.body" "the replayed stream"
  expect_requests 2
}

run_tests
