# signals: SIGTERM, SIGINT and SIGHUP sent to ipfsacc reach the tool, and
# ipfsacc then exits as the tool did (128+N, as a shell reports a signal).
# Started with SIGHUP ignored (under nohup, say), the suite would hand that
# on to the tools it execs, and a shell cannot trap a signal ignored when it
# started: start again with the default disposition.
if ((0x$(sed -n 's/^SigIgn:\t//p' /proc/$$/status) & 1)); then
  exec env --default-signal=HUP bash "${BASH_SOURCE[0]}" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# The fake tools sleep this long after their first output: far longer than
# any check waits, so a signal that is not forwarded shows as a wrong exit
# status (the tool's 0, or the watchdog's SIGKILL), not as a slow run.
TOOL_SLEEP=300
# A watchdog kills an ipfsacc that outlives the signal by this many seconds:
# a safety net against a hang, never reached by a passing run.
WATCHDOG=90

# start_watchdog PID: kill -9 PID if it outlives WATCHDOG seconds. Sets
# DOG. Its sleep holds none of the suite's output (CTest waits for every
# process that does) and stop_watchdog ends it with the dog.
start_watchdog() {
  (
    exec >/dev/null 2>&1
    sleep "$WATCHDOG" && kill -KILL "$1"
  ) &
  DOG=$!
}

stop_watchdog() {
  pkill -P "$DOG" 2>/dev/null
  kill "$DOG" 2>/dev/null
  wait "$DOG" 2>/dev/null
}

# send_signal SIG TARGET LOGLINE IPFSACC_ARGS...: start ipfsacc in the
# background (its own process group: job control is on, so SIGINT is not
# ignored as it is for background jobs of a script), wait until the fake tool
# has logged LOGLINE (its traps are in place then) and, with FAKE_SLEEP or
# FAKE_SLEEP_AFTER set, that it is in that pause; with AFTER_OUTPUT
# set, until ipfsacc has passed that text on to its stdout (the tool logs
# before it prints), send SIG to TARGET ("pid": ipfsacc only; "group": the
# whole process group, as Ctrl-C at a terminal does), and wait for it. Sets
# rc.
send_signal() {
  local sig=$1 target=$2 logline=$3
  shift 3
  set -m
  "$IPFSACC_BIN" "$@" >"$T/sig.out" 2>"$T/sig.err" &
  local pid=$!
  set +m
  wait_for_log "^$logline\$"
  # The fake tools in their pause (see long_pause in tests/fakes/fake-cli).
  if [[ -n ${FAKE_SLEEP:-}${FAKE_SLEEP_AFTER:-} ]]; then
    wait_for_log "^# ${logline%% *} pausing\$"
  fi
  if [[ -n ${AFTER_OUTPUT:-} ]]; then
    wait_until 'grep -qF -- "$AFTER_OUTPUT" "$T/sig.out"' "ipfsacc to pass on '$AFTER_OUTPUT'"
  fi
  if [[ $target == group ]]; then
    kill -s "$sig" -- "-$pid"
  else
    kill -s "$sig" "$pid"
  fi
  start_watchdog "$pid"
  wait "$pid"
  rc=$?
  stop_watchdog
}

# expect_forwarded SIG TOOL: the tool got SIG and ipfsacc exited 128+N (not
# the 0 of a tool that slept its time out, nor the watchdog's 137).
expect_forwarded() {
  local sig=$1 tool=$2
  expect_eq $((128 + $(kill -l "$sig"))) "$rc" "exit status of ipfsacc after SIG$sig"
  wait_for_log "^# $tool got SIG$sig\$"
}

test_term_int_hup_on_a_miss() {
  local sig
  export FAKE_SLEEP_AFTER=$TOOL_SLEEP
  for sig in TERM INT HUP; do
    : >"$FAKE_LOG"
    AFTER_OUTPUT="gh pr list -R o/$sig" \
      send_signal "$sig" pid "gh pr list -R o/$sig" gh pr list -R "o/$sig"
    expect_forwarded "$sig" gh
    # What the tool printed before the signal reached the user.
    expect_file_contains "$T/sig.out" "gh pr list -R o/$sig"
  done
}

test_killed_run_is_not_cached() {
  FAKE_SLEEP_AFTER=$TOOL_SLEEP send_signal TERM pid "gh pr list -R o/r" gh pr list -R o/r
  expect_forwarded TERM gh
  transparent a gh pr list -R o/r
  expect_rc 0
  expect_invocations "gh pr list" 2
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 2
}

test_signal_on_a_pass_through_call() {
  # A call no rule matches (ipfsacc may simply exec the tool).
  export FAKE_SLEEP=$TOOL_SLEEP
  local sig
  for sig in TERM INT HUP; do
    : >"$FAKE_LOG"
    send_signal "$sig" pid "gh browse $sig" gh browse "$sig"
    expect_forwarded "$sig" gh
  done
}

test_signal_on_a_write() {
  # A write runs as a child (ipfsacc invalidates after it): the signal must
  # still reach it, not leave it running on its own.
  export FAKE_SLEEP=$TOOL_SLEEP
  local sig
  for sig in TERM INT HUP; do
    : >"$FAKE_LOG"
    send_signal "$sig" pid "gh pr create -R o/r --title $sig" gh pr create -R o/r --title "$sig"
    expect_forwarded "$sig" gh
  done
  : >"$FAKE_LOG"
  send_signal TERM pid "code --install-extension x" code --install-extension x
  expect_forwarded TERM code
}

test_signal_on_run() {
  make_tool sigtool
  export FAKE_SLEEP=$TOOL_SLEEP
  local sig
  for sig in TERM INT HUP; do
    : >"$FAKE_LOG"
    send_signal "$sig" pid "sigtool $sig" run -- sigtool "$sig"
    expect_forwarded "$sig" sigtool
  done
}

test_sleep_without_traps() {
  # A child with default dispositions dies of the forwarded signal itself.
  set -m
  "$IPFSACC_BIN" run -- sleep 301.5 >"$T/out" 2>"$T/err" &
  local pid=$!
  set +m
  local child=
  wait_until 'child=$(pgrep -P "$pid" -x -f "sleep 301.5")' "ipfsacc to start the child"
  kill -TERM "$pid"
  start_watchdog "$pid"
  wait "$pid"
  rc=$?
  stop_watchdog
  expect_eq 143 "$rc" "exit status after SIGTERM"
  wait_until '! kill -0 "$child" 2>/dev/null' "the child (sleep 301.5) to die with ipfsacc"
}

test_ctrl_c_to_the_process_group() {
  # At a terminal Ctrl-C signals the whole foreground process group: the tool
  # may get SIGINT twice (from the terminal and forwarded); the result is
  # still one interrupted run and exit status 130.
  FAKE_SLEEP_AFTER=$TOOL_SLEEP send_signal INT group "gh pr list -R o/r" gh pr list -R o/r
  expect_forwarded INT gh
  transparent a gh pr list -R o/r
  expect_invocations "gh pr list" 2
}

test_graceful_shutdown_exit_code() {
  # A tool that handles SIGTERM and exits 0 (a clean shutdown): ipfsacc
  # reports 0 too, as the tool did, with what it printed on the way out.
  cat >"$T/bin/graceful" <<'EOF'
#!/bin/bash
trap 'echo "# graceful got SIGTERM" >>"$FAKE_LOG"; kill $s; echo bye; exit 0' TERM
echo "graceful${*:+ $*}" >>"$FAKE_LOG"
sleep 300 >/dev/null 2>&1 &
s=$!
wait $s
EOF
  chmod +x "$T/bin/graceful"
  send_signal TERM pid "graceful" run -- graceful
  expect_eq 0 "$rc" "exit status of a tool that exits 0 on SIGTERM"
  expect_file_contains "$T/sig.out" bye
}

run_tests
