# leaks: what calls leave on disk. A finished call leaves no lock file; a
# call killed with SIGKILL leaves files that no live process holds, and
# those go: purge and doctor remove them, stats counts them, the next miss
# clears the spill directory. A killed writer of the secrets store leaves
# no key material behind once the store is written again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# files DIR: the names of the files in DIR (none when it does not exist).
files() {
  if [[ -d $1 ]]; then
    find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
  fi
}

# expect_no_files DIR WHAT: DIR holds nothing.
expect_no_files() {
  local left
  left=$(files "$1")
  if [[ -n $left ]]; then
    fail "$2: $(printf '%s' "$left" | tr '\n' ' ') left in $1"
  fi
}

# start_blocked NAME CMD...: starts ipfsacc CMD in the background with its
# tool waiting for $T/go.NAME; sets PID to the ipfsacc process.
start_blocked() {
  local name=$1
  shift
  FAKE_WAIT_FOR=$T/go.$name "$IPFSACC_BIN" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  PID=$!
}

# start_blocked_piped NAME CMD...: start_blocked with 9 MB piped to stdin:
# more than the 8 MB kept in memory, so stdin is spilled to tmp/.
start_blocked_piped() {
  local name=$1
  shift
  head -c 9000000 /dev/zero |
    FAKE_WAIT_FOR=$T/go.$name "$IPFSACC_BIN" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  PID=$!
}

# kill_blocked NAME: SIGKILL for the ipfsacc process of start_blocked, then
# lets its orphaned tool end.
kill_blocked() {
  kill -KILL "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  touch "$T/go.$1"
}

test_a_miss_leaves_no_lock_file() {
  make_tool mytool
  run_wrapped a run -- mytool one
  expect_rc 0
  run_wrapped b run -- mytool one
  run_wrapped c run -- mytool two
  expect_invocations "mytool" 2
  expect_no_files "$IPFSACC_DIR/locks" "lock files after three finished calls"
}

test_killed_miss_with_spilled_stdin_is_counted_and_purged() {
  make_tool mytool
  FAKE_STDIN=1 start_blocked_piped k run -- mytool filter
  wait_for_log '^mytool filter$'
  wait_until 'compgen -G "$IPFSACC_DIR/tmp/stdin.*" >/dev/null' "the stdin spill file"
  kill_blocked k
  capture st ipfsacc stats
  expect_rc 0
  expect_file_contains "$T/st.out" "Left by killed calls"
  capture js ipfsacc stats --format json
  expect_eq 2 "$(json_get "$T/js.out" leftover_files)" "leftover files (lock and spill)"
  capture p ipfsacc purge --all --yes
  expect_rc 0
  expect_file_contains "$T/p.out" "Removed 2 files left by killed calls"
  expect_no_files "$IPFSACC_DIR/tmp" "spill files after purge --all"
  expect_no_files "$IPFSACC_DIR/locks" "lock files after purge --all"
  capture js2 ipfsacc stats --format json
  expect_eq 0 "$(json_get "$T/js2.out" leftover_files)" "leftover files after purge"
}

test_killed_miss_with_spilled_output_is_swept_by_the_next_miss() {
  make_tool mytool
  # More than the 1 MB of output kept in memory: it is spilled to tmp/.
  FAKE_SIZE=3000000 start_blocked k run -- mytool big
  wait_until 'compgen -G "$IPFSACC_DIR/tmp/spill.*" >/dev/null' "the output spill file"
  kill_blocked k
  run_wrapped other run -- mytool other
  expect_rc 0
  expect_no_files "$IPFSACC_DIR/tmp" "spill files after the next miss"
}

test_doctor_removes_what_killed_calls_left() {
  make_tool mytool
  start_blocked k run -- mytool slow
  wait_for_log '^mytool slow$'
  wait_until '[[ -n $(files "$IPFSACC_DIR/locks") ]]' "the key's lock file"
  kill_blocked k
  capture d ipfsacc doctor
  expect_file_contains "$T/d.out" "leftovers: removed 1 file"
  expect_no_files "$IPFSACC_DIR/locks" "lock files after doctor"
}

test_files_in_use_survive_purge_and_doctor() {
  make_tool mytool
  head -c 9000000 /dev/zero | FAKE_LOG='' FAKE_STDIN=1 mytool filter >"$T/direct.out"
  FAKE_STDIN=1 start_blocked_piped live run -- mytool filter
  local pid=$PID
  wait_for_log '^mytool filter$'
  wait_until 'compgen -G "$IPFSACC_DIR/tmp/stdin.*" >/dev/null' "the stdin spill file"
  local spill lock
  spill=$(files "$IPFSACC_DIR/tmp")
  lock=$(files "$IPFSACC_DIR/locks")
  capture p ipfsacc purge --all --yes
  expect_rc 0
  capture d ipfsacc doctor
  expect_not_contains "$(cat "$T/p.out" "$T/d.out")" "left by killed calls" "purge and doctor"
  expect_eq "$spill" "$(files "$IPFSACC_DIR/tmp")" "spill file of the running call"
  expect_eq "$lock" "$(files "$IPFSACC_DIR/locks")" "lock file of the running call"
  touch "$T/go.live"
  wait "$pid"
  expect_eq 0 "$?" "exit status of the running call"
  expect_same_file "$T/direct.out" "$T/live.out" "stdout of the running call"
  expect_no_files "$IPFSACC_DIR/tmp" "spill files once it ended"
  expect_no_files "$IPFSACC_DIR/locks" "lock files once it ended"
  # And it was stored: the same call is a hit.
  head -c 9000000 /dev/zero | FAKE_STDIN=1 ipfsacc run -- mytool filter >"$T/again.out"
  expect_same_file "$T/direct.out" "$T/again.out" "stdout of the hit"
  expect_invocations "mytool filter" 1
}

test_killed_secrets_writer_leaves_no_key_material() {
  local dir=$XDG_CONFIG_HOME/ipfsacc
  capture set1 ipfsacc secrets set first <<<one
  expect_rc 0
  # What a writer killed half-way leaves: its temporary files (the new key
  # of a rotation among them) and the new key of a rotation killed before
  # it re-encrypted the store.
  printf 'key material\n' >"$dir/secrets.key.new.tmp.999999"
  printf 'store\n' >"$dir/secrets.enc.tmp.999999"
  head -c 32 /dev/urandom >"$dir/secrets.key.new"
  capture set2 ipfsacc secrets set second <<<two
  expect_rc 0
  expect_eq "secrets.enc secrets.key secrets.lock" \
    "$(files "$dir" | tr '\n' ' ' | sed 's/ $//')" "files of the secrets store"
  capture get ipfsacc secrets get first
  expect_eq one "$(cat "$T/get.out")" "secrets get first"
  # A rotation afterwards leaves only the store and its key.
  capture rot ipfsacc secrets rotate-key
  expect_rc 0
  expect_eq "secrets.enc secrets.key secrets.lock" \
    "$(files "$dir" | tr '\n' ' ' | sed 's/ $//')" "files after rotate-key"
  capture get2 ipfsacc secrets get second
  expect_eq two "$(cat "$T/get2.out")" "secrets get second after rotate-key"
}

run_tests
