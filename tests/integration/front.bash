# front: the default build's two programs. ipfsacc is a static front that
# answers cache hits itself; what may need libcurl (the HTTP path, remote
# tiers) and ipfsacc's own commands it hands to ipfsacc-dynamic, installed
# beside it, by exec'ing it with the same command line. Each case installs
# the pair in a directory of its own, as the package lays them out
# (bin/ipfsacc, libexec/ipfsacc/ipfsacc-dynamic), and takes the twin away to
# show what the front does alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

TWIN_BUILT=$(dirname "$IPFSACC_BIN")/ipfsacc-dynamic
if [[ ! -x $TWIN_BUILT ]]; then
  echo "$SUITE: $IPFSACC_BIN has no ipfsacc-dynamic beside it (not the default build)" >&2
  exit 125
fi

# install_pair: the front and its twin in $T/inst; FRONT and TWIN are their
# paths, and the wrapped calls below go to the front.
install_pair() {
  mkdir -p "$T/inst/bin" "$T/inst/libexec/ipfsacc"
  FRONT=$T/inst/bin/ipfsacc
  TWIN=$T/inst/libexec/ipfsacc/ipfsacc-dynamic
  cp "$IPFSACC_BIN" "$FRONT"
  cp "$TWIN_BUILT" "$TWIN"
  IPFSACC_BIN=$FRONT
}

# without_twin: the front on its own from here on.
without_twin() { rm -f "$TWIN"; }

# tripwire_twin: a twin that only notes it was run (in $T/twin.log) and
# exits 99, so a call the front hands over shows; expect_no_handover checks
# that none was.
tripwire_twin() {
  printf '#!/bin/sh\necho "$*" >>"%s"\nexit 99\n' "$T/twin.log" >"$TWIN"
  chmod 755 "$TWIN"
}
expect_no_handover() {
  [[ ! -s $T/twin.log ]] || fail "the front handed over: $(cat "$T/twin.log")"
}

# A fake API (tests/fakes/http) for the HTTP path; sets API_DIR.
API_PIDS=()
start_api() {
  command -v node >/dev/null 2>&1 || skip "node is not installed (the fake API needs it)"
  API_DIR=$T/api-$1
  mkdir -p "$API_DIR"
  node "$FAKES/http/server.mjs" "$1" "$API_DIR" 2>"$API_DIR/server.err" &
  API_PIDS+=($!)
  trap 'kill "${API_PIDS[@]}" 2>/dev/null' EXIT
  wait_until "test -s '$API_DIR/port'" "the fake $1 API to start"
  : >"$API_DIR/requests.log"
  API_URL=http://127.0.0.1:$(cat "$API_DIR/port")
}
requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }

test_the_front_is_static_and_answers_a_hit_alone() {
  install_pair
  # No program interpreter: the kernel starts it with no dynamic loader.
  if readelf -lW "$FRONT" | grep -q INTERP; then
    fail "$FRONT has a program interpreter"
  fi
  printf 'some input\n' >"$T/in"
  capture miss ipfsacc run -- cat "$T/in"
  expect_rc 0
  expect_eq "some input" "$(cat "$T/miss.out")"
  tripwire_twin
  capture hit ipfsacc run -- cat "$T/in"
  expect_rc 0
  expect_same_file "$T/miss.out" "$T/hit.out" "the hit"
  expect_empty "$T/hit.err"
  expect_no_handover
  # Alone, the front does everything a static build does: its own commands
  # too, and it says what it is.
  without_twin
  expect_stat hits 1
  capture version ipfsacc --version
  expect_file_contains "$T/version.out" "linking: fully static (the front"
}

test_own_commands_run_in_the_twin() {
  install_pair
  capture version ipfsacc --version
  expect_rc 0
  # The twin answers, and names the front that handed over.
  expect_file_contains "$T/version.out" "linking: static ("
  expect_file_contains "$T/version.out" "front: $FRONT (fully static"
  capture stats ipfsacc stats --format json
  expect_rc 0
  expect_file_contains "$T/stats.out" '"hits"'
}

test_the_http_path_is_handed_to_the_twin_and_its_answer_hit_by_the_front() {
  install_pair
  start_api groq
  export GROQ_BASE_URL=$API_URL GROQ_API_KEY=gsk_test_key_123
  capture first ipfsacc groq --temperature 0 "What is 6x7?"
  expect_rc 0
  expect_eq 'Fast answer to "What is 6x7?" from llama-3.3-70b-versatile at temperature 0.' \
    "$(cat "$T/first.out")"
  expect_eq 1 "$(requests)" "requests to the fake API"
  # The same call again is a hit: the front answers it by itself.
  tripwire_twin
  capture second ipfsacc groq --temperature 0 "What is 6x7?"
  expect_rc 0
  expect_same_file "$T/first.out" "$T/second.out" "the hit"
  expect_eq 1 "$(requests)" "requests to the fake API"
  expect_no_handover
  # A new call is handed over.
  capture third ipfsacc groq --temperature 0 "What is 7x8?"
  expect_eq 99 "$rc" "exit code of the tripwire twin"
  expect_eq 'groq --temperature 0 What is 7x8?' "$(cat "$T/twin.log")" "the twin's arguments"
  # Without its twin, the front says the HTTP path needs it.
  without_twin
  capture fourth ipfsacc groq --temperature 0 "What is 7x8?"
  expect_ne 0 "$rc" "exit code without the twin"
  expect_file_contains "$T/fourth.err" "ipfsacc-dynamic beside it"
  expect_eq 1 "$(requests)" "requests to the fake API"
}

test_piped_stdin_goes_with_a_handed_call() {
  install_pair
  # A remote tier (down) makes every local miss the twin's.
  export IPFSACC_REMOTE="redis://127.0.0.1:1|connect-timeout=200ms"
  printf 'line one\nline two\n' | capture small ipfsacc run -- cat
  expect_rc 0
  expect_eq $'line one\nline two' "$(cat "$T/small.out")" "small stdin, through the twin"
  # Stdin over 8 MiB is spilled to a file while it is hashed: the file goes.
  head -c 9000000 /dev/urandom >"$T/big"
  cat "$T/big" | capture big ipfsacc run -- sha256sum
  expect_rc 0
  expect_eq "$(sha256sum <"$T/big")" "$(cat "$T/big.out")" "large stdin, through the twin"
  # The twin keyed both by the stdin the front read: the front hits them.
  tripwire_twin
  printf 'line one\nline two\n' | capture small2 ipfsacc run -- cat
  expect_same_file "$T/small.out" "$T/small2.out" "small stdin, hit"
  cat "$T/big" | capture big2 ipfsacc run -- sha256sum
  expect_same_file "$T/big.out" "$T/big2.out" "large stdin, hit"
  expect_no_handover
}

# A Redis remote needs no shared library (hiredis is linked in, and host
# names are looked up with the sources glibc builds in, when nsswitch.conf
# names no others): the front makes the whole call, a remote hit included.
test_a_redis_remote_is_the_fronts_own() {
  command -v redis-server >/dev/null || skip "redis-server is not installed"
  grep -qsE '^hosts:[[:space:]]*(files|dns)([[:space:]]+(files|dns))*[[:space:]]*$' /etc/nsswitch.conf ||
    skip "nsswitch.conf names host sources a static program loads"
  install_pair
  tripwire_twin
  local port dir
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 30000))
    dir=$T/redis-$port
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/pid" --dir "$dir" --logfile "$dir/log" >/dev/null 2>&1 &&
      wait_until "redis-cli -p $port ping 2>/dev/null | grep -q PONG || grep -qs 'in use' '$dir/log'" "redis-server" &&
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    port=
  done
  [[ -n $port ]] || fail "no redis-server started"
  REDIS_PIDFILE=$dir/pid
  trap 'kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null' EXIT
  export IPFSACC_REMOTE=redis://localhost:$port
  make_tool lister
  IPFSACC_DIR=$T/machine-a capture first ipfsacc run -- lister one two
  expect_rc 0
  # Another machine: a local miss, answered from Redis.
  IPFSACC_DIR=$T/machine-b capture second ipfsacc run -- lister one two
  expect_rc 0
  expect_same_file "$T/first.out" "$T/second.out" "the remote hit"
  expect_invocations lister 1
  expect_no_handover
  [[ $(redis-cli -p "$port" --scan --pattern 'ipfsacc:entry:*' | wc -l) == 1 ]] ||
    fail "no entry on Redis"
}

test_a_shim_handed_to_the_twin_skips_the_front() {
  install_pair
  make_git_repo "$W"
  start_api anthropic
  export ANTHROPIC_BASE_URL=$API_URL ANTHROPIC_API_KEY=sk-ant-test-789
  # A shim named claude points at the front; there is no other claude, so
  # the twin must not take the shim for the tool (it would exec the front,
  # which would hand over again, for ever).
  mkdir -p "$T/shims"
  ln -s "$FRONT" "$T/shims/claude"
  PATH=$T/shims:/usr/bin:/bin capture first "$BOUNDED" "$T/shims/claude" -p "What is 6x7?"
  expect_rc 0
  expect_eq 'Claude says 42 to "What is 6x7?" (claude-sonnet-4-5)' "$(cat "$T/first.out")"
  expect_eq 1 "$(requests)" "requests to the fake API"
}

test_configuration_warnings_are_said_once() {
  install_pair
  export IPFSACC_REMOTE="redis://127.0.0.1:1|connect-timeout=200ms"
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  printf 'no_such_setting = 1\n' >"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  capture first ipfsacc run -- echo hi
  expect_rc 0
  expect_eq hi "$(cat "$T/first.out")"
  expect_eq 1 "$(grep -c no_such_setting "$T/first.err")" "warnings about the setting"
}

run_tests
