# What the suites of `ipfsacc serve` share: the fake APIs of
# tests/fakes/http (the providers' wire format, SSE included, each request
# logged), a proxy in front of them, and curl as the client. Sourced after
# lib.bash.

if ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: node is not installed (the fake API servers need it)" >&2
  exit 125
fi
if ! command -v curl >/dev/null 2>&1; then
  echo "$SUITE: curl is not installed" >&2
  exit 125
fi

# Processes a case started, stopped when it ends (each case is a subshell
# of its own, with its own trap; a suite that sets another trap calls
# stop_started_processes from it).
PIDS=()
stop_started_processes() { kill "${PIDS[@]}" 2>/dev/null; }
stop_at_exit() { trap stop_started_processes EXIT; }

# start_api NAME: the fake server of API NAME in $T/api-NAME; sets API_URL
# and API_DIR.
start_api() {
  API_DIR=$T/api-$1
  mkdir -p "$API_DIR"
  node "$FAKES/http/server.mjs" "$1" "$API_DIR" 2>"$API_DIR/server.err" &
  PIDS+=($!)
  stop_at_exit
  wait_until "[[ -s $API_DIR/port ]]" "the fake $1 API to listen"
  API_URL=http://127.0.0.1:$(cat "$API_DIR/port")
  : >"$API_DIR/requests.log"
}

requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }
expect_requests() { expect_eq "$1" "$(requests)" "requests to the fake API"; }
# scenario WORD...: what the fake API does next (see tests/fakes/http/server.mjs).
scenario() { printf '%s\n' "$@" >"$API_DIR/scenario"; }

# start_serve ARGS...: ipfsacc serve on a free loopback port, in front of
# the fake API; sets PROXY (its base URL) and SERVE_PID. Its stderr is
# $T/$SERVE_NAME.err (SERVE_NAME: serve unless set).
start_serve() {
  local name=${SERVE_NAME:-serve}
  rm -f "$T/$name.port"
  "$IPFSACC_BIN" serve -v --listen 127.0.0.1:0 --port-file "$T/$name.port" \
    --upstream "anthropic=$API_URL" "$@" 2>"$T/$name.err" &
  SERVE_PID=$!
  PIDS+=($SERVE_PID)
  stop_at_exit
  wait_until "[[ -s $T/$name.port ]] || ! kill -0 $SERVE_PID 2>/dev/null" \
    "ipfsacc serve to listen"
  [[ -s $T/$name.port ]] || { _show "$T/$name.err" >&2; fail "ipfsacc serve did not start"; }
  PROXY=http://127.0.0.1:$(tr -d '\n' <"$T/$name.port")
}

# stop_serve: SIGTERM to the proxy, waited for (it drains what is in flight).
stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null
  wait "$SERVE_PID" 2>/dev/null
}

# messages NAME BODY [CURL ARGS...]: POST BODY to the proxy's
# /anthropic/v1/messages with an API key; the body goes to $T/NAME.body,
# the headers to $T/NAME.head, the status to $T/NAME.status.
KEY=sk-ant-api03-first-secret-key
messages() {
  local name=$1 body=$2
  shift 2
  "$BOUNDED" curl -sS -N -o "$T/$name.body" -D "$T/$name.head" -w '%{http_code}' \
    -H "x-api-key: $KEY" -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' "$@" \
    --data-binary "$body" "$PROXY/anthropic/v1/messages" >"$T/$name.status" ||
    fail "curl $name failed"
}

# header NAME HEADER: the value of HEADER in response NAME.
header() {
  grep -i "^$2:" "$T/$1.head" | head -n 1 | cut -d: -f2- | tr -d ' \r'
}

expect_cache() { # NAME HIT|MISS|BYPASS
  expect_eq "$2" "$(header "$1" x-ipfsacc-cache)" "x-ipfsacc-cache of $1"
}

HELLO='{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'
STREAM='{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}'
