# corrupt_cache: a damaged LMDB data file, or a reader table full of slots
# that dead processes left behind. A call still answers exactly as the tool
# would without ipfsacc (its stdout, its stderr, its exit status) plus one
# warning line; a cache found corrupt is set aside, nothing is written to it
# after that, and the next call starts a fresh cache. The management
# commands report it instead of crashing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# A populated cache: three entries, one with an output large enough to
# need overflow pages. Sets DATA (the data file) and keeps a copy as
# $T/pristine.
populate() {
  # Outputs kept as printed: the cases find them in the data file by their
  # bytes (compressed outputs have cases of their own below).
  export IPFSACC_COMPRESSION=off
  transparent pop1 gh pr list -R o/r
  transparent pop2 gh repo view o/r
  FAKE_NOISE=20000 transparent pop3 gh issue list -R o/r
  run_wrapped pop4 -v gh pr list -R o/r
  expect_explain pop4 HIT
  DATA=$IPFSACC_DIR/data.mdb
  [[ -f $DATA ]] || fail "no data.mdb under IPFSACC_DIR"
  rm -rf "$T/pristine"
  cp -a "$IPFSACC_DIR" "$T/pristine"
}

restore() {
  chmod -R u+rwX "$IPFSACC_DIR" 2>/dev/null
  rm -rf "$IPFSACC_DIR"
  cp -a "$T/pristine" "$IPFSACC_DIR"
}

# set_aside_count: how many corrupt data files are set aside in the cache.
set_aside_count() {
  local files=("$IPFSACC_DIR"/data.mdb.corrupt-*)
  [[ -e ${files[0]} ]] || files=()
  echo "${#files[@]}"
}

# expect_answer LABEL [ENV...] -- TOOL ARGS...: the tool's stdout and exit
# status come through ipfsacc; its stderr too, with at most one warning line
# that the cache is corrupt (damage in a page no call reads goes unseen).
# Sets WARNED to 1 when there was one, and DIRECT_OUT to the file of the
# tool's own stdout. The tool's own answer to the same command line is run
# once per case and kept (the fake tool's answer depends on its arguments
# and environment alone).
declare -A DIRECT=()
expect_answer() {
  local label=$1
  shift
  local envs=()
  while [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  local line="${envs[*]} -- $*" direct direct_rc
  direct=${DIRECT[$line]:-}
  if [[ -z $direct ]]; then
    direct=direct.${#DIRECT[@]}
    DIRECT[$line]=$direct
    FAKE_LOG='' capture "$direct" env "${envs[@]}" "$@"
  fi
  DIRECT_OUT=$T/$direct.out
  capture "$label" env "${envs[@]}" "$BOUNDED" "$IPFSACC_BIN" "$@"
  expect_same_file "$DIRECT_OUT" "$T/$label.out" "stdout ($label)"
  read -r direct_rc <"$T/$direct.rc"
  expect_eq "$direct_rc" "$rc" "exit status ($label)"
  strip_explain "$T/$label.err" "$T/$label.tool.err"
  expect_same_file "$T/$direct.err" "$T/$label.tool.err" "the tool's stderr ($label)"
  local added
  added=$(explain_lines "$T/$label.err" || true)
  WARNED=0
  if [[ -n $added ]]; then
    [[ $added != *$'\n'* ]] || fail "lines ipfsacc added ($label): $added"
    expect_match "$added" "^ipfsacc: warning: the cache in $IPFSACC_DIR is corrupt \(.*\); " "the warning ($label)"
    WARNED=1
  fi
}

# expect_answer_with_one_warning LABEL [ENV...] -- TOOL ARGS...: as
# expect_answer, and the warning that the cache is corrupt was given.
expect_answer_with_one_warning() {
  expect_answer "$@"
  expect_eq 1 "$WARNED" "the corrupt cache's warning ($1)"
}

# expect_no_crash NAME: a management command ended by itself, not by a
# signal (a status of 128 or more) or a sanitizer's report.
expect_no_crash() {
  if (($(cat "$T/$1.rc") >= 128)) || grep -q 'Sanitizer' "$T/$1.err"; then
    _show "$T/$1.err" >&2
    fail "$1 crashed (exit status $(cat "$T/$1.rc"))"
  fi
}

# ---------------------------------------------------------------------------
# A truncated data file: every page past the meta pages is gone.

test_a_truncated_cache_is_set_aside_and_the_call_answers_as_without_ipfsacc() {
  populate
  truncate -s 8192 "$DATA"
  # A cached call, a new one and a failing one: each exactly the tool's.
  expect_answer_with_one_warning cached -- gh pr list -R o/r
  local direct=$DIRECT_OUT
  expect_contains "$(cat "$T/cached.err")" "set aside as $IPFSACC_DIR/data.mdb.corrupt-"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
  expect_eq 8192 "$(stat -c %s "$IPFSACC_DIR"/data.mdb.corrupt-*)" "size of the file set aside"

  # The next call starts a fresh cache, and caches again.
  run_wrapped fresh -v gh pr list -R o/r
  expect_rc 0
  expect_explain fresh MISS gh/pr-list new
  expect_same_file "$direct" "$T/fresh.out"
  run_wrapped again -v gh pr list -R o/r
  expect_explain again HIT
  expect_same_file "$direct" "$T/again.out"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"

  for what in new fail; do
    restore
    truncate -s 8192 "$DATA"
    if [[ $what == new ]]; then
      expect_answer_with_one_warning new -- gh issue view 3 -R o/r
    else
      expect_answer_with_one_warning fail FAKE_EXIT=3 -- gh pr view 7 -R o/r
      expect_eq 3 "$rc" "exit status of the failing call"
    fi
    expect_eq 1 "$(set_aside_count)" "corrupt files set aside ($what)"
  done
}

# damage_output MARKER: changes every copy of MARKER in the data file, as a
# failing disk would; keeps the result as $T/damaged.
damage_output() {
  local off
  for off in $(grep -obUa -- "$1" "$DATA" | cut -d: -f1); do
    printf 'Z' | dd of="$DATA" bs=1 seek="$off" conv=notrunc status=none
  done
}

test_a_damaged_output_found_after_stdin_was_read_still_gets_the_input() {
  populate
  # `run` keys on piped stdin, which is read before the entry is looked up:
  # the command still gets it when the cache turns out corrupt.
  printf 'zzmarkerzz\n' >"$T/input"
  ipfsacc run -- cat <"$T/input" >/dev/null 2>&1
  damage_output zzmarkerzz
  capture stdin ipfsacc run -- cat <"$T/input"
  expect_rc 0
  expect_same_file "$T/input" "$T/stdin.out" "stdout"
  expect_eq 1 "$(explain_lines "$T/stdin.err" | grep -c .)" "lines ipfsacc added"
  expect_file_contains "$T/stdin.err" "is corrupt"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
}

test_a_call_that_is_not_cached_tells_of_a_corrupt_cache_once() {
  populate
  # A write only counts a bypass (and drops entries): the cache is found
  # corrupt on the way, and told once.
  truncate -s 8192 "$DATA"
  expect_answer_with_one_warning write -- gh pr create -R o/r -t x -b y
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
  restore
  truncate -s 8192 "$DATA"
  expect_answer_with_one_warning nocache -- gh pr list -R o/r --web
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
}

test_management_commands_report_a_truncated_cache() {
  populate
  truncate -s 8192 "$DATA"
  capture l ipfsacc list
  expect_no_crash l
  expect_file_contains "$T/l.err" "is corrupt"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside by list"
  capture l2 ipfsacc list
  expect_rc 0
  expect_empty "$T/l2.err"

  restore
  truncate -s 8192 "$DATA"
  capture d ipfsacc doctor
  expect_no_crash d
  expect_rc 1
  expect_match "$(cat "$T/d.out")" "FAIL  lmdb: the cache in $IPFSACC_DIR is corrupt \(.*\); set aside as $IPFSACC_DIR/data.mdb.corrupt-" "doctor's lmdb line"
  capture d2 ipfsacc doctor
  expect_rc 0
  expect_match "$(cat "$T/d2.out")" "WARN  lmdb: $IPFSACC_DIR/data.mdb.corrupt-[^ ]* is a corrupt cache, set aside" "doctor's line on the file set aside"

  restore
  truncate -s 8192 "$DATA"
  capture p ipfsacc purge --all --yes
  expect_no_crash p
  expect_file_contains "$T/p.err" "is corrupt"
  capture p2 ipfsacc purge --all --yes
  expect_rc 0

  restore
  truncate -s 8192 "$DATA"
  capture s ipfsacc stats
  expect_no_crash s
}

# ---------------------------------------------------------------------------
# Garbage written over parts of the data file.

# garbage N: N deterministic bytes that are no LMDB page.
garbage() {
  yes $'\xff\x00\x7f garbage \x01\xfe not a page' | head -c "$1"
}

# garbage_over_pages WHERE: 96 bytes of garbage over every page but the two
# meta pages, one page at a time, WHERE bytes into the page (skipping bytes
# no page uses: zeros past a page header); calls with the damaged file
# answer as the tool does, and so do the calls after them.
garbage_over_pages() {
  populate
  local size pages page off label seen=0
  size=$(stat -c %s "$DATA")
  pages=$((size / 4096))
  for ((page = 2; page < pages; page++)); do
    off=$((page * 4096 + $1))
    if (($1 > 0)) && [[ -z $(dd if="$DATA" bs=1 skip="$off" count=96 status=none | tr -d '\0') ]]; then
      continue
    fi
    restore
    garbage 96 | dd of="$DATA" bs=1 seek="$off" conv=notrunc status=none
    label=at$off
    expect_answer "$label.cached" -- gh pr list -R o/r
    ((seen |= WARNED))
    expect_answer "$label.large" FAKE_NOISE=20000 -- gh issue list -R o/r
    ((seen |= WARNED))
    expect_answer "$label.new" -- gh issue view 3 -R o/r
    ((seen |= WARNED))
    # Whatever the damage, the next calls answer right too.
    expect_answer "$label.after" -- gh pr list -R o/r
    expect_le "$(set_aside_count)" 1 "corrupt files set aside ($label)"
  done
  ((seen)) || fail "no damaged page was noticed: the case tests nothing"
}

test_garbage_over_a_page_header_never_crashes_or_misanswers() {
  garbage_over_pages 0
}

test_garbage_in_the_middle_of_a_page_never_crashes_or_misanswers() {
  garbage_over_pages 2000
}

# expect_le A B WHAT: A <= B.
expect_le() {
  if (($1 > $2)); then
    fail "$3: $1 is more than $2"
  fi
}

test_a_damaged_record_or_output_is_set_aside_before_anything_is_written() {
  populate
  # The stored output of `gh repo view`, changed in place: the data file is
  # damaged, and no write (not even the hit's statistics) may follow.
  local marker=zzcorruptzz
  FAKE_MARK=$marker ipfsacc gh repo view -R o/r >/dev/null 2>&1
  damage_output "$marker"
  local before
  before=$(md5sum <"$DATA")
  expect_answer_with_one_warning output FAKE_MARK=$marker -- gh repo view -R o/r
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
  expect_eq "$before" "$(md5sum <"$IPFSACC_DIR"/data.mdb.corrupt-*)" "the file set aside, unchanged since it was found damaged"
}

test_a_read_only_cache_directory_with_a_corrupt_file_still_runs_the_tool() {
  populate
  truncate -s 8192 "$DATA"
  local runner=()
  if [[ $(id -u) == 0 ]]; then
    command -v setpriv >/dev/null || skip "running as root without setpriv"
    # As nobody, who may read the cache but not write it.
    mkdir -p "$T/nbin"
    cp "$IPFSACC_BIN" "$T/nbin/ipfsacc"
    cp "$FAKES/fake-cli" "$T/nbin/fake-cli"
    ln -sf fake-cli "$T/nbin/gh"
    chmod -R a+rX "$T/nbin"
    IPFSACC_BIN=$T/nbin/ipfsacc
    export PATH=$T/nbin:$PATH
    chmod 666 "$FAKE_LOG"
    chmod 777 "$W"
    chmod -R a+rX,go-w "$IPFSACC_DIR"
    runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  else
    chmod -R a-w "$IPFSACC_DIR"
  fi
  local i
  for i in 1 2; do
    FAKE_LOG='' capture "ro$i.direct" "${runner[@]}" gh pr list -R o/r
    capture "ro$i.wrapped" "$BOUNDED" "${runner[@]}" "$IPFSACC_BIN" gh pr list -R o/r
    expect_same_file "$T/ro$i.direct.out" "$T/ro$i.wrapped.out" "stdout ($i)"
    expect_eq "$(cat "$T/ro$i.direct.rc")" "$rc" "exit status ($i)"
    strip_explain "$T/ro$i.wrapped.err" "$T/ro$i.tool.err"
    expect_same_file "$T/ro$i.direct.err" "$T/ro$i.tool.err" "the tool's stderr ($i)"
    expect_eq 1 "$(explain_lines "$T/ro$i.wrapped.err" | grep -c .)" "lines ipfsacc added ($i)"
    expect_file_contains "$T/ro$i.wrapped.err" "is corrupt"
  done
  # Nothing could be renamed: the file is where it was.
  expect_eq 0 "$(set_aside_count)" "corrupt files set aside"
  expect_eq 8192 "$(stat -c %s "$DATA")" "size of the data file"
}

# ---------------------------------------------------------------------------
# Reader slots left by processes killed inside a read transaction.

# start_blocked_hit N: a hit in the background whose stdout is the FIFO
# nobody reads, so the replay blocks inside its read transaction once the
# pipe is full. PIDS[N] is its pid; $T/blocked.N.err its stderr.
start_blocked_hit() {
  FAKE_SIZE=200000 "$IPFSACC_BIN" -v gh issue list -R o/r >"$T/fifo" 2>"$T/blocked.$1.err" &
  PIDS[$1]=$!
}

# started_or_warned N...: every hit N has printed its HIT line (it holds
# its reader slot) or a warning (it could not read the cache). Reads the
# files with builtins: it is polled for hundreds of hits.
started_or_warned() {
  local n lines line
  for n in "$@"; do
    lines=()
    [[ -f $T/blocked.$n.err ]] && mapfile -t lines <"$T/blocked.$n.err"
    for line in "${lines[@]}" ''; do
      [[ $line == "ipfsacc: HIT"* || $line == "ipfsacc: warning"* ]] && break
    done
    [[ -n $line ]] || return 1
  done
}

test_reader_slots_of_killed_processes_are_reused() {
  FAKE_SIZE=200000 transparent pop gh issue list -R o/r
  mkfifo "$T/fifo"
  # The test holds the FIFO open for reading, so writers open it at once,
  # and never reads it: 64 KiB in, every writer blocks.
  local fifo_fd
  exec {fifo_fd}<>"$T/fifo"
  declare -a PIDS=()
  # One hit stays alive all along: the cache stays open, so LMDB never gets
  # to reset its reader table.
  start_blocked_hit 0
  wait_until 'started_or_warned 0' "the first hit to block"
  # More hits killed while they hold a read transaction than the table has
  # slots (512), a batch at a time.
  local start n lines size=20
  for ((start = 1; start <= 520; start += size)); do
    for ((n = start; n < start + size; n++)); do
      start_blocked_hit "$n"
    done
    wait_until "started_or_warned $(seq -s ' ' "$start" $((start + size - 1)))" "hits $start.. to block"
    for ((n = start; n < start + size; n++)); do
      kill -KILL "${PIDS[n]}" 2>/dev/null
      wait "${PIDS[n]}" 2>/dev/null
      mapfile -t lines <"$T/blocked.$n.err"
      if [[ ${lines[*]} == *"ipfsacc: warning"* ]]; then
        kill -KILL "${PIDS[0]}" 2>/dev/null
        exec {fifo_fd}>&-
        fail "hit $n: $(grep '^ipfsacc: warning' "$T/blocked.$n.err")"
      fi
    done
  done
  run_wrapped after -v gh issue list -R o/r
  kill -KILL "${PIDS[0]}" 2>/dev/null
  wait "${PIDS[0]}" 2>/dev/null
  exec {fifo_fd}>&-
  expect_rc 0
  expect_explain after HIT
  expect_same_file "$T/pop.direct.out" "$T/after.out"
}

# A recorded output of the data file (under 8 MiB), and the random input
# that `ipfsacc run -- cat` read to print it, as $T/input; stores it.
# Sets DATA and OUTPUT_AT (where the output's bytes start in the data file).
store_output_of_cat() {
  export IPFSACC_COMPRESSION=off # found in the data file by its bytes
  {
    printf 'zzfaultzz'
    awk 'BEGIN { srand(3); for (i = 0; i < 40000; i++) printf "%08x", rand() * 4294967296 }'
  } >"$T/input"
  capture first ipfsacc run -- cat <"$T/input"
  expect_rc 0
  DATA=$IPFSACC_DIR/data.mdb
  OUTPUT_AT=$(grep -obUa zzfaultzz "$DATA" | head -n 1 | cut -d: -f1)
  [[ -n $OUTPUT_AT ]] || fail "the output is not in the data file"
}

# A compressed output (a zstd frame in the data file) with a byte changed:
# it does not decompress to its CID's bytes, so the data file is damaged and
# set aside, and the call answers as the tool would, never with garbage.
test_a_damaged_compressed_output_in_the_data_file_is_set_aside() {
  seq -f 'line %g of an answer that compresses well' 1 2000 >"$T/input"
  capture first ipfsacc run -- cat <"$T/input"
  expect_rc 0
  DATA=$IPFSACC_DIR/data.mdb
  local frame
  frame=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$DATA" | head -n 1 | cut -d: -f1)
  [[ -n $frame ]] || fail "no zstd frame in the data file"
  local at
  for at in 40 400; do
    printf 'Z' | dd of="$DATA" bs=1 seek=$((frame + at)) conv=notrunc status=none
  done
  capture second ipfsacc run -- cat <"$T/input"
  expect_rc 0
  expect_same_file "$T/input" "$T/second.out" "stdout: the tool's answer"
  expect_eq 1 "$(wc -l <"$T/second.err")" "lines on stderr"
  expect_file_contains "$T/second.err" "is corrupt"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
  # The next call starts a fresh cache, stores and hits.
  capture third ipfsacc run -- cat <"$T/input"
  capture fourth ipfsacc -v run -- cat <"$T/input"
  expect_same_file "$T/input" "$T/fourth.out" "the hit after"
  expect_explain fourth HIT
}

# A fault while a recorded output is read: the data file is cut short after
# the call mapped it (it waits for its stdin then), so reading the output
# faults. The call sets the file aside untouched and answers with one clean
# run of the tool: nothing of the recorded output is written first.
test_a_fault_while_an_output_is_read_gives_a_clean_miss_with_nothing_written_first() {
  store_output_of_cat
  mkfifo "$T/fifo"
  # Open for reading and writing: the call's stdin opens at once, and the
  # call then waits for bytes that come only when the file is cut.
  local fifo_fd pid
  exec {fifo_fd}<>"$T/fifo"
  "$IPFSACC_BIN" run -- cat <"$T/fifo" >"$T/faulted.out" 2>"$T/faulted.err" {fifo_fd}>&- &
  pid=$!
  wait_until "grep -q data.mdb /proc/$pid/maps 2>/dev/null" "the call to map the data file"
  # Cut in the middle of the output's first page: what follows is gone.
  truncate -s $(((OUTPUT_AT / 4096) * 4096 + 2048)) "$DATA"
  local cut
  cut=$(md5sum <"$DATA")
  cat "$T/input" >&"$fifo_fd"
  exec {fifo_fd}>&-
  wait "$pid"
  rc=$?
  expect_rc 0
  expect_same_file "$T/input" "$T/faulted.out" "stdout: the tool's answer, once"
  expect_eq 1 "$(wc -l <"$T/faulted.err")" "lines on stderr"
  expect_match "$(cat "$T/faulted.err")" "^ipfsacc: warning: the cache in $IPFSACC_DIR is corrupt \(.*\); " "the warning"
  expect_eq 1 "$(set_aside_count)" "corrupt files set aside"
  expect_eq "$cut" "$(md5sum <"$IPFSACC_DIR"/data.mdb.corrupt-*)" "the file set aside, unchanged since it was found damaged"
}

# The data file cut short while a hit is being written out: the answer was
# copied out of the cache and verified before its first byte, so the reader
# still gets it whole and once.
test_a_data_file_cut_while_its_answer_is_served_still_gives_it_whole() {
  store_output_of_cat
  ipfsacc run -- cat <"$T/input" 2>"$T/served.err" | {
    dd bs=100 count=1 status=none
    truncate -s 8192 "$DATA"
    cat
  } >"$T/served.out"
  expect_same_file "$T/input" "$T/served.out" "the answer served while the data file was cut"
}

# A recorded output kept as a file of its own, cut short by someone else
# while its answer is being served: the answer is copied out of the cache
# and verified before a byte of it is written, so the reader still gets it
# whole and once (never the first part of it with a success status).
test_an_output_file_cut_while_its_answer_is_served_still_gives_it_whole() {
  # Larger than an output kept in the data file (8 MiB).
  awk 'BEGIN { srand(2); for (i = 0; i < 1200000; i++) printf "%08x", rand() * 4294967296 }' >"$T/big"
  capture first ipfsacc run --no-stdin -- cat "$T/big"
  expect_rc 0
  expect_same_file "$T/big" "$T/first.out" "the first run"
  local blob
  # (Hex digits: kept as a zstd frame about half the size.)
  blob=$(find "$IPFSACC_DIR/blobs" -type f | head -n 1)
  [[ -n $blob ]] || fail "the output is not kept as a file under blobs/"
  # The reader takes a few bytes, cuts the file short, then reads the rest.
  ipfsacc run --no-stdin -- cat "$T/big" 2>"$T/served.err" | {
    dd bs=100 count=1 status=none
    : >"$blob"
    cat
  } >"$T/served.out"
  expect_same_file "$T/big" "$T/served.out" "the answer served while its file was cut"
}

run_tests
