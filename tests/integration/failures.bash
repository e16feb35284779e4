# failures: a failed run is passed through as it was and not cached, unless
# asked for; exit codes and deaths by signal are reported as a shell would.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

test_nonzero_exit_not_cached() {
  export FAKE_EXIT=1 FAKE_STDERR="HTTP 502: Bad Gateway (https://api.github.com/graphql)"
  transparent a gh pr list -R o/r
  expect_rc 1
  transparent b gh pr list -R o/r
  expect_rc 1
  expect_invocations "gh pr list" 2
  # Once the tool succeeds, the success is cached.
  unset FAKE_EXIT FAKE_STDERR
  transparent c gh pr list -R o/r
  transparent d gh pr list -R o/r
  expect_rc 0
  expect_invocations "gh pr list" 3
}

test_exit_codes_preserved() {
  local code
  for code in 1 2 3 42 100 126 127 255; do
    FAKE_EXIT=$code transparent "e$code" gh repo view "o/r$code"
    expect_rc "$code"
  done
  expect_invocations "gh repo view" 8
}

test_cache_failures_flag() {
  export FAKE_EXIT=3 FAKE_STDERR="error: not found"
  transparent a --cache-failures gh repo view o/missing
  expect_rc 3
  transparent b --cache-failures gh repo view o/missing
  expect_rc 3
  expect_invocations "gh repo view" 1
  # Replayed with its exit code and stderr even when the tool would now work.
  unset FAKE_EXIT FAKE_STDERR
  run_wrapped c --cache-failures gh repo view o/missing
  expect_same a.wrapped c
  expect_invocations "gh repo view" 1
}

test_failure_does_not_replace_success() {
  transparent a gh pr list -R o/r
  # A refresh that fails is passed through; afterwards the failure is not
  # what the cache answers (the old entry or a new run, both correct).
  FAKE_EXIT=1 transparent b --refresh gh pr list -R o/r
  expect_rc 1
  run_wrapped c gh pr list -R o/r
  expect_rc 0
  expect_same a.wrapped c
}

test_killed_by_signal_not_cached() {
  local sig
  for sig in TERM KILL USR1; do
    FAKE_SIGNAL=$sig transparent "s$sig" gh pr list -R "o/$sig"
    expect_rc $((128 + $(kill -l "$sig")))
    FAKE_SIGNAL=$sig transparent "t$sig" gh pr list -R "o/$sig"
    expect_rc $((128 + $(kill -l "$sig")))
  done
  expect_invocations "gh pr list" 6
  # A normal run afterwards is a miss, then a hit.
  transparent u gh pr list -R o/TERM
  transparent v gh pr list -R o/TERM
  expect_invocations "gh pr list" 7
}

test_run_command_failures() {
  # The run subcommand: any command's failure is passed through.
  transparent a run -- sh -c 'echo out; echo err >&2; exit 9'
  expect_rc 9
  transparent b run -- sh -c 'echo out; echo err >&2; exit 9'
  expect_rc 9
  transparent c run --cache-failures -- sh -c 'echo out; echo err >&2; exit 9'
  expect_rc 9
  transparent d run -- false
  expect_rc 1
  transparent e run -- sh -c 'kill -TERM $$'
  expect_rc 143
}

test_command_not_found() {
  # Like a shell: 127 and a message on stderr; nothing cached.
  run_wrapped a run -- no-such-command-ipfsacc-test arg
  expect_rc 127
  if [[ ! -s $T/a.err ]]; then fail "no message for a command that does not exist"; fi
  expect_empty "$T/a.out"
  # Not executable: 126.
  printf '#!/bin/sh\necho hi\n' >"$T/bin/notexec"
  chmod 644 "$T/bin/notexec"
  run_wrapped b run -- "$T/bin/notexec"
  expect_rc 126
}

test_failure_stats() {
  FAKE_EXIT=1 transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  transparent c gh pr list -R o/r
  # The failure was not an entry; the success is.
  expect_stat entries 1
  expect_stat hits 1
}

run_tests
