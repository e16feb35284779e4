# serve_remote: the proxy's answers shared through a remote tier, against a
# real redis-server on loopback. Two cache directories stand for two
# machines; the fake API's log shows which requests reached the upstream.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_redis.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib_serve.bash"

# Each case stops the Redis servers and the processes it started.
eval "$(declare -f setup_case | sed '1s/^setup_case/_redis_setup_case/')"
setup_case() {
  _redis_setup_case "$@"
  trap 'stop_started_processes; stop_all_redis' EXIT
}
stop_at_exit() { :; }

# Each cache hashes credentials under a namespace key of its own: a team
# names its account, as for calls, to share entries.
test_a_second_machine_answers_from_the_remote_without_the_upstream() {
  local port label
  start_redis port
  label=redis://127.0.0.1:$port
  export IPFSACC_REMOTE=$label$PATIENT IPFSACC_ACCOUNT=team
  start_api anthropic

  on a
  SERVE_NAME=serve-a start_serve
  messages first "$STREAM"
  expect_cache first MISS
  stop_serve
  expect_requests 1
  # Asked once: not again after the key's lock is taken.
  expect_eq 1 "$(remote_stat "$label" misses)" "remote misses of a"
  expect_eq 1 "$(rcli "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l)" "entries in Redis"
  [[ $(remote_stat "$label" bytes_sent) -gt 0 ]] || fail "machine a sent nothing"

  on b
  SERVE_NAME=serve-b start_serve
  messages second "$STREAM"
  expect_cache second HIT
  expect_requests 1 # the upstream saw nothing of b
  expect_same_file "$T/first.body" "$T/second.body" "the stream b replayed"
  expect_eq "$(header first x-ipfsacc-key)" "$(header second x-ipfsacc-key)" "key"
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of b"
  expect_stat tools.serve.hits 1

  # Copied into b's own cache: the next hit does not ask Redis.
  messages third "$STREAM"
  expect_cache third HIT
  expect_same_file "$T/first.body" "$T/third.body" "the stream b keeps"
  expect_eq 1 "$(remote_stat "$label" hits)" "remote hits of b after a local hit"
  stop_serve
  expect_requests 1
  expect_not_contains "$(cat "$T/serve-a.err" "$T/serve-b.err")" "warning"
}

# A read-only remote is asked, never written.
test_a_read_only_remote_gets_nothing() {
  local port
  start_redis port
  export IPFSACC_REMOTE="redis://127.0.0.1:$port$PATIENT|read-only"
  start_api anthropic
  on a
  start_serve
  messages first "$HELLO"
  expect_cache first MISS
  messages second "$HELLO"
  expect_cache second HIT
  stop_serve
  expect_eq 0 "$(rcli "$port" --scan --pattern 'ipfsacc:*' | wc -l)" "keys in Redis"
}

test_a_remote_that_is_down_never_fails_a_request() {
  local port
  start_redis port
  stop_all_redis # nothing listens there now
  export IPFSACC_REMOTE=redis://127.0.0.1:$port
  start_api anthropic
  on a
  start_serve
  messages first "$HELLO"
  expect_eq 200 "$(cat "$T/first.status")"
  expect_cache first MISS
  expect_file_contains "$T/first.body" 'Claude says 42'
  messages second "$STREAM"
  expect_cache second MISS
  messages third "$HELLO"
  expect_cache third HIT
  stop_serve
  expect_requests 2
  expect_eq 1 "$(grep -c 'warning' "$T/serve.err")" "warnings"
  expect_file_contains "$T/serve.err" "redis://127.0.0.1:$port"
  [[ $(remote_stat "redis://127.0.0.1:$port" down) -ge 1 ]] || fail "the remote is not counted down"
}

run_tests
