# tty: when stdout is a terminal the tool runs on a pseudo-terminal (it sees
# a terminal of the same width), and terminal and pipe answers are separate
# entries. `script` (util-linux/bsdutils) gives the calls a terminal.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

if ! command -v script >/dev/null; then
  echo "tty: skipped: script (bsdutils) is not installed" >&2
  exit 125
fi

# on_tty NAME COLS COMMAND_STRING: run COMMAND_STRING (shell syntax) with a
# terminal COLS wide as stdin, stdout and stderr; what the terminal shows goes
# to $T/NAME.tty, the exit status to rc.
on_tty() {
  local name=$1 cols=$2 cmd=$3
  SHELL=/bin/bash timeout --foreground -k 5 "$TEST_CALL_TIMEOUT" \
    script -qec "stty cols $cols rows 40; $cmd" /dev/null >"$T/$name.tty" 2>&1
  rc=$?
}

# real_gh: the path of GitHub's gh, not the fake one; fails when it is not
# installed.
real_gh() {
  local dir
  local IFS=:
  for dir in $PATH; do
    [[ $dir == "$FAKES" || $dir == "$T/bin" ]] && continue
    if [[ -x $dir/gh ]]; then
      printf '%s\n' "$dir/gh"
      return 0
    fi
  done
  return 1
}

# q WORD...: the words quoted for a shell command string.
q() { printf '%q ' "$@"; }

test_tool_sees_a_terminal() {
  on_tty direct 100 "FAKE_LOG='' $(q gh pr list -R o/r)"
  expect_file_contains "$T/direct.tty" "stdout: tty cols=100"
  on_tty miss 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_eq 0 "$rc" "exit status"
  expect_file_contains "$T/miss.tty" "stdout: tty cols=100"
  expect_same_file "$T/direct.tty" "$T/miss.tty" "terminal output (miss)"
  on_tty hit 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_same_file "$T/direct.tty" "$T/hit.tty" "terminal output (hit)"
  expect_invocations "gh pr list" 1
}

test_pipe_does_not_share_the_tty_entry() {
  on_tty t1 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_invocations "gh pr list" 1
  transparent p1 gh pr list -R o/r
  expect_file_contains "$T/p1.wrapped.out" "stdout: pipe"
  expect_invocations "gh pr list" 2
  transparent p2 gh pr list -R o/r
  expect_invocations "gh pr list" 2
  # Under a terminal, but no stream of the call is one: the pipe entry.
  # (With stderr still on the terminal a separate entry would be fair: the
  # tool may write differently to a terminal's stderr.)
  on_tty t2 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) </dev/null 2>/dev/null | cat"
  expect_file_contains "$T/t2.tty" "stdout: pipe"
  expect_invocations "gh pr list" 2
  on_tty t3 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_file_contains "$T/t3.tty" "stdout: tty"
  expect_invocations "gh pr list" 2
}

test_width_is_in_the_key() {
  on_tty w100 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  on_tty w120 120 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_file_contains "$T/w120.tty" "cols=120"
  expect_invocations "gh pr list" 2
  on_tty w100b 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_file_contains "$T/w100b.tty" "cols=100"
  expect_same_file "$T/w100.tty" "$T/w100b.tty" "terminal output at 100 columns"
  expect_invocations "gh pr list" 2
}

test_stderr_separate_from_terminal_stdout() {
  # stdout on the terminal, stderr to a file: each gets its own bytes.
  export FAKE_INTERLEAVE=1
  on_tty d 100 "FAKE_LOG='' $(q gh pr list -R o/r) 2>$(q "$T/d.err")"
  on_tty m 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) 2>$(q "$T/m.err")"
  on_tty h 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) 2>$(q "$T/h.err")"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal (miss)"
  expect_same_file "$T/d.err" "$T/m.err" "stderr file (miss)"
  expect_same_file "$T/d.tty" "$T/h.tty" "terminal (hit)"
  expect_same_file "$T/d.err" "$T/h.err" "stderr file (hit)"
  expect_invocations "gh pr list" 1
}

test_interleaving_on_the_terminal() {
  # Both streams on one terminal: the order on screen is the tool's. The
  # tool writes a line only once the last one is on screen
  # (FAKE_INTERLEAVE_SYNC), so the order does not depend on timing.
  export FAKE_INTERLEAVE=1
  FAKE_INTERLEAVE_SYNC=$T/d.tty on_tty d 100 "FAKE_LOG='' $(q vastai show instances)"
  FAKE_INTERLEAVE_SYNC=$T/m.tty on_tty m 100 "$(q "$IPFSACC_BIN" vastai show instances)"
  on_tty h 100 "$(q "$IPFSACC_BIN" vastai show instances)"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal (miss)"
  expect_same_file "$T/d.tty" "$T/h.tty" "terminal (hit)"
  expect_invocations "vastai show instances" 1
}

test_one_terminal_keeps_the_write_order() {
  # Both streams on one terminal and no pause between the tool's writes to
  # them: the tool must get one terminal for both, as it would directly, or
  # the order on screen is the order ipfsacc happened to read them in.
  export FAKE_BURST=40
  local i
  for i in 1 2 3 4 5; do
    on_tty "d$i" 100 "FAKE_LOG='' $(q gh pr list -R "o/r$i")"
    expect_file_contains "$T/d$i.tty" "a1 b1 a2 b2 a3 b3"
    on_tty "m$i" 100 "$(q "$IPFSACC_BIN" gh pr list -R "o/r$i")"
    expect_eq 0 "$rc" "exit status (miss $i)"
    expect_same_file "$T/d$i.tty" "$T/m$i.tty" "terminal (miss $i)"
    on_tty "h$i" 100 "$(q "$IPFSACC_BIN" gh pr list -R "o/r$i")"
    expect_same_file "$T/d$i.tty" "$T/h$i.tty" "terminal (hit $i)"
    expect_invocations "gh pr list -R o/r$i" 1
  done
}

test_one_terminal_entry_is_not_replayed_to_two() {
  # What was recorded on one terminal is one stream; a call whose stderr is
  # another terminal must not get it back on its stdout.
  export FAKE_BURST=3
  timeout -k 5 120 script -qec "tty >$(q "$T/other"); exec sleep 120" /dev/null \
    </dev/null >/dev/null 2>&1 &
  local other_pid=$!
  # shellcheck disable=SC2064 # the pid now: the local is gone at exit
  trap "kill $other_pid 2>/dev/null" EXIT
  wait_until '[[ -s $T/other ]]' "a second terminal"
  local other
  other=$(cat "$T/other")
  on_tty one 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_file_contains "$T/one.tty" "a1 b1 a2 b2 a3 b3"
  on_tty d 100 "FAKE_LOG='' $(q gh pr list -R o/r) 2>$(q "$other")"
  on_tty m 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) 2>$(q "$other")"
  expect_same_file "$T/d.tty" "$T/m.tty" "stdout's terminal (miss)"
  expect_invocations "gh pr list" 2
  on_tty h 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) 2>$(q "$other")"
  expect_same_file "$T/d.tty" "$T/h.tty" "stdout's terminal (hit)"
  on_tty one2 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_same_file "$T/one.tty" "$T/one2.tty" "one terminal (hit)"
  expect_invocations "gh pr list" 2
}

test_real_gh_miss_on_a_terminal() {
  # A terminal miss of real gh shows the same screen bytes as gh run
  # directly, with nothing that needs the network: the help of a cached
  # command (stdout, in colour on a terminal; kept, so a hit too), and the
  # same command without an account (how to log in, on stderr, status 4;
  # not kept).
  local gh
  gh=$(real_gh) || skip "gh is not installed"
  ln -s "$gh" "$T/bin/gh"
  local env="env -u GH_TOKEN -u GITHUB_TOKEN -u GH_ENTERPRISE_TOKEN -u GITHUB_ENTERPRISE_TOKEN GH_NO_UPDATE_NOTIFIER=1"
  on_tty d 100 "$env $(q "$gh" run list --help -R o/r)"
  expect_eq 0 "$rc" "exit status of gh --help"
  on_tty m 100 "$env $(q "$IPFSACC_BIN" gh run list --help -R o/r)"
  expect_eq 0 "$rc" "exit status (miss)"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal (miss)"
  on_tty h 100 "$env $(q "$IPFSACC_BIN" gh run list --help -R o/r)"
  expect_same_file "$T/d.tty" "$T/h.tty" "terminal (hit)"
  expect_stat hits 1
  on_tty d2 100 "$env $(q "$gh" run list -R o/r)"
  local direct_rc=$rc
  on_tty m2 100 "$env $(q "$IPFSACC_BIN" gh run list -R o/r)"
  expect_eq "$direct_rc" "$rc" "exit status (no account)"
  expect_same_file "$T/d2.tty" "$T/m2.tty" "terminal (no account, miss)"
}

test_stderr_is_a_terminal_too() {
  # A tool checks whether stderr is a terminal (progress bars, colours): with
  # both on the terminal it must see two terminals, as it would directly.
  export FAKE_SHOW_STDERR_TTY=1
  on_tty d 100 "FAKE_LOG='' $(q gh pr list -R o/r)"
  expect_file_contains "$T/d.tty" "stderr: tty"
  on_tty m 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal (miss)"
  # stderr redirected: the tool sees that too.
  on_tty d2 100 "FAKE_LOG='' $(q gh pr list -R o/r) 2>/dev/null"
  expect_file_contains "$T/d2.tty" "stderr: pipe"
  on_tty m2 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r) 2>/dev/null"
  expect_same_file "$T/d2.tty" "$T/m2.tty" "terminal, stderr to /dev/null (miss)"
}

test_exit_code_on_a_terminal() {
  export FAKE_EXIT=3 FAKE_STDERR="error: something"
  on_tty d 100 "FAKE_LOG='' $(q gh pr list -R o/r)"
  expect_eq 3 "$rc" "exit status (direct)"
  on_tty m 100 "$(q "$IPFSACC_BIN" gh pr list -R o/r)"
  expect_eq 3 "$rc" "exit status (wrapped)"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal"
}

test_binary_on_a_terminal() {
  # Bytes pass through the pseudo-terminal unchanged (no double CR-LF).
  export FAKE_BINARY=1
  on_tty d 100 "FAKE_LOG='' $(q gh api repos/o/r/tarball)"
  on_tty m 100 "$(q "$IPFSACC_BIN" gh api repos/o/r/tarball)"
  on_tty h 100 "$(q "$IPFSACC_BIN" gh api repos/o/r/tarball)"
  expect_same_file "$T/d.tty" "$T/m.tty" "terminal (miss)"
  expect_same_file "$T/d.tty" "$T/h.tty" "terminal (hit)"
}

test_signal_on_a_terminal() {
  # SIGTERM to ipfsacc while the tool runs on its pseudo-terminal.
  export FAKE_SLEEP_AFTER=300
  SHELL=/bin/bash timeout --foreground -k 5 120 script -qec "stty cols 100; $(q "$IPFSACC_BIN" gh pr list -R o/r) & echo \$! >$(q "$T/pid"); wait \$!; echo rc=\$?" /dev/null >"$T/s.tty" 2>&1 &
  local spid=$!
  wait_for_log "^gh pr list -R o/r$"
  wait_until '[[ -s $T/pid ]]' "the shell to write ipfsacc's pid"
  kill -TERM "$(cat "$T/pid")"
  wait "$spid"
  expect_file_contains "$T/s.tty" "rc=143"
  wait_for_log "^# gh got SIGTERM$"
}

run_tests
