# concurrency: many processes share one cache. Identical concurrent misses run
# the tool once; a process killed at any point leaves a cache that opens and
# serves every entry that was committed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

test_32_identical_concurrent_misses() {
  run_direct direct gh pr list -R o/r
  export FAKE_SLEEP=1
  local i pids=() bad=0
  for i in $(seq 1 32); do
    "$IPFSACC_BIN" gh pr list -R o/r >"$T/c$i.out" 2>"$T/c$i.err" &
    pids+=($!)
  done
  for i in $(seq 1 32); do
    wait "${pids[i - 1]}"
    echo $? >"$T/c$i.rc"
  done
  for i in $(seq 1 32); do
    expect_same direct "c$i"
  done
  expect_invocations "gh pr list" 1
  expect_stat entries 1
}

test_concurrent_mixed_keys() {
  # 8 processes at once, each asking for the same 10 keys in its own order:
  # every key's tool runs exactly once, every answer is right.
  local k
  for k in $(seq 0 9); do
    FAKE_LOG='' gh repo view "o/k$k" >"$T/exp$k" 2>&1
  done
  export FAKE_SLEEP=0.2
  local j pids=()
  for j in $(seq 0 7); do
    (
      for k in $(seq 0 9); do
        local key=$(((k + j * 3) % 10))
        "$IPFSACC_BIN" gh repo view "o/k$key" >"$T/got.$j.$key" 2>&1
        echo $? >"$T/rc.$j.$key"
      done
    ) &
    pids+=($!)
  done
  for j in "${pids[@]}"; do wait "$j"; done
  for j in $(seq 0 7); do
    for k in $(seq 0 9); do
      expect_eq 0 "$(cat "$T/rc.$j.$k")" "exit status of process $j, key $k"
      expect_same_file "$T/exp$k" "$T/got.$j.$k" "answer of process $j for key $k"
    done
  done
  for k in $(seq 0 9); do
    expect_invocations "gh repo view o/k$k" 1
  done
}

# The LMDB transaction id (mdb_stat -e): it moves with every committed write.
txn_id() {
  mdb_stat -e "$IPFSACC_DIR" | sed -n 's/.*Last transaction ID: //p'
}

test_hits_write_no_transaction_and_every_one_is_counted() {
  # 8 processes hit two entries 10 times each while another stores new
  # entries: no hit opens a write transaction (the LMDB transaction id
  # moves only with the stores), and stats and list count all 160 hits.
  "$IPFSACC_BIN" gh repo view o/h1 >/dev/null 2>&1
  "$IPFSACC_BIN" gh repo view o/h2 >/dev/null 2>&1
  local before j k pids=()
  before=$(txn_id)
  for j in $(seq 0 7); do
    (
      for k in $(seq 1 10); do
        "$IPFSACC_BIN" gh repo view o/h1 >/dev/null 2>&1 || echo "$j.$k" >>"$T/failed"
        "$IPFSACC_BIN" gh repo view o/h2 >/dev/null 2>&1 || echo "$j.$k" >>"$T/failed"
      done
    ) &
    pids+=($!)
  done
  for j in "${pids[@]}"; do wait "$j"; done
  [[ ! -e $T/failed ]] || fail "calls failed: $(cat "$T/failed")"
  expect_eq "$before" "$(txn_id)" "the transaction id after 160 hits"
  expect_invocations "gh repo view o/h1" 1
  # Stores running at the same time as hits fold the log; whatever the
  # interleaving, nothing is lost or counted twice.
  pids=()
  for j in $(seq 0 3); do
    (
      for k in $(seq 1 5); do
        "$IPFSACC_BIN" gh repo view "o/h1" >/dev/null 2>&1
        "$IPFSACC_BIN" gh repo view "o/new$j.$k" >/dev/null 2>&1
      done
    ) &
    pids+=($!)
  done
  for j in "${pids[@]}"; do wait "$j"; done
  expect_stat hits 180
  expect_stat misses 22
  # list --sort hits: the most hit first, with every hit counted.
  "$IPFSACC_BIN" list --json --sort hits --limit 2 >"$T/list.json"
  expect_eq "gh repo view o/h1" "$(json_get "$T/list.json" 0.command)" "most hit"
  expect_eq 100 "$(json_get "$T/list.json" 0.hits)" "hits of o/h1"
  expect_eq 80 "$(json_get "$T/list.json" 1.hits)" "hits of o/h2"
}

# writers N: start 4 loops that together make N distinct cacheable calls,
# in one new process group; sets WRITERS to its id.
start_writers() {
  local n=$1
  set -m
  (
    local j
    for j in 0 1 2 3; do
      (
        local i
        for ((i = j + 1; i <= n; i += 4)); do
          "$IPFSACC_BIN" gh repo view "o/r$i" >/dev/null 2>&1
        done
      ) &
    done
    wait
  ) &
  WRITERS=$!
  set +m
}

# wait_invocations PREFIX N: until the fake log has N calls of PREFIX.
wait_invocations() {
  local deadline=$((SECONDS + 60))
  while (($(invocations "$1") < $2)); do
    if ((SECONDS >= deadline)); then fail "timed out waiting for $2 calls of '$1'"; fi
    sleep 0.02
  done
}

# blocked_on_key_lock: how many processes wait to lock the one key lock file
# of the cache (/proc/locks marks a waiter "->" and names the file by inode).
blocked_on_key_lock() {
  local locks=("$IPFSACC_DIR"/locks/*) ino
  if [[ ${#locks[@]} != 1 || ! -e ${locks[0]} ]]; then
    echo 0
    return
  fi
  ino=$(stat -c %i "${locks[0]}" 2>/dev/null) || { echo 0; return; }
  grep -c -- "-> FLOCK .*:$ino " /proc/locks
}

test_waiters_of_a_failed_call_run_at_once_not_in_turn() {
  [[ -r /proc/locks ]] || skip "no /proc/locks to see who waits for a lock"
  make_tool mytool
  run_direct direct env FAKE_EXIT=1 mytool fails
  # The first call fails, and only once two identical calls wait for it.
  FAKE_EXIT=1 FAKE_WAIT_FOR=$T/first.go \
    "$IPFSACC_BIN" run -- mytool fails >"$T/first.out" 2>"$T/first.err" &
  local first=$!
  wait_invocations "mytool fails" 1
  local i pids=()
  for i in 1 2; do
    FAKE_EXIT=1 FAKE_WAIT_FOR=$T/waiters.go \
      "$IPFSACC_BIN" run -- mytool fails >"$T/w$i.out" 2>"$T/w$i.err" &
    pids+=($!)
  done
  wait_until '(($(blocked_on_key_lock) >= 2))' "two calls waiting for the first"
  touch "$T/first.go"
  wait "$first"
  expect_eq 1 $? "exit status of the first call"
  # Nothing was stored, so both waiters run the tool, side by side: each
  # run waits for a file the test creates only once both have started.
  local deadline=$((SECONDS + 60))
  while (($(invocations "mytool fails") < 3)); do
    if ((SECONDS >= deadline)); then
      touch "$T/waiters.go"
      fail "the waiters ran one after the other, not at once"
    fi
    sleep 0.02
  done
  touch "$T/waiters.go"
  for i in 1 2; do
    wait "${pids[i - 1]}"
    echo $? >"$T/w$i.rc"
    expect_same direct "w$i"
  done
  expect_stat entries 0
}

test_kill9_during_100_writes() {
  local n=100
  # Round 1: kill everything (ipfsacc processes and their tools) with
  # SIGKILL once about 20 calls have run, i.e. in the middle of the writes.
  start_writers "$n"
  wait_invocations "gh repo view" 20
  kill -KILL -- "-$WRITERS" 2>/dev/null
  wait "$WRITERS" 2>/dev/null
  sleep 0.2
  local after1
  after1=$(invocations "gh repo view")
  echo "  round 1: killed after $after1 calls" >&2
  # The cache opens and reports.
  stats_json
  local e1
  e1=$(json_get "$T/stats.json" entries)
  expect_match "$e1" '^[0-9]+$' "entries after the first kill"
  # Round 2: again, later, on the same cache.
  start_writers "$n"
  wait_invocations "gh repo view" $((after1 + 40))
  kill -KILL -- "-$WRITERS" 2>/dev/null
  wait "$WRITERS" 2>/dev/null
  sleep 0.2
  echo "  round 2: killed after $(invocations "gh repo view") calls" >&2

  stats_json
  local committed
  committed=$(json_get "$T/stats.json" entries)
  expect_match "$committed" '^[0-9]+$' "entries after the second kill"
  if ((committed == 0)); then
    fail "no entry survived: nothing was committed before the kills?"
  fi
  if ((committed >= n)); then
    echo "  note: all $n calls finished before the kill; the test was not mid-way" >&2
  fi

  # If the binary has a verify command, the cache verifies.
  if "$IPFSACC_BIN" --help 2>&1 | grep -qw verify; then
    capture verify ipfsacc verify
    expect_rc 0
  fi

  # Every call of the 100 now gives the right answer; exactly the committed
  # ones are hits, and only the others run the tool.
  : >"$FAKE_LOG"
  local i hits=0 line
  for ((i = 1; i <= n; i++)); do
    FAKE_LOG='' gh repo view "o/r$i" >"$T/exp.out" 2>"$T/exp.err"
    ipfsacc -v gh repo view "o/r$i" >"$T/got.out" 2>"$T/got.err"
    rc=$?
    expect_eq 0 "$rc" "exit status of call $i"
    expect_same_file "$T/exp.out" "$T/got.out" "stdout of call $i"
    line=$(explain_lines "$T/got.err")
    strip_explain "$T/got.err" "$T/got.stripped.err"
    expect_same_file "$T/exp.err" "$T/got.stripped.err" "stderr of call $i"
    if [[ $line == "ipfsacc: HIT "* ]]; then
      hits=$((hits + 1))
    else
      expect_match "$line" "^ipfsacc: MISS " "explain line of call $i"
    fi
  done
  expect_eq "$committed" "$hits" "hits on the re-run (entries committed before)"
  expect_invocations "gh repo view" $((n - committed))
  expect_stat entries "$n"
}

test_kill9_during_large_writes() {
  # Large values take longer to write: a kill is likely to land inside a
  # write transaction.
  local i
  export FAKE_SIZE=400000
  set -m
  (
    for i in $(seq 1 40); do
      "$IPFSACC_BIN" gh api "repos/o/r/contents/f$i" >/dev/null 2>&1 &
    done
    wait
  ) &
  local pg=$!
  set +m
  wait_invocations "gh api" 5
  sleep 0.1
  kill -KILL -- "-$pg" 2>/dev/null
  wait "$pg" 2>/dev/null
  sleep 0.2
  stats_json
  # Every answer is right afterwards, from the cache or a new run.
  for i in $(seq 1 40); do
    FAKE_LOG='' gh api "repos/o/r/contents/f$i" >"$T/exp.out" 2>&1
    ipfsacc gh api "repos/o/r/contents/f$i" >"$T/got.out" 2>&1
    expect_same_file "$T/exp.out" "$T/got.out" "answer $i"
  done
  # And then all 40 are hits (stdout and stderr one file, as above: that
  # is another answer than with them apart).
  : >"$FAKE_LOG"
  for i in $(seq 1 40); do
    ipfsacc gh api "repos/o/r/contents/f$i" >"$T/got.out" 2>&1
  done
  expect_invocations "gh api" 0
}

run_tests
