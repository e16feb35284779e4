# hostile_answers: what comes in is bounded. An HTTP answer larger than
# max_answer_size, counted as it is decompressed, is refused with one line
# and nothing is stored; a remote's output longer than its entry says is not
# read whole. Each call's largest resident size is measured (GNU time), so a
# cap that only rejects after reading everything fails here. The HTTP cases
# use the fake API servers (tests/fakes/http); the remote ones a real
# redis-server on loopback (the IPFS node's cases are in ipfs.bash).
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

if ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: node is not installed (the fake API servers need it)" >&2
  exit 125
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "$SUITE: GNU time is not installed (apt-get install time)" >&2
  exit 125
fi

# start_api NAME: the fake server of API NAME in $T/api-NAME; sets API_URL
# and API_DIR. Stopped when the case ends (with any Redis it started).
API_PIDS=()
REDIS_PIDFILES=()
stop_servers() {
  local f
  ((${#API_PIDS[@]})) && kill "${API_PIDS[@]}" 2>/dev/null
  for f in "${REDIS_PIDFILES[@]}"; do
    kill "$(cat "$f")" 2>/dev/null
  done
}
start_api() {
  API_DIR=$T/api-$1
  mkdir -p "$API_DIR"
  node "$FAKES/http/server.mjs" "$1" "$API_DIR" 2>"$API_DIR/server.err" &
  API_PIDS+=($!)
  trap stop_servers EXIT
  wait_until "[[ -s $API_DIR/port ]]" "the fake $1 API to start"
  API_URL=http://127.0.0.1:$(cat "$API_DIR/port")
  : >"$API_DIR/requests.log"
}

requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }

# scenario WORD...: the next requests' scripted answers (see server.mjs).
scenario() { printf '%s\n' "$@" >"$API_DIR/scenario"; }

groq_env() {
  start_api groq
  export GROQ_BASE_URL=$API_URL GROQ_API_KEY=gsk_test_key_123
}

# expect_nothing_stored: the cache holds no entry.
expect_nothing_stored() {
  capture listed ipfsacc list --json
  if grep -q bafkrei "$T/listed.out"; then
    _show "$T/listed.out" >&2
    fail "an entry was stored"
  fi
}

# on MACHINE: use the cache directory of one "machine" from now on.
on() { export IPFSACC_DIR=$T/machine-$1; }

# start_redis: a redis-server on a free port of 127.0.0.1; sets REDIS_PORT.
start_redis() {
  local try dir
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    skip "redis-server and redis-cli are not installed"
  for try in 1 2 3 4 5 6 7 8 9 10; do
    REDIS_PORT=$((20000 + RANDOM % 30000))
    dir=$T/redis-$REDIS_PORT
    mkdir -p "$dir"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
      --appendonly no --daemonize yes --pidfile "$dir/pid" --dir "$dir" \
      --logfile "$dir/log" >/dev/null 2>&1 || continue
    REDIS_PIDFILES+=("$dir/pid")
    trap stop_servers EXIT
    wait_until "[[ -s $dir/pid ]] && redis-cli -p $REDIS_PORT ping 2>/dev/null | grep -q PONG ||
      grep -q 'Address already in use' $dir/log 2>/dev/null" "redis-server to start"
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      return 0
    fi
  done
  fail "could not start redis-server"
}

# ---------------------------------------------------------------------------

test_an_http_answer_over_max_answer_size_is_refused() {
  groq_env
  export IPFSACC_MAX_ANSWER_SIZE=1M
  scenario big:400000000
  measured first groq --temperature 0 "hello"
  expect_rc 1
  expect_empty "$T/first.out"
  expect_eq 1 "$(wc -l <"$T/first.err")" "lines on stderr"
  expect_file_contains "$T/first.err" \
    "/openai/v1/chat/completions: the answer is larger than 1.0 MB; refused (max_answer_size)"
  expect_rss_below first 150
  expect_nothing_stored

  # An answer within the cap is taken and stored as ever.
  capture second ipfsacc groq --temperature 0 "hello"
  expect_rc 0
  expect_file_contains "$T/second.out" 'Fast answer to "hello"'
  capture third ipfsacc -v groq --temperature 0 "hello"
  expect_same_file "$T/second.out" "$T/third.out" "the stored answer"
  expect_file_contains "$T/third.err" "ipfsacc: HIT"
  expect_eq 2 "$(requests)" "requests to the fake API"
}

# 500 MB of zeros in about half a megabyte: decompression stops at the cap
# (100M by default), not at the end of the answer.
test_a_gzip_bomb_stops_at_the_default_cap() {
  groq_env
  scenario gzip:500000000
  measured first groq --temperature 0 "hello"
  expect_rc 1
  expect_empty "$T/first.out"
  expect_eq 1 "$(wc -l <"$T/first.err")" "lines on stderr"
  expect_file_contains "$T/first.err" \
    "the answer is larger than 100.0 MB; refused (max_answer_size)"
  expect_rss_below first 450
  expect_nothing_stored
  capture cap ipfsacc config get max_answer_size
  expect_eq 100M "$(cat "$T/cap.out")" "the default max_answer_size"
}

# A hostile Redis holds far more under a blob key than the entry says: the
# call reads at most one byte past the entry's size, rejects the blob and
# runs the tool.
test_a_redis_blob_longer_than_its_entry_is_not_read_whole() {
  start_redis
  local label=redis://127.0.0.1:$REDIS_PORT key
  export IPFSACC_REMOTE="$label|timeout=60s|connect-timeout=10s"
  run_direct direct gh pr list -R o/hostile
  on a
  run_wrapped first gh pr list -R o/hostile
  key=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'ipfsacc:blob:*' | head -n 1)
  [[ -n $key ]] || fail "no blob in Redis"
  head -c 100000000 /dev/zero | redis-cli -p "$REDIS_PORT" -x set "$key" >/dev/null
  expect_eq 100000000 "$(redis-cli -p "$REDIS_PORT" strlen "$key")" "the forged blob's size"

  on b
  measured second gh pr list -R o/hostile
  expect_same_file "$T/direct.out" "$T/second.out" "stdout of b"
  expect_rc 0
  expect_invocations "gh pr list -R o/hostile" 2 # rejected: the tool ran
  expect_file_contains "$T/second.err" "does not match its CID; rejected (over the"
  expect_eq 1 "$(grep -c 'warning: remote' "$T/second.err")" "warning lines"
  expect_rss_below second 80
}

run_tests
