# redaction: secrets typed into argv never show in the clear in what the
# cache shows, exports or shares (list, show, export, remote entries),
# while keys still use the real arguments.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# Secrets in the forms people type them. The tool prints none of its
# arguments, so any of them found in an output came from the cache.
QUERY='repos/a/b?access_token=qpvalue111&per_page=5'
BEARER='Bearer brvalue222'
GLUED=-pmyvalue333
SLACK=xoxb-slack444
JWT=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqd3Q1NTUifQ.sigvalue555
STORED=storedvalue666
CLEAR=(qpvalue111 brvalue222 myvalue333 slack444 eyJzdWIiOiJqd3Q1NTUifQ
  sigvalue555 "$STORED")

# quiet_tool: a command on PATH that prints "done" whatever its arguments.
quiet_tool() {
  printf '#!/bin/sh\necho done\n' >"$T/bin/quiet"
  chmod 755 "$T/bin/quiet"
}

# store_secret NAME VALUE: VALUE held by the secrets store under NAME.
store_secret() {
  printf '%s\n' "$2" | ipfsacc secrets set "$1" >/dev/null 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set $1 failed"; }
}

# call_with_secrets NAME: the quiet tool run through the cache with every
# secret of the list in its argv.
call_with_secrets() {
  run_wrapped "$1" run -- quiet api "$QUERY" "$BEARER" "$GLUED" "$SLACK" \
    "$JWT" "$STORED"
  expect_rc 0
}

# expect_no_clear FILE...: none of the clear values is in any FILE.
expect_no_clear() {
  local f v
  for f in "$@"; do
    for v in "${CLEAR[@]}"; do
      if grep -aqF -- "$v" "$f"; then
        fail "$v in the clear in $(basename "$f")"
      fi
    done
  done
}

test_list_show_and_export_redact_typed_secrets() {
  quiet_tool
  store_secret my_api_key "$STORED"
  call_with_secrets a
  capture l ipfsacc list
  expect_rc 0
  expect_file_contains "$T/l.out" "access_token=***&per_page=5"
  expect_file_contains "$T/l.out" "'Bearer ***'"
  expect_file_contains "$T/l.out" "-p***"
  local key
  key=$(grep -oE 'bafkrei[a-z2-7]{52}' "$T/l.out" | head -n 1)
  capture j ipfsacc list --json
  capture s ipfsacc show "$key"
  capture e ipfsacc export
  expect_rc 0
  capture car ipfsacc export --format car
  expect_rc 0
  expect_no_clear "$T/l.out" "$T/j.out" "$T/s.out" "$T/e.out" "$T/car.out"
}

test_a_secret_stored_later_is_redacted_too() {
  quiet_tool
  call_with_secrets a
  # The store learns the value after the entry was made: what is shown and
  # exported hides it all the same.
  store_secret later_secret "$STORED"
  capture l ipfsacc list
  capture e ipfsacc export
  expect_no_clear "$T/l.out" "$T/e.out"
}

test_keys_use_the_real_arguments() {
  quiet_tool
  local one='repos/a/b?access_token=first1111' two='repos/a/b?access_token=second222'
  run_wrapped a --explain run -- quiet api "$one"
  expect_explain a MISS
  run_wrapped b --explain run -- quiet api "$two"
  expect_explain b MISS
  run_wrapped c --explain run -- quiet api "$one"
  expect_explain c HIT
  run_wrapped d --explain run -- quiet -psecret1 x
  expect_explain d MISS
  run_wrapped e --explain run -- quiet -psecret2 x
  expect_explain e MISS
  capture l ipfsacc list
  expect_eq 4 "$(grep -c 'quiet' "$T/l.out")" "entries listed"
}

test_remote_entries_carry_no_clear_secret() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    skip "redis-server and redis-cli are needed"
  fi
  local port dir=$T/redis
  mkdir -p "$dir"
  port=$((20000 + RANDOM % 30000))
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/pid" --dir "$dir" --logfile "$dir/log" \
    >/dev/null 2>&1 || skip "could not start redis-server"
  trap 'kill -TERM "$(cat "$T/redis/pid" 2>/dev/null)" 2>/dev/null' EXIT
  wait_until 'redis-cli -p "$port" ping 2>/dev/null | grep -q PONG' "redis-server"
  export IPFSACC_REMOTE="redis://127.0.0.1:$port|timeout=60s|connect-timeout=10s"
  quiet_tool
  store_secret my_api_key "$STORED"
  call_with_secrets a
  local k n=0
  : >"$T/entries"
  while read -r k; do
    [[ -n $k ]] || continue
    redis-cli -p "$port" --raw GET "$k" >>"$T/entries"
    n=$((n + 1))
  done < <(redis-cli -p "$port" --scan --pattern 'ipfsacc:entry:*')
  expect_eq 1 "$n" "entries in the remote"
  expect_file_contains "$T/entries" "quiet api"
  expect_no_clear "$T/entries"
}

run_tests
