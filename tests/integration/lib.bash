# lib.bash: shared setup and helpers for the integration suites.
#
# A suite is tests/integration/NAME.bash: it sources this file, defines
# functions named test_<case>, and ends with `run_tests`. CTest runs it as
# `bash tests/integration/NAME.bash` with IPFSACC_BIN (the binary under test)
# and IPFSACC_SOURCE_DIR (the repository root) in the environment. Exit status:
# 0 all cases passed, 1 a case failed, 125 the suite was skipped (prerequisite
# missing; CTest reports it as skipped).
#
# Every case runs in its own subshell with a fresh cache, home, log of fake
# tool invocations and working directory, so cases do not depend on each other.
# The fake tools (tests/fakes) stand in for gh, claude, ... and log each call.
#
# Run one case: TEST_FILTER=regex bash tests/integration/basic.bash
# Run one shard of a suite, as CTest does for the long ones: TEST_SHARD=K/N
# runs the Kth of every N cases (1 <= K <= N).
# Keep the temporary files for inspection: TEST_KEEP=1 ...

set -u
set -o pipefail

SUITE=$(basename "${BASH_SOURCE[1]}" .bash)

if [[ -z ${IPFSACC_BIN:-} ]]; then
  echo "$SUITE: IPFSACC_BIN is not set (the ipfsacc binary to test)" >&2
  exit 1
fi
if [[ ! -x $IPFSACC_BIN ]]; then
  echo "$SUITE: IPFSACC_BIN=$IPFSACC_BIN is not an executable file" >&2
  exit 1
fi
IPFSACC_BIN=$(cd "$(dirname "$IPFSACC_BIN")" && pwd)/$(basename "$IPFSACC_BIN")
IPFSACC_SOURCE_DIR=${IPFSACC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FAKES=$IPFSACC_SOURCE_DIR/tests/fakes
if [[ ! -x $FAKES/fake-cli ]]; then
  echo "$SUITE: $FAKES/fake-cli is missing or not executable" >&2
  exit 1
fi

# IPFSACC_BIN and IPFSACC_SOURCE_DIR stay shell variables but leave the
# environment: ipfsacc warns about IPFSACC_* variables it does not know.
export -n IPFSACC_BIN IPFSACC_SOURCE_DIR

# Nothing from the outer environment may change keys or behaviour: no tokens,
# no ipfsacc settings, no fake-tool controls, no terminal width.
for _v in $(compgen -e); do
  case $_v in
    IPFSACC_* | FAKE_* | GH_* | GITHUB_* | HF_* | HUGGING* | ANTHROPIC_* | CLAUDE_* | \
      GEMINI_* | GOOGLE_* | GROQ_* | VAST* | OPENAI_* | CODE_* | VSCODE_*)
      unset "$_v" ;;
  esac
done
unset _v COLUMNS LINES NO_COLOR CLICOLOR CLICOLOR_FORCE PAGER GIT_DIR GIT_WORK_TREE
export LC_ALL=C TZ=UTC

# A suite never reads the caller's terminal: stdin is empty unless a case
# pipes something in.
exec </dev/null

SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ipfsacc-$SUITE.XXXXXX") || exit 1
chmod 755 "$SUITE_TMP"
_cleanup() {
  if [[ ${TEST_KEEP:-} == 1 ]]; then
    echo "$SUITE: kept $SUITE_TMP"
  else
    chmod -R u+rwX "$SUITE_TMP" 2>/dev/null
    rm -rf "$SUITE_TMP"
  fi
}
trap _cleanup EXIT

# stop_leftovers: processes a case left running that still hold the suite's
# stdout or stderr (a sleep of a watchdog, a tool whose parent was killed)
# are named and killed: CTest waits for every writer of its pipe, so each
# would hold the run up for as long as it lives.
stop_leftovers() {
  local ours fd pid
  ours=$(readlink "/proc/$$/fd/1")
  [[ $ours == pipe:* ]] || return 0
  for fd in /proc/[0-9]*/fd/[12]; do
    pid=${fd#/proc/}
    pid=${pid%%/*}
    ((pid != $$ && pid != BASHPID)) || continue
    [[ $(readlink "$fd" 2>/dev/null) == "$ours" ]] || continue
    echo "$SUITE: left running, stopped: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
    kill -KILL "$pid" 2>/dev/null
  done
}

# Seconds one ipfsacc call may take before the case fails instead of hanging.
TEST_CALL_TIMEOUT=${TEST_CALL_TIMEOUT:-60}

# ---------------------------------------------------------------------------
# Per-case setup.

# setup_case NAME: fresh directories and environment for one case. Sets T (the
# case's directory) and W (its working directory, the current directory).
setup_case() {
  CASE=$1
  T=$SUITE_TMP/$CASE
  W=$T/work
  mkdir -p "$T/bin" "$T/home/.config" "$T/home/.cache" "$W"
  export IPFSACC_DIR=$T/cache
  export HOME=$T/home
  export XDG_CONFIG_HOME=$T/home/.config
  export XDG_CACHE_HOME=$T/home/.cache
  export FAKE_LOG=$T/fake.log
  export PATH=$T/bin:$FAKES:$PATH
  : >"$FAKE_LOG"
  clock_start
  cd "$W" || exit 1
}

# The cache's clock. Every case starts with it stopped at the real time the
# case began (IPFSACC_NOW): entries' ages, expiry and last use then depend
# only on what the case says, never on how fast the machine runs it. A case
# moves time forward with clock_advance instead of sleeping past a TTL. The
# real time is the start, not a fixed date, so that a Redis server (which
# expires keys by its own clock) agrees with ipfsacc about what is fresh.

# clock_start: stop the clock at the real time now.
clock_start() {
  export IPFSACC_NOW
  IPFSACC_NOW=$(date +%s)
}

# clock_advance SECONDS: move the clock forward (whole seconds).
clock_advance() {
  IPFSACC_NOW=$((IPFSACC_NOW + $1))
}

# clock_real: let the cache's clock run with the real one again (a case
# that measures how a real wait behaves).
clock_real() {
  unset IPFSACC_NOW
}

# ---------------------------------------------------------------------------
# Failing and skipping.

# The file:line of the test_* function that is running (the assertion's
# caller, however deep the helper that failed).
_where() {
  local i
  for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
    if [[ ${FUNCNAME[i]} == test_* ]]; then
      printf '%s:%s' "$(basename "${BASH_SOURCE[i]}")" "${BASH_LINENO[i - 1]}"
      return
    fi
  done
  printf '%s' "$SUITE"
}

# fail MESSAGE...: the case fails here.
fail() {
  printf '  %s (%s): %s\n' "$CASE" "$(_where)" "$*" >&2
  exit 1
}

# skip REASON: the case is skipped (it cannot run on this machine).
skip() {
  printf '  %s: skipped: %s\n' "$CASE" "$*" >&2
  exit 125
}

# Show a file for a failure message: text as is, binary as od, long cut short.
_show() {
  local f=$1
  if [[ ! -e $f ]]; then
    echo "    <$f does not exist>"
  elif [[ ! -s $f ]]; then
    echo "    <empty>"
  elif grep -q '[^[:print:][:space:]]' "$f" 2>/dev/null; then
    od -An -c "$f" | head -n 12 | sed 's/^/    /'
  else
    head -n 20 "$f" | cut -c 1-200 | sed 's/^/    | /'
    if [[ $(wc -l <"$f") -gt 20 ]]; then echo "    | ..."; fi
  fi
}

# ---------------------------------------------------------------------------
# Assertions.

expect_eq() { # EXPECTED ACTUAL [WHAT]
  if [[ $1 != "$2" ]]; then
    fail "${3:-value}: expected '$1', got '$2'"
  fi
}

expect_ne() { # UNEXPECTED ACTUAL [WHAT]
  if [[ $1 == "$2" ]]; then
    fail "${3:-value}: expected anything but '$1'"
  fi
}

expect_contains() { # HAYSTACK NEEDLE [WHAT]
  if [[ $1 != *"$2"* ]]; then
    fail "${3:-text} does not contain '$2'; it is: '$1'"
  fi
}

expect_not_contains() { # HAYSTACK NEEDLE [WHAT]
  if [[ $1 == *"$2"* ]]; then
    fail "${3:-text} contains '$2'; it is: '$1'"
  fi
}

expect_match() { # STRING ERE [WHAT]
  if [[ ! $1 =~ $2 ]]; then
    fail "${3:-text} does not match /$2/; it is: '$1'"
  fi
}

expect_file_contains() { # FILE NEEDLE
  if ! grep -qF -- "$2" "$1"; then
    echo "  $1:" >&2
    _show "$1" >&2
    fail "$(basename "$1") does not contain '$2'"
  fi
}

expect_empty() { # FILE
  if [[ -s $1 ]]; then
    echo "  $1:" >&2
    _show "$1" >&2
    fail "$(basename "$1") is not empty"
  fi
}

expect_same_file() { # EXPECTED_FILE ACTUAL_FILE [WHAT]
  if ! cmp -s "$1" "$2"; then
    {
      echo "  expected ($1):"
      _show "$1"
      echo "  actual ($2):"
      _show "$2"
      cmp "$1" "$2" 2>&1 | sed 's/^/  /'
    } >&2
    fail "${3:-output} differs: $(basename "$1") vs $(basename "$2")"
  fi
}

# expect_rc N: the exit status of the last capture was N.
expect_rc() {
  expect_eq "$1" "$rc" "exit status"
}

# ---------------------------------------------------------------------------
# Running things.

# BOUNDED CMD...: CMD bounded in time, so that a hang fails the case instead
# of the whole run. --foreground keeps CMD in the caller's process group, and
# timeout re-raises the signal that killed CMD, so the exit status is what a
# shell would report for CMD itself. A script, not a function: bash reports
# "Terminated" for a child killed by a signal on its own stderr, which inside
# a function called with 2>FILE would land in FILE.
BOUNDED=$SUITE_TMP/bounded
cat >"$BOUNDED" <<EOF
#!/bin/sh
exec timeout --foreground -k 5 $TEST_CALL_TIMEOUT "\$@"
EOF
chmod 755 "$BOUNDED"

# ipfsacc ARGS...: the binary under test, bounded in time.
ipfsacc() {
  "$BOUNDED" "$IPFSACC_BIN" "$@"
}

# capture NAME CMD...: run CMD with stdout to $T/NAME.out, stderr to
# $T/NAME.err; its exit status goes to $T/NAME.rc and the variable rc.
# CMD may be the function ipfsacc.
capture() {
  local name=$1
  shift
  if [[ $1 == ipfsacc ]]; then
    set -- "$BOUNDED" "$IPFSACC_BIN" "${@:2}"
  fi
  "$@" >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
  echo "$rc" >"$T/$name.rc"
}

# measured NAME ARGS...: capture NAME of `ipfsacc ARGS...`, its largest
# resident size (kB, GNU time) in $T/NAME.rss.
measured() {
  local name=$1
  shift
  capture "$name" "$BOUNDED" /usr/bin/time -o "$T/$name.rss" -f %M \
    "$IPFSACC_BIN" "$@"
}

# expect_rss_below NAME MB: the call measured as NAME stayed under MB
# megabytes resident.
expect_rss_below() {
  local kb
  kb=$(tail -n 1 "$T/$1.rss")
  [[ $kb =~ ^[0-9]+$ ]] || fail "no resident size for $1: $(cat "$T/$1.rss")"
  if ((kb >= $2 * 1000)); then
    fail "$1 held $((kb / 1000)) MB (the bound is $2 MB)"
  fi
}

# capture_combined NAME CMD...: stdout and stderr together (2>&1) into
# $T/NAME.all, so their interleaving is visible.
capture_combined() {
  local name=$1
  shift
  if [[ $1 == ipfsacc ]]; then
    set -- "$BOUNDED" "$IPFSACC_BIN" "${@:2}"
  fi
  "$@" >"$T/$name.all" 2>&1
  rc=$?
  echo "$rc" >"$T/$name.rc"
}

# on_terminal NAME COMMAND_STRING: run COMMAND_STRING (shell syntax) with a
# terminal as stdin, stdout and stderr (script, from bsdutils), bounded in
# time. What the terminal received goes to $T/NAME.tty, what it shows at the
# end to $T/NAME.screen (screen_of), the exit status to rc.
on_terminal() {
  local name=$1 cmd=$2
  SHELL=/bin/bash timeout --foreground -k 5 "$TEST_CALL_TIMEOUT" \
    script -qfec "$cmd" /dev/null >"$T/$name.tty" 2>&1
  rc=$?
  screen_of "$T/$name.tty" >"$T/$name.screen"
}

# screen_of FILE: what a terminal shows once it has received FILE, line by
# line: a '\r' goes back to the start of the line, and what follows is
# written over it; spaces at the end of a line are left out.
screen_of() {
  LC_ALL=C awk '{
    n = split($0, parts, "\r")
    line = ""
    for (i = 1; i <= n; i++) line = parts[i] substr(line, length(parts[i]) + 1)
    sub(/ +$/, "", line)
    print line
  }' "$1"
}

# expect_screen NAME PREFIX...: at the end, the terminal of on_terminal NAME
# shows one line per PREFIX, in order, each beginning with it, and no other
# (empty lines aside): whatever was drawn and erased meanwhile is gone.
expect_screen() {
  local name=$1 line i=0
  shift
  local -a lines=()
  while IFS= read -r line; do
    [[ -n $line ]] && lines+=("$line")
  done <"$T/$name.screen"
  local prefix ok=1
  ((${#lines[@]} == $#)) || ok=0
  for prefix in "$@"; do
    [[ ${lines[i]-} == "$prefix"* ]] || ok=0
    i=$((i + 1))
  done
  if ((!ok)); then
    echo "  $T/$name.screen:" >&2
    _show "$T/$name.screen" >&2
    fail "the terminal of $name does not show just: $*"
  fi
}

# run_direct NAME CMD...: the tool itself, as the user would run it without
# ipfsacc. Not logged as an invocation.
run_direct() {
  local name=$1
  shift
  FAKE_LOG='' capture "$name" "$@"
}

# run_wrapped NAME [IPFSACC OPTIONS] CMD...: the same through ipfsacc.
run_wrapped() {
  local name=$1
  shift
  capture "$name" ipfsacc "$@"
}

# expect_same NAME1 NAME2: two captures have identical stdout, stderr and
# exit status, byte for byte.
expect_same() {
  expect_same_file "$T/$1.out" "$T/$2.out" "stdout"
  expect_same_file "$T/$1.err" "$T/$2.err" "stderr"
  expect_eq "$(cat "$T/$1.rc")" "$(cat "$T/$2.rc")" "exit status of $2 (vs $1)"
}

# transparent LABEL [IPFSACC OPTIONS] CMD...: run CMD directly and through
# ipfsacc (with the options given before the tool name) and check the two are
# identical. Options are the arguments up to the first one not starting with
# "-", plus the argument after --ttl; for `run [RUN OPTIONS] -- COMMAND` the
# direct call is COMMAND. Leaves $T/LABEL.direct.* and
# $T/LABEL.wrapped.*; rc is the wrapped exit status.
transparent() {
  local label=$1
  shift
  local opts=()
  while [[ $# -gt 0 && $1 == -* ]]; do
    opts+=("$1")
    if [[ $1 == --ttl ]]; then
      opts+=("$2")
      shift
    fi
    shift
  done
  if [[ ${1:-} == run ]]; then
    # run [RUN OPTIONS] -- COMMAND: the command alone is the direct call.
    while [[ $# -gt 0 && $1 != -- ]]; do
      opts+=("$1")
      shift
    done
    opts+=("$1")
    shift
  fi
  run_direct "$label.direct" "$@"
  run_wrapped "$label.wrapped" "${opts[@]}" "$@"
  expect_same "$label.direct" "$label.wrapped"
}

# invocations PREFIX: how many times the fake tools were called with a command
# line equal to PREFIX or starting with "PREFIX " (e.g. "gh" or "gh pr list").
# Version probes (TOOL --version, TOOL version) and signal notes are not
# counted: ipfsacc may probe the version behind the scenes.
invocations() {
  awk -v p="$1" '
    /^#/ || / --version$/ && NF == 2 || / version$/ && NF == 2 { next }
    $0 == p || index($0, p " ") == 1 { n++ }
    END { print n + 0 }' "$FAKE_LOG"
}

# version_probes TOOL: how many times TOOL --version / TOOL version ran.
version_probes() {
  grep -c -x -e "$1 --version" -e "$1 version" "$FAKE_LOG"
}

expect_invocations() { # PREFIX N
  local n
  n=$(invocations "$1")
  if [[ $n != "$2" ]]; then
    echo "  fake tool log ($FAKE_LOG):" >&2
    _show "$FAKE_LOG" >&2
    fail "'$1' ran $n times, expected $2"
  fi
}

# wait_for_log PATTERN [SECONDS]: wait until a line of the fake log matches
# the extended regex PATTERN (default 60 s, a safety net). Fails the case on
# timeout.
wait_for_log() {
  local deadline=$((SECONDS + ${2:-60}))
  until grep -qE -- "$1" "$FAKE_LOG" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      _show "$FAKE_LOG" >&2
      fail "timed out waiting for /$1/ in the fake tool log"
    fi
    sleep 0.05
  done
}

# wait_until CONDITION WHAT [SECONDS]: wait until the bash expression
# CONDITION (evaluated each time) holds, or fail the case after SECONDS
# (default 60: a safety net for a hang, not a budget). WHAT says what is
# awaited, for the failure message.
wait_until() {
  local deadline=$((SECONDS + ${3:-60}))
  until eval "$1"; do
    if ((SECONDS >= deadline)); then
      fail "timed out waiting for $2"
    fi
    sleep 0.05
  done
}

# ---------------------------------------------------------------------------
# --explain lines.

# explain_lines FILE: the lines ipfsacc added to a stderr capture.
explain_lines() {
  grep -a '^ipfsacc: ' "$1"
}

# strip_explain FILE OUT: FILE without the lines ipfsacc added.
strip_explain() {
  grep -av '^ipfsacc: ' "$1" >"$2"
}

# expect_explain NAME KIND [RULE [REASON]]: the wrapped capture NAME (with -v)
# has exactly one "ipfsacc: KIND ..." line on stderr, with the key CID for a
# HIT or MISS, rule=RULE and reason=REASON if given; the rest of its stderr is
# the tool's. Sets CID to the key.
expect_explain() {
  local name=$1 kind=$2 rule=${3:-} reason=${4:-} lines
  lines=$(explain_lines "$T/$name.err")
  if [[ $(printf '%s\n' "$lines" | grep -c '^ipfsacc: ') != 1 ]]; then
    _show "$T/$name.err" >&2
    fail "expected exactly one 'ipfsacc: ' line on stderr of $name"
  fi
  expect_match "$lines" "^ipfsacc: $kind " "explain line"
  CID=
  if [[ $kind == HIT || $kind == MISS ]]; then
    expect_match "$lines" "(^| )bafkrei[a-z2-7]{52}( |$)" "explain line (key CID)"
    CID=$(printf '%s\n' "$lines" | grep -oE 'bafkrei[a-z2-7]{52}' | head -n 1)
  fi
  if [[ -n $rule ]]; then
    expect_contains "$lines" "rule=$rule" "explain line"
  fi
  if [[ -n $reason ]]; then
    expect_contains "$lines" "reason=$reason" "explain line"
  fi
}

# ---------------------------------------------------------------------------
# Statistics.

# json_get FILE PATH: the scalar at PATH (keys joined by ".", e.g.
# "hits" or "tools.gh.misses") in the JSON document FILE. Prints nothing if
# there is none. A small tokenizer in grep + awk: no jq on a fresh machine.
json_get() {
  grep -oE '"([^"\\]|\\.)*"|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null|[][{}:,]' "$1" |
    awk -v want="$2" '
      function here(   p, i) {
        p = key[1]
        for (i = 2; i <= depth; i++) p = p "." key[i]
        return p
      }
      $0 == "{" { depth++; type[depth] = "o"; iskey[depth] = 1; next }
      $0 == "[" { depth++; type[depth] = "a"; key[depth] = 0; next }
      $0 == "}" || $0 == "]" { depth--; next }
      $0 == ":" { iskey[depth] = 0; next }
      $0 == "," {
        if (type[depth] == "o") iskey[depth] = 1; else key[depth]++
        next
      }
      {
        v = $0
        if (type[depth] == "o" && iskey[depth]) {
          key[depth] = substr(v, 2, length(v) - 2)
          next
        }
        if (v ~ /^"/) v = substr(v, 2, length(v) - 2)
        if (here() == want) { print v; exit }
      }'
}

# stats_json: ipfsacc stats --format json into $T/stats.json (fails the case
# if that fails).
stats_json() {
  if ! ipfsacc stats --format json >"$T/stats.json" 2>"$T/stats.err"; then
    _show "$T/stats.err" >&2
    fail "ipfsacc stats --format json failed"
  fi
}

# stat_value PATH: one number from ipfsacc stats --format json.
stat_value() {
  stats_json
  json_get "$T/stats.json" "$1"
}

# expect_stat PATH VALUE: e.g. expect_stat hits 1, expect_stat tools.gh.misses 1.
expect_stat() {
  local v
  v=$(stat_value "$1")
  if [[ -z $v ]]; then
    _show "$T/stats.json" >&2
    fail "no '$1' in ipfsacc stats --format json"
  fi
  # Compare as numbers: 1 and 1.0 are the same.
  if ! awk -v a="$v" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'; then
    _show "$T/stats.json" >&2
    fail "stat $1: expected $2, got $v"
  fi
}

# ---------------------------------------------------------------------------
# Fixtures.

# make_git_repo DIR [REMOTE_URL]: a git repository whose origin is REMOTE_URL
# (default https://github.com/o/r.git).
make_git_repo() {
  local dir=$1 url=${2:-https://github.com/o/r.git}
  mkdir -p "$dir"
  git -C "$dir" init -q
  git -C "$dir" remote add origin "$url"
}

# make_tool NAME: an extra fake tool called NAME on PATH (for `ipfsacc run`).
make_tool() {
  ln -sf "$FAKES/fake-cli" "$T/bin/$1"
}

# ---------------------------------------------------------------------------
# The runner.

# children_cpu_ms FILE: sets cpu_ms to the CPU milliseconds (user and
# system) of the shell's finished child processes, as `times` reports them
# (run in this shell, not in a subshell, and written to FILE).
children_cpu_ms() {
  times >"$1"
  cpu_ms=$(tail -n 1 "$1" | tr 'ms' '  ' |
    awk '{ printf "%d", ($1 * 60 + $2 + $3 * 60 + $4) * 1000 }')
}

# run_tests: run every test_* function of the suite, in the order they are
# defined, each in a subshell with a fresh setup_case. Prints PASS/FAIL/SKIP
# per case with the seconds and CPU seconds it took (to balance shards), a
# summary line, and exits with the suite's status.
run_tests() {
  local names=() name rc passed=0 failed=0 skipped=0 failed_names=()
  local times_file
  times_file=$(mktemp)
  shopt -s extdebug
  while read -r name; do
    names+=("$name")
  done < <(declare -F | awk '{ print $3 }' | grep '^test_' |
    while read -r f; do declare -F "$f"; done | sort -k2,2n | awk '{ print $1 }')
  shopt -u extdebug
  local shard=1 shards=1 index=0
  if [[ -n ${TEST_SHARD:-} ]]; then
    if [[ ! $TEST_SHARD =~ ^([0-9]+)/([0-9]+)$ ]] ||
      ((BASH_REMATCH[1] < 1 || BASH_REMATCH[1] > BASH_REMATCH[2])); then
      echo "$SUITE: TEST_SHARD=$TEST_SHARD is not K/N with 1 <= K <= N" >&2
      exit 1
    fi
    shard=${BASH_REMATCH[1]} shards=${BASH_REMATCH[2]}
  fi
  for name in "${names[@]}"; do
    local case=${name#test_}
    index=$((index + 1))
    if (((index - 1) % shards != shard - 1)); then
      continue
    fi
    if [[ -n ${TEST_FILTER:-} && ! $case =~ $TEST_FILTER ]]; then
      continue
    fi
    local started=$SECONDS cpu_ms cpu_before
    children_cpu_ms "$times_file"
    cpu_before=$cpu_ms
    (
      setup_case "$case"
      "$name"
    )
    rc=$?
    children_cpu_ms "$times_file"
    local took="($((SECONDS - started)) s, $(((cpu_ms - cpu_before) / 1000)) s CPU)"
    case $rc in
      0) echo "PASS $SUITE.$case $took"; passed=$((passed + 1)) ;;
      125) echo "SKIP $SUITE.$case $took"; skipped=$((skipped + 1)) ;;
      *) echo "FAIL $SUITE.$case $took"; failed=$((failed + 1)); failed_names+=("$case") ;;
    esac
  done
  rm -f "$times_file"
  stop_leftovers
  echo "$passed passed, $failed failed${skipped:+, $skipped skipped}"
  if ((failed > 0)); then
    echo "failed: ${failed_names[*]}"
    exit 1
  fi
  if ((passed == 0 && skipped > 0)); then
    exit 125
  fi
  exit 0
}
