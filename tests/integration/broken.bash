# broken: whatever state the cache is in (corrupt, read-only, not a
# directory, full, locked), the tool runs and the user gets its stdout and exit
# code, with at most one warning line on stderr.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# expect_at_most_one_more_line DIRECT_ERR WRAPPED_ERR: the wrapped stderr is
# the direct one, or the direct one plus exactly one line anywhere.
expect_at_most_one_more_line() {
  local d=$1 w=$2 k n
  cmp -s "$d" "$w" && return 0
  n=$(wc -l <"$w")
  for ((k = 1; k <= n; k++)); do
    if sed "${k}d" "$w" | cmp -s "$d" -; then
      return 0
    fi
  done
  {
    echo "  direct stderr:"
    _show "$d"
    echo "  wrapped stderr:"
    _show "$w"
  } >&2
  fail "stderr is not the tool's plus at most one warning line"
}

# survives LABEL [RUNNER...] -- TOOL ARGS...: the tool's stdout and exit
# code come through ipfsacc, with at most one extra line on stderr. RUNNER
# (e.g. setpriv ...) runs both the direct and the wrapped call.
survives() {
  local label=$1
  shift
  local runner=()
  while [[ $1 != -- ]]; do
    runner+=("$1")
    shift
  done
  shift
  FAKE_LOG='' capture "$label.direct" "${runner[@]}" "$@"
  capture "$label.wrapped" timeout --foreground -k 5 "$TEST_CALL_TIMEOUT" \
    "${runner[@]}" "$IPFSACC_BIN" "$@"
  expect_same_file "$T/$label.direct.out" "$T/$label.wrapped.out" "stdout"
  expect_eq "$(cat "$T/$label.direct.rc")" "$rc" "exit status"
  expect_at_most_one_more_line "$T/$label.direct.err" "$T/$label.wrapped.err"
}

# A populated cache, kept as $T/pristine; prints the path of data.mdb.
populate() {
  transparent pop1 gh pr list -R o/r
  transparent pop2 gh repo view o/r
  transparent pop3 gh pr list -R o/r
  expect_invocations "gh pr list" 1
  DATA=$(find "$IPFSACC_DIR" -name data.mdb -type f | head -n 1)
  if [[ -z $DATA ]]; then
    find "$IPFSACC_DIR" -ls >&2
    fail "no data.mdb (the LMDB file) under IPFSACC_DIR"
  fi
  rm -rf "$T/pristine"
  cp -a "$IPFSACC_DIR" "$T/pristine"
}

restore() {
  rm -rf "$IPFSACC_DIR"
  cp -a "$T/pristine" "$IPFSACC_DIR"
}

# garbage N: N deterministic bytes that are not an LMDB page.
garbage() {
  yes 'this is not an lmdb page \x00\xff' | head -c "$1"
}

# overwrite FILE OFFSET COUNT: garbage over COUNT bytes at OFFSET.
overwrite() {
  garbage "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# After each corruption: a cached call, a new call and a failing call all
# give the tool's results.
check_after_corruption() {
  local what=$1
  survives "$what.cached" -- gh pr list -R o/r
  survives "$what.new" -- gh issue list -R o/r
  FAKE_EXIT=3 survives "$what.fail" -- gh pr view 7 -R o/r
  expect_eq 3 "$rc" "exit status of a failing call ($what)"
}

test_corrupt_data_file() {
  populate
  local size
  size=$(stat -c %s "$DATA")

  restore
  : >"$DATA"
  check_after_corruption empty

  restore
  truncate -s 100 "$DATA"
  check_after_corruption truncated

  restore
  overwrite "$DATA" 0 "$size"
  check_after_corruption all-garbage

  restore
  overwrite "$DATA" 0 8192
  check_after_corruption meta-pages

  restore
  if ((size > 8192)); then
    overwrite "$DATA" 8192 $((size - 8192))
    check_after_corruption data-pages
  fi

  restore
  local lock
  lock=$(dirname "$DATA")/lock.mdb
  if [[ -f $lock ]]; then
    overwrite "$lock" 0 "$(stat -c %s "$lock")"
    check_after_corruption lock-file
  fi

  restore
  rm -f "$DATA"
  mkdir "$DATA"
  check_after_corruption data-is-a-directory
}

test_every_file_garbage() {
  populate
  local f
  while read -r f; do
    overwrite "$f" 0 "$(stat -c %s "$f")"
  done < <(find "$IPFSACC_DIR" -type f)
  check_after_corruption every-file
  # A second round on whatever ipfsacc made of it.
  check_after_corruption every-file-again
}

test_corrupt_blob_is_not_served() {
  # One byte of a stored output flipped on disk: the blob no longer matches
  # its CID, so it must not be replayed.
  local marker=UNIQUEMARKER0123456789abcdef
  FAKE_MARK=$marker transparent a gh pr list -R o/r
  DATA=$(find "$IPFSACC_DIR" -name data.mdb -type f | head -n 1)
  [[ -n $DATA ]] || fail "no data.mdb under IPFSACC_DIR"
  local offsets
  offsets=$(grep -obUa "$marker" "$DATA" | cut -d: -f1)
  if [[ -z $offsets ]]; then
    skip "the output is not stored verbatim in data.mdb (compressed?)"
  fi
  local off
  for off in $offsets; do
    printf 'X' | dd of="$DATA" bs=1 seek="$off" conv=notrunc status=none
  done
  # Bytes of the LMDB file changed: the cache is set aside, with a warning.
  FAKE_MARK=$marker survives b -- gh pr list -R o/r
  expect_file_contains "$T/b.wrapped.out" "mark: $marker"
  expect_file_contains "$T/b.wrapped.err" "is corrupt"
  expect_invocations "gh pr list" 2
}

test_cache_dir_is_a_file() {
  echo "I am a file" >"$T/afile"
  export IPFSACC_DIR=$T/afile
  survives a -- gh pr list -R o/r
  survives b -- gh pr list -R o/r
  FAKE_EXIT=4 survives c -- gh pr list -R o/r
  expect_eq 4 "$rc" "exit status"
  expect_invocations "gh pr list" 3
  expect_eq "I am a file" "$(cat "$T/afile")" "the file IPFSACC_DIR names"
  export IPFSACC_DIR=$T/afile/sub
  survives d -- gh pr list -R o/r
  survives e -- claude -p hello
}

# as_nobody: prefix that runs a command as an unprivileged user (root only).
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# Prepare a case to run things as nobody: a copy of the binary and the fakes
# that nobody can execute, a log nobody can write.
prepare_nobody() {
  if [[ $(id -u) != 0 ]]; then return 1; fi
  if ! command -v setpriv >/dev/null; then
    skip "running as root but setpriv (util-linux) is missing"
  fi
  mkdir -p "$T/nbin"
  cp "$IPFSACC_BIN" "$T/nbin/ipfsacc"
  cp "$FAKES/fake-cli" "$T/nbin/fake-cli"
  local t
  for t in gh claude; do ln -sf fake-cli "$T/nbin/$t"; done
  chmod -R a+rX "$T/nbin"
  IPFSACC_BIN=$T/nbin/ipfsacc
  export PATH=$T/nbin:$PATH
  chmod 666 "$FAKE_LOG"
  chmod 777 "$W"
  return 0
}

test_read_only_empty_cache_dir() {
  mkdir -p "$T/ro"
  export IPFSACC_DIR=$T/ro
  local runner=()
  if prepare_nobody; then
    chmod 755 "$IPFSACC_DIR" # root's; nobody may read, not write
    runner=("${NOBODY[@]}")
  else
    chmod 555 "$IPFSACC_DIR"
  fi
  survives a "${runner[@]}" -- gh pr list -R o/r
  survives b "${runner[@]}" -- gh pr list -R o/r
  FAKE_EXIT=5 survives c "${runner[@]}" -- gh pr list -R o/r
  expect_eq 5 "$rc" "exit status"
  expect_invocations "gh pr list" 3
  survives d "${runner[@]}" -- claude -p hello
}

test_read_only_populated_cache() {
  transparent pop gh pr list -R o/r
  local runner=()
  if prepare_nobody; then
    runner=("${NOBODY[@]}")
    chmod -R a+rX,go-w "$IPFSACC_DIR"
  else
    chmod -R a-w "$IPFSACC_DIR"
  fi
  # Whether the entry is served or the tool runs, the answer is right.
  survives a "${runner[@]}" -- gh pr list -R o/r
  survives b "${runner[@]}" -- gh repo view o/r
  FAKE_EXIT=6 survives c "${runner[@]}" -- gh issue list -R o/r
  expect_eq 6 "$rc" "exit status"
}

test_cache_dir_in_unwritable_parent() {
  mkdir -p "$T/locked"
  export IPFSACC_DIR=$T/locked/cache
  local runner=()
  if prepare_nobody; then
    chmod 755 "$T/locked"
    runner=("${NOBODY[@]}")
  else
    chmod 555 "$T/locked"
  fi
  survives a "${runner[@]}" -- gh pr list -R o/r
  survives b "${runner[@]}" -- gh pr list -R o/r
  expect_invocations "gh pr list" 2
}

test_disk_full() {
  # A file size limit stands in for a full disk: with SIGXFSZ ignored, writes
  # beyond it fail with EFBIG as they would with ENOSPC. The tool's output
  # (larger than the limit) must still come through whole.
  export FAKE_SIZE=600000
  FAKE_LOG='' gh api repos/o/r/contents/big >"$T/direct.out" 2>"$T/direct.err"
  (
    trap '' XFSZ
    ulimit -f 200
    exec "$IPFSACC_BIN" gh api repos/o/r/contents/big 2>"$T/full.err"
  ) | cat >"$T/full.out"
  local st=("${PIPESTATUS[@]}")
  expect_eq 0 "${st[0]}" "exit status with a full disk"
  expect_same_file "$T/direct.out" "$T/full.out" "stdout with a full disk"
  expect_at_most_one_more_line "$T/direct.err" "$T/full.err"
  # Afterwards, with room again, the cache works: a miss (or a hit, if the
  # write did fit), then a hit.
  transparent after1 gh api repos/o/r/contents/big
  transparent after2 gh api repos/o/r/contents/big
  local n
  n=$(invocations "gh api")
  if ((n > 2)); then fail "'gh api' ran $n times: the cache did not recover"; fi
}

test_stopped_process_does_not_block_others() {
  # A process stopped in the middle of a miss (SIGSTOP, e.g. Ctrl-Z) must not
  # lock the cache for calls of other keys.
  set -m
  FAKE_SLEEP=1 "$IPFSACC_BIN" gh pr list -R o/slow >"$T/slow.out" 2>&1 &
  local pid=$!
  set +m
  wait_for_log "^gh pr list -R o/slow$"
  kill -STOP "$pid"
  # A call that waited for the stopped process would wait until the
  # stopped one resumes, which is after these calls: it would be killed by
  # the per-call bound and fail on its exit status.
  transparent other gh pr list -R o/r
  transparent other2 gh pr list -R o/r
  expect_invocations "gh pr list -R o/r" 1
  kill -CONT "$pid"
  wait "$pid"
  expect_eq 0 $? "exit status of the stopped and resumed call"
  FAKE_LOG='' gh pr list -R o/slow >"$T/slow.direct" 2>&1
  expect_same_file "$T/slow.direct" "$T/slow.out" "output of the resumed call"
}

test_killed_miss_leaves_no_stale_lock() {
  # The process that held the single-flight lock for a key is killed; the
  # next call of that key must not wait for it forever.
  set -m
  FAKE_SLEEP=300 "$IPFSACC_BIN" gh pr list -R o/r >/dev/null 2>&1 &
  local pid=$!
  set +m
  wait_for_log "^gh pr list -R o/r$"
  kill -KILL -- "-$pid"
  wait "$pid" 2>/dev/null
  # A call that waited for the dead process's lock would never end: the
  # per-call bound kills it and its exit status fails the case.
  transparent a gh pr list -R o/r
  expect_rc 0
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 2
}

run_tests
