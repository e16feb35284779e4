# serve_controls: what decides whether `ipfsacc serve` answers from the
# cache: GitHub's conditional requests (an expired answer renewed by a 304),
# the keys of the secrets store added to requests that carry none, the
# request's controls (Cache-Control, x-ipfsacc-cache), an upstream that is
# slow, the config keys of serve, and the line -v writes per request.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_serve.bash"

# start_github [ARGS...]: the fake GitHub API (github.mjs) in $T/api-github,
# counting its 304s in $API_DIR/304, its ETags salted with $API_DIR/salt.
start_github() {
  API_DIR=$T/api-github
  mkdir -p "$API_DIR"
  : >"$API_DIR/requests.log"
  node "$FAKES/http/github.mjs" --log "$API_DIR/requests.log" \
    --port-file "$API_DIR/port" --count-304 "$API_DIR/304" \
    --etag-salt "$API_DIR/salt" "$@" >/dev/null 2>"$API_DIR/server.err" &
  PIDS+=($!)
  stop_at_exit
  wait_until "[[ -s $API_DIR/port ]]" "the fake GitHub API to listen"
  API_URL=http://127.0.0.1:$(tr -d '\n' <"$API_DIR/port")
}

# start_serve ARGS...: ipfsacc serve -v on a free loopback port (LISTEN:
# another address), with no upstream of its own (lib_serve.bash's puts the
# fake API at /anthropic); sets PROXY and SERVE_PID. Its stderr is
# $T/serve.err (appended to: a case may restart it with the clock moved on).
start_serve() {
  rm -f "$T/serve.port"
  "$IPFSACC_BIN" serve -v --listen "${LISTEN:-127.0.0.1:0}" \
    --port-file "$T/serve.port" "$@" 2>>"$T/serve.err" &
  SERVE_PID=$!
  PIDS+=($SERVE_PID)
  stop_at_exit
  wait_until "[[ -s $T/serve.port ]] || ! kill -0 $SERVE_PID 2>/dev/null" \
    "ipfsacc serve to listen"
  [[ -s $T/serve.port ]] || { _show "$T/serve.err" >&2; fail "ipfsacc serve did not start"; }
  PROXY=http://127.0.0.1:$(tr -d '\n' <"$T/serve.port")
}

# get NAME PATH [CURL ARGS...]: GET the proxy's PATH; the body goes to
# $T/NAME.body, the headers to $T/NAME.head, the status to $T/NAME.status.
get() {
  local name=$1 path=$2
  shift 2
  "$BOUNDED" curl -sS -o "$T/$name.body" -D "$T/$name.head" -w '%{http_code}' \
    "$@" "$PROXY$path" >"$T/$name.status" || fail "curl $name failed"
}

# messages NAME BODY [CURL ARGS...]: POST BODY to /anthropic/v1/messages
# (with the API key $KEY unless NOKEY is set).
KEY=sk-ant-api03-client-own-key
messages() {
  local name=$1 body=$2
  shift 2
  local auth=(-H "x-api-key: $KEY")
  [[ -n ${NOKEY:-} ]] && auth=()
  "$BOUNDED" curl -sS -N -o "$T/$name.body" -D "$T/$name.head" -w '%{http_code}' \
    "${auth[@]}" -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' "$@" \
    --data-binary "$body" "$PROXY/anthropic/v1/messages" >"$T/$name.status" ||
    fail "curl $name failed"
}

header() { grep -i "^$2:" "$T/$1.head" | head -n 1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r'; }
expect_cache() { expect_eq "$2" "$(header "$1" x-ipfsacc-cache)" "x-ipfsacc-cache of $1"; }
expect_status() { expect_eq "$2" "$(cat "$T/$1.status")" "status of $1"; }

# The request lines of the upstream's log, one JSON field of line N.
logged() { sed -n "${1}p" "$API_DIR/requests.log"; }

HELLO='{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
OTHER='{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"other"}]}'
REPO=/github/repos/octo-org/hello

# ---------------------------------------------------------------------------
# GitHub's conditional requests.

test_an_expired_github_answer_is_renewed_by_a_304() {
  start_github
  start_serve --upstream "github=$API_URL"
  get first "$REPO"
  expect_status first 200
  expect_cache first MISS
  local etag
  etag=$(header first etag)
  expect_match "$etag" '^W/"[0-9a-f]{64}"$' "the fake's ETag"
  stop_serve
  # Past the 5 minutes a GitHub answer is kept.
  clock_advance 400
  start_serve --upstream "github=$API_URL"
  get second "$REPO"
  expect_status second 200
  expect_cache second REVALIDATED
  expect_same_file "$T/first.body" "$T/second.body" "the renewed answer"
  expect_eq "$(header first x-ipfsacc-key)" "$(header second x-ipfsacc-key)" "key"
  expect_requests 2
  expect_contains "$(logged 2)" "\"if-none-match\":\"${etag//\"/\\\"}\""
  expect_eq 1 "$(cat "$API_DIR/304")" "304s sent"
  expect_file_contains "$T/serve.err" \
    "ipfsacc serve: REVALIDATED $(header first x-ipfsacc-key) GET $REPO 200 route=github"
  expect_file_contains "$T/serve.err" "reason=expired"
  stop_serve
  # Renewed for 5 minutes from the 304: 200 s later (600 s after the first
  # answer, long past its first expiry) it is still a hit, with no request.
  clock_advance 200
  start_serve --upstream "github=$API_URL"
  get third "$REPO"
  expect_cache third HIT
  expect_same_file "$T/first.body" "$T/third.body" "the hit"
  expect_requests 2
  stats_json
  expect_stat tools.serve.hits 2
  expect_stat tools.serve.misses 1
}

test_a_new_version_of_an_expired_github_answer_replaces_it() {
  start_github
  start_serve --upstream "github=$API_URL"
  get first "$REPO"
  expect_cache first MISS
  stop_serve
  clock_advance 400
  echo v2 >"$API_DIR/salt" # the same path now has another ETag: a 200
  start_serve --upstream "github=$API_URL"
  get second "$REPO"
  expect_status second 200
  expect_cache second MISS
  expect_ne "$(header first etag)" "$(header second etag)" "the ETag"
  [[ -e $API_DIR/304 ]] && fail "the fake sent a 304"
  expect_file_contains "$T/serve.err" "reason=expired"
  get third "$REPO"
  expect_cache third HIT
  expect_eq "$(header second etag)" "$(header third etag)" "the stored ETag"
  expect_requests 2
}

test_a_client_conditional_request_gets_the_upstream_304_itself() {
  start_github
  start_serve --upstream "github=$API_URL"
  get first "$REPO"
  local etag
  etag=$(header first etag)
  stop_serve
  clock_advance 400
  start_serve --upstream "github=$API_URL"
  get own "$REPO" -H "If-None-Match: $etag"
  expect_status own 304
  expect_cache own MISS
  [[ -s $T/own.body ]] && fail "a 304 with a body"
  expect_eq 1 "$(cat "$API_DIR/304")" "304s sent"
  # The 304 is the client's: the entry stays expired, and the next request
  # without a validator revalidates it.
  get plain "$REPO"
  expect_cache plain REVALIDATED
  expect_same_file "$T/first.body" "$T/plain.body" "the stored answer"
  expect_eq 2 "$(cat "$API_DIR/304")" "304s sent"
}

# A Hub file at a commit never changes: kept long after the hour of the
# Hub's other answers, while the same file at main is fetched again.
test_a_hub_file_at_a_commit_is_kept_as_immutable() {
  start_api hf
  start_serve --upstream "hf=$API_URL"
  local at_commit=/hf/openai-community/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/config.json
  get first "$at_commit"
  get main /hf/openai-community/gpt2/resolve/main/config.json
  expect_status first 200
  expect_cache first MISS
  expect_cache main MISS
  stop_serve
  clock_advance $((7 * 24 * 3600))
  start_serve --upstream "hf=$API_URL"
  get second "$at_commit"
  expect_cache second HIT
  get main2 /hf/openai-community/gpt2/resolve/main/config.json
  expect_cache main2 MISS
  expect_requests 3
}

# ---------------------------------------------------------------------------
# Keys from the secrets store.

test_a_stored_key_is_added_to_a_request_without_one_and_kept_out_of_everything() {
  local secret=sk-ant-api03-stored-secret-0123456789
  printf '%s\n' "$secret" | ipfsacc secrets set anthropic_api_key >"$T/set.out" 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set failed"; }
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  NOKEY=1 messages first "$HELLO"
  expect_status first 200
  expect_cache first MISS
  expect_contains "$(logged 1)" "\"x-api-key\":\"$secret\""
  NOKEY=1 messages second "$HELLO"
  expect_cache second HIT
  expect_requests 1
  # The account is the hash of the key sent: the client's own key is
  # another tenant.
  messages own "$HELLO"
  expect_cache own MISS
  expect_ne "$(header first x-ipfsacc-key)" "$(header own x-ipfsacc-key)" "key"
  expect_contains "$(logged 2)" "\"x-api-key\":\"$KEY\""
  stop_serve
  capture list ipfsacc list
  capture show ipfsacc show "$(header first x-ipfsacc-key)"
  capture stats ipfsacc stats --format json
  capture export ipfsacc export "$T/cache.car"
  expect_eq 0 "$(cat "$T/show.rc")" "show's exit status"
  if grep -rqa -e stored-secret "$IPFSACC_DIR" "$T/serve.err" "$T/list.out" \
    "$T/show.out" "$T/show.err" "$T/stats.out" "$T/cache.car" 2>/dev/null; then
    fail "the stored key is in the cache, a listing, an export or the log"
  fi
}

test_a_stored_github_token_is_sent_as_bearer() {
  local token=ghp_stored_token_for_tests_0123456789
  printf '%s\n' "$token" | ipfsacc secrets set github_token >/dev/null 2>&1 ||
    fail "secrets set failed"
  start_github --token "$token"
  start_serve --upstream "github=$API_URL"
  get first "$REPO"
  expect_status first 200
  expect_contains "$(logged 1)" "\"authorization\":\"Bearer $token\""
  get second "$REPO"
  expect_cache second HIT
  if grep -rqa -e stored_token "$IPFSACC_DIR" "$T/serve.err"; then
    fail "the stored token is in the cache or the log"
  fi
}

# ---------------------------------------------------------------------------
# The request's controls.

test_cache_control_no_cache_refetches_and_stores() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  messages first "$HELLO"
  messages nocache "$HELLO" -H 'Cache-Control: no-cache'
  expect_cache nocache MISS
  expect_file_contains "$T/serve.err" "reason=no-cache"
  expect_requests 2
  messages after "$HELLO" -H 'x-ipfsacc-cache: only'
  expect_cache after HIT
  expect_requests 2
}

test_cache_control_no_store_passes_through_and_stores_nothing() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  messages nostore "$HELLO" -H 'Cache-Control: no-store'
  expect_cache nostore BYPASS
  expect_status nostore 200
  expect_file_contains "$T/serve.err" "reason=no-store"
  messages only "$HELLO" -H 'x-ipfsacc-cache: only'
  expect_status only 504
  expect_cache only MISS
  expect_requests 1
}

test_cache_control_max_age_refuses_an_older_answer() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  messages first "$HELLO"
  expect_cache first MISS
  stop_serve
  clock_advance 120
  start_serve --upstream "anthropic=$API_URL"
  messages young "$HELLO" -H 'Cache-Control: max-age=300'
  expect_cache young HIT
  messages old "$HELLO" -H 'Cache-Control: max-age=60'
  expect_cache old MISS
  expect_file_contains "$T/serve.err" "reason=max-age"
  expect_requests 2
  # What max-age refetched is stored, made now.
  messages again "$HELLO" -H 'Cache-Control: max-age=60'
  expect_cache again HIT
  expect_requests 2
}

test_x_ipfsacc_cache_refresh_off_and_only() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  messages only "$HELLO" -H 'x-ipfsacc-cache: only'
  expect_status only 504
  expect_file_contains "$T/only.body" ipfsacc_not_cached
  messages off "$HELLO" -H 'x-ipfsacc-cache: off'
  expect_cache off BYPASS
  expect_file_contains "$T/serve.err" "reason=off"
  messages first "$HELLO"
  expect_cache first MISS
  messages refresh "$HELLO" -H 'x-ipfsacc-cache: refresh'
  expect_cache refresh MISS
  expect_file_contains "$T/serve.err" "reason=refresh"
  expect_requests 3
  # `off` and `only` on a path that is not cached: passed through, and a 504.
  get models /anthropic/v1/models -H "x-api-key: $KEY" -H 'x-ipfsacc-cache: only'
  expect_status models 504
  expect_requests 3
}

# ---------------------------------------------------------------------------
# A slow upstream.

test_an_upstream_that_does_not_answer_in_time_is_a_504_and_the_server_goes_on() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL" --upstream-timeout 1s
  scenario slow:6
  local t0=$SECONDS
  messages slow "$HELLO"
  expect_status slow 504
  expect_file_contains "$T/slow.body" ipfsacc_upstream_timeout
  ((SECONDS - t0 < 5)) || fail "the 504 came after $((SECONDS - t0)) s"
  expect_file_contains "$T/serve.err" "504 route=anthropic"
  expect_file_contains "$T/serve.err" "reason=timeout"
  "$BOUNDED" curl -sS "$PROXY/healthz" >"$T/health.out" || fail "the server is gone"
  expect_eq ok "$(cat "$T/health.out")"
  messages next "$OTHER"
  expect_status next 200
  expect_cache next MISS
}

test_upstream_timeout_rejects_a_bad_duration() {
  capture bad ipfsacc serve --listen 127.0.0.1:0 --upstream-timeout soon
  expect_eq 2 "$(cat "$T/bad.rc")" "exit status"
  expect_file_contains "$T/bad.err" "--upstream-timeout soon"
}

# ---------------------------------------------------------------------------
# Config keys.

test_config_keys_give_upstreams_ttls_and_the_listen_address() {
  start_api anthropic
  ipfsacc config set serve_upstream.anthropic "$API_URL/" >/dev/null ||
    fail "config set serve_upstream.anthropic failed"
  ipfsacc config set ttl.serve/anthropic 30s >/dev/null || fail "config set ttl failed"
  capture bad ipfsacc config set serve_upstream.anthropic ftp://x
  expect_ne 0 "$(cat "$T/bad.rc")" "config set of a bad URL"
  # No --upstream: the config's.
  start_serve
  messages first "$HELLO"
  expect_status first 200
  expect_requests 1
  stop_serve
  # The route's TTL is 30 s, not the hour of the table.
  clock_advance 60
  start_serve
  messages second "$HELLO"
  expect_cache second MISS
  expect_file_contains "$T/serve.err" "reason=expired"
  expect_requests 2
  capture listen ipfsacc config get serve_listen
  expect_eq 127.0.0.1:8100 "$(cat "$T/listen.out")" "serve_listen's default"
}

test_serve_listen_and_a_stored_serve_token() {
  # A port of our own choosing would race with the machine; serve_listen is
  # shown to be read by refusing a non-loopback address without a token.
  ipfsacc config set serve_listen 0.0.0.0:0 >/dev/null || fail "config set failed"
  capture refused ipfsacc serve
  expect_eq 1 "$(cat "$T/refused.rc")" "exit status without a token"
  expect_file_contains "$T/refused.err" "listening on 0.0.0.0"
  printf 'tok-stored-0123\n' | ipfsacc secrets set serve_token >/dev/null 2>&1 ||
    fail "secrets set failed"
  start_api anthropic
  LISTEN=0.0.0.0:0 start_serve --upstream "anthropic=$API_URL"
  get none /anthropic/v1/models -H "x-api-key: $KEY"
  expect_status none 401
  get with /anthropic/v1/models -H "x-api-key: $KEY" -H 'x-ipfsacc-token: tok-stored-0123'
  # Let through to the fake API (which has no such endpoint: its 404).
  expect_ne 401 "$(cat "$T/with.status")" "status with the token"
  expect_requests 1
}

# ---------------------------------------------------------------------------
# serve -v.

test_the_verbose_line_says_what_where_how_much_and_why() {
  start_api anthropic
  start_serve --upstream "anthropic=$API_URL"
  messages first "$HELLO"
  messages second "$HELLO"
  get models /anthropic/v1/models -H "x-api-key: $KEY"
  local cid bytes
  cid=$(header first x-ipfsacc-key)
  bytes=$(wc -c <"$T/first.body" | tr -d ' ')
  local n='[0-9]+'
  grep -Eq "^ipfsacc serve: MISS $cid POST /anthropic/v1/messages 200 route=anthropic bytes=$bytes ms=$n reason=no-entry\$" "$T/serve.err" ||
    { _show "$T/serve.err" >&2; fail "no MISS line"; }
  grep -Eq "^ipfsacc serve: HIT $cid POST /anthropic/v1/messages 200 route=anthropic bytes=$bytes ms=$n\$" "$T/serve.err" ||
    { _show "$T/serve.err" >&2; fail "no HIT line"; }
  grep -Eq "^ipfsacc serve: BYPASS GET /anthropic/v1/models $n route=anthropic bytes=$n ms=$n reason=not-cached\$" "$T/serve.err" ||
    { _show "$T/serve.err" >&2; fail "no BYPASS line"; }
  # An answer that is not stored says so.
  scenario 500
  messages failed "$OTHER"
  grep -Eq "^ipfsacc serve: MISS [a-z0-9]+ POST /anthropic/v1/messages 500 route=anthropic bytes=$n ms=$n reason=no-entry stored=no\$" "$T/serve.err" ||
    { _show "$T/serve.err" >&2; fail "no MISS line of an answer not stored"; }
}

run_tests
