# ttl: entries expire; an expired entry is a miss (reason=expired) but can
# still answer --offline.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# Time passes only when a case moves the cache's clock (clock_advance in
# lib.bash): how fast the machine runs the calls changes nothing.

test_expiry() {
  make_tool mytool
  # Three ways to give a TTL: --ttl, IPFSACC_TTL, run --ttl.
  transparent a1 --ttl 5s gh pr list -R o/r
  IPFSACC_TTL=5s transparent b1 vastai show instances
  transparent c1 run --ttl 5s -- mytool status
  # A long TTL on another entry: it must survive the wait.
  transparent d1 --ttl 1h gh repo view o/r
  # Still fresh.
  transparent a2 --ttl 5s gh pr list -R o/r
  IPFSACC_TTL=5s transparent b2 vastai show instances
  transparent c2 run --ttl 5s -- mytool status
  expect_invocations "gh pr list" 1
  expect_invocations "vastai show instances" 1
  expect_invocations "mytool status" 1
  # One second before the expiry: still fresh.
  clock_advance 4
  transparent a2b --ttl 5s gh pr list -R o/r
  expect_invocations "gh pr list" 1

  clock_advance 1

  run_direct direct gh pr list -R o/r
  run_wrapped a3 -v --ttl 5s gh pr list -R o/r
  expect_explain a3 MISS "" expired
  expect_same_file "$T/direct.out" "$T/a3.out"
  expect_invocations "gh pr list" 2
  IPFSACC_TTL=5s transparent b3 vastai show instances
  expect_invocations "vastai show instances" 2
  transparent c3 run --ttl 5s -- mytool status
  expect_invocations "mytool status" 2
  # The new entries are fresh again.
  transparent a4 --ttl 5s gh pr list -R o/r
  expect_invocations "gh pr list" 2
  # The 1 h entry is still a hit.
  run_wrapped d2 -v --ttl 1h gh repo view o/r
  expect_explain d2 HIT
  expect_invocations "gh repo view" 1
}

test_offline_serves_expired() {
  FAKE_MARK=old transparent a --ttl 1s gh pr list -R o/r
  FAKE_MARK=old transparent b --ttl 1s hf models info gpt2
  clock_advance 2
  # Expired, but --offline answers from it without running the tool.
  FAKE_MARK=new run_wrapped off --offline --ttl 1s gh pr list -R o/r
  expect_rc 0
  expect_same_file "$T/a.wrapped.out" "$T/off.out" "stdout of the expired entry"
  expect_same_file "$T/a.wrapped.err" "$T/off.err" "stderr of the expired entry"
  expect_invocations "gh pr list" 1
  FAKE_MARK=new run_wrapped off2 --offline hf models info gpt2
  expect_rc 0
  expect_file_contains "$T/off2.out" "mark: old"
  expect_invocations "hf models info" 1
  # Online, the expired entry is replaced.
  FAKE_MARK=new run_wrapped on --ttl 1s gh pr list -R o/r
  expect_file_contains "$T/on.out" "mark: new"
  expect_invocations "gh pr list" 2
}

test_invalid_ttl() {
  # A TTL that is not a duration is a usage error, not a silent default.
  run_wrapped bad --ttl soon gh pr list -R o/r
  expect_ne 0 "$rc" "exit status for --ttl soon"
  if [[ ! -s $T/bad.err ]]; then fail "no message for --ttl soon"; fi
  expect_invocations "gh pr list" 0
}

test_ttl_units() {
  # Every unit the documentation names is accepted.
  local d
  for d in 30s 5m 1h 7d; do
    transparent "u$d" --ttl "$d" gh pr list -R "o/r$d"
    expect_rc 0
  done
  expect_invocations "gh pr list" 4
}

test_stale_while_revalidate() {
  export IPFSACC_STALE_WHILE_REVALIDATE=1h
  FAKE_MARK=old transparent a --ttl 5s gh pr list -R o/r
  clock_advance 6
  # Expired but within the window: the old answer at once, marked stale...
  FAKE_MARK=new run_wrapped b -v --ttl 5s gh pr list -R o/r
  expect_rc 0
  expect_same_file "$T/a.wrapped.out" "$T/b.out" "stdout of the stale entry"
  expect_explain b HIT
  expect_file_contains "$T/b.err" "revalidating"
  # ...while the tool runs once in the background and stores a fresh one.
  wait_until '[[ $(invocations "gh pr list") == 2 && $(stat_value stores) == 2 ]]' \
    "the background run to store its answer"
  FAKE_MARK=new run_direct direct gh pr list -R o/r
  FAKE_MARK=new run_wrapped c -v --ttl 5s gh pr list -R o/r
  expect_explain c HIT
  expect_same_file "$T/direct.out" "$T/c.out" "stdout after revalidation"
  expect_not_contains "$(cat "$T/c.err")" "revalidating"
  expect_invocations "gh pr list" 2
  expect_stat stale_hits 1
}

test_stale_window_is_bounded() {
  export IPFSACC_STALE_WHILE_REVALIDATE=10s
  transparent a --ttl 1s gh pr list -R o/r
  # Expired 4 s ago, within the window: the stale answer, revalidated.
  clock_advance 5
  run_wrapped s -v --ttl 1s gh pr list -R o/r
  expect_explain s HIT
  expect_file_contains "$T/s.err" "revalidating"
  wait_until '[[ $(stat_value stores) == 2 ]]' "the background run to store its answer"
  # The revalidated entry expired 11 s ago, past the window: an ordinary miss.
  clock_advance 12
  run_wrapped b -v --ttl 1s gh pr list -R o/r
  expect_explain b MISS "" expired
  expect_invocations "gh pr list" 3
}

run_tests
