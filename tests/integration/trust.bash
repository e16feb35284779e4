# trust: input ipfsacc does not control. Arguments and variables that are
# bytes rather than UTF-8, API answers of any shape, broken rule files and
# import lines, a tool that writes to descriptors it was not given, and
# standard descriptors closed by the caller: the tool still runs and exits
# as it would have, nothing crashes, and nothing wrong is cached.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# Byte strings that are not UTF-8, though some look close: UTF-16
# surrogates written as UTF-8, overlong forms, a code point past U+10FFFF,
# a lead byte UTF-8 never uses, a lone continuation byte, a cut sequence.
NOT_UTF8=(
  $'\xed\xa0\x80' $'\xed\xb0\x80' $'\xc0\xaf' $'\xe0\x80\xaf'
  $'\xf4\x90\x80\x80' $'\xf5\x80\x80\x80' $'\xff' $'\x80' $'a\xe2\x82'
)

# ---------------------------------------------------------------------------
# Bytes that are not UTF-8 in argv and the environment.

test_arguments_that_are_not_utf8_run_and_are_replayed_byte_exactly() {
  local i arg
  for i in "${!NOT_UTF8[@]}"; do
    arg=${NOT_UTF8[i]}
    run_direct "d$i" echo "$arg"
    run_wrapped "first$i" -v run -- echo "$arg"
    expect_rc 0
    # Each byte string has a key of its own: the first call of each misses.
    expect_explain "first$i" MISS
    expect_same_file "$T/d$i.out" "$T/first$i.out" "stdout of the first call ($i)"
    run_wrapped "second$i" -v run -- echo "$arg"
    expect_rc 0
    expect_explain "second$i" HIT
    expect_same_file "$T/d$i.out" "$T/second$i.out" "stdout of the replay ($i)"
  done
}

test_a_keyed_variable_that_is_not_utf8_is_part_of_the_key() {
  GH_REPO=$'\xed\xb0\x80' transparent first gh pr list
  expect_rc 0
  GH_REPO=$'\xed\xb0\x80' run_wrapped again -v gh pr list
  expect_rc 0
  expect_explain again HIT
  expect_same_file "$T/first.direct.out" "$T/again.out"
  GH_REPO=$'\xed\xa0\x80' run_wrapped other -v gh pr list
  expect_rc 0
  expect_explain other MISS
  expect_invocations "gh pr list" 2
}

test_a_key_variable_name_that_is_not_utf8_keys_the_call() {
  run_wrapped first -v run --key-env $'V\xff' -- echo hi
  expect_rc 0
  expect_explain first MISS
  expect_eq hi "$(cat "$T/first.out")"
  # env after timeout's sh script: dash drops a variable with such a name.
  capture set "$BOUNDED" env $'V\xff=1' "$IPFSACC_BIN" -v run --key-env $'V\xff' -- echo hi
  expect_rc 0
  expect_eq hi "$(cat "$T/set.out")"
  expect_explain set MISS
  capture again "$BOUNDED" env $'V\xff=1' "$IPFSACC_BIN" -v run --key-env $'V\xff' -- echo hi
  expect_explain again HIT
}

test_cache_commands_show_calls_that_are_not_utf8() {
  make_tool $'tool\xff'
  run_wrapped first -v run -- $'tool\xff' $'\xed\xa0\x80'
  expect_rc 0
  expect_explain first MISS
  local cid=$CID
  for command in "list" "list --json" "show $cid" "show $cid --json" \
    "stats" "stats --format json" "stats --format prometheus"; do
    # shellcheck disable=SC2086
    capture cmd ipfsacc $command
    expect_rc 0
    [[ -s $T/cmd.out ]] || fail "ipfsacc $command printed nothing"
  done
  capture exported ipfsacc export "$T/all.jsonl"
  expect_rc 0
  IPFSACC_DIR=$T/elsewhere capture imported ipfsacc import "$T/all.jsonl"
  expect_rc 0
  expect_contains "$(cat "$T/imported.out")" "Imported 1 entry"
  IPFSACC_DIR=$T/elsewhere run_wrapped replay -v run -- $'tool\xff' $'\xed\xa0\x80'
  expect_explain replay HIT
  expect_same_file "$T/first.out" "$T/replay.out"
}

# ---------------------------------------------------------------------------
# Answers no well-behaved API gives.

if command -v node >/dev/null 2>&1; then
  HAVE_NODE=1
fi

# start_canned: the canned-answer server (tests/fakes/http/canned.mjs) in
# $T/api; sets API_URL and API_DIR. Stopped when the case ends.
start_canned() {
  [[ -n ${HAVE_NODE:-} ]] || skip "node is not installed (the fake API server needs it)"
  API_DIR=$T/api
  mkdir -p "$API_DIR"
  : >"$API_DIR/requests.log"
  node "$FAKES/http/canned.mjs" "$API_DIR" 2>"$API_DIR/server.err" &
  API_PID=$!
  trap 'kill "$API_PID" 2>/dev/null' EXIT
  local deadline=$((SECONDS + 60))
  until [[ -s $API_DIR/port ]] || ((SECONDS >= deadline)); do
    sleep 0.05
  done
  [[ -s $API_DIR/port ]] || { _show "$API_DIR/server.err" >&2; fail "the canned API did not start"; }
  API_URL=http://127.0.0.1:$(cat "$API_DIR/port")
}

# answer STATUS BODY: what the canned server answers from now on.
answer() {
  printf '%s\n' "$1" >"$API_DIR/status"
  printf '%s' "$2" >"$API_DIR/body"
}

requests() { wc -l <"$API_DIR/requests.log" | tr -d ' '; }

# expect_uncached_failure LABEL STREAM NEEDLE CMD...: CMD, twice, exits 1
# (not a crash) with NEEDLE on STREAM (out or err), and each time asks the
# API again: the failure is not cached.
expect_uncached_failure() {
  local label=$1 stream=$2 needle=$3 before
  shift 3
  before=$(requests)
  run_wrapped "$label" "$@"
  expect_rc 1
  expect_contains "$(cat "$T/$label.$stream")" "$needle" "std$stream of '$label'"
  run_wrapped "$label.again" "$@"
  expect_rc 1
  expect_eq $((before + 2)) "$(requests)" "requests after '$label' twice"
}

deep_json() { # DEPTH
  local open close
  open=$(printf '%*s' "$1" '' | tr ' ' '[')
  close=$(printf '%*s' "$1" '' | tr ' ' ']')
  printf '%s%s' "$open" "$close"
}

test_hostile_anthropic_answers_are_errors_never_crashes_nor_cached() {
  start_canned
  make_git_repo "$W" # claude -p is cached in a repository only
  export IPFSACC_PATH=$T/bin ANTHROPIC_BASE_URL=$API_URL ANTHROPIC_API_KEY=sk-ant-test
  # A well-formed answer is cached: the rows below would see it.
  answer 200 '{"content":[{"type":"text","text":"fine"}]}'
  run_wrapped good claude -p good
  expect_rc 0
  expect_eq fine "$(cat "$T/good.out")"
  run_wrapped good.again claude -p good
  expect_eq 1 "$(requests)" "requests for a well-formed answer asked twice"

  local rows=(
    # STATUS | STREAM | NEEDLE | BODY
    '400|out|API Error: 400 {"error":{"message":null}}|{"error":{"message":null}}'
    '400|out|API Error: 400 {"error":{"message":123}}|{"error":{"message":123}}'
    '529|out|API Error: 529 {"error":{"message":["a"]}}|{"error":{"message":["a"]}}'
    '400|out|API Error: 400 plain|{"error":"plain"}'
    '500|out|API Error: 500 {"error":[1]}|{"error":[1]}'
    '500|out|API Error: 500 <html>bad gateway|<html>bad gateway'
    '200|err|claude: the API'"'"'s answer has no content|{"content":{"type":"text","text":"x"}}'
    '200|err|claude: the API'"'"'s answer has no content|{"content":null}'
    '200|err|claude: the API'"'"'s answer has no content|[]'
    '200|err|claude: the API'"'"'s answer has no content|"content"'
    '200|err|claude: the API'"'"'s answer has no content|not json'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":["text"]}'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":[{"type":"text","text":null}]}'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":[{"type":"text","text":5}]}'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":[{"type":"text"}]}'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":[{"type":1}]}'
    '200|err|claude: the API'"'"'s answer has a content block|{"content":[{"type":"text","text":"a"},7]}'
  )
  local row status stream needle body i=0
  for row in "${rows[@]}"; do
    IFS='|' read -r status stream needle body <<<"$row"
    answer "$status" "$body"
    expect_uncached_failure "row$i" "$stream" "$needle" claude -p "q$i"
    expect_uncached_failure "row$i.json" "$stream" "" claude -p "q$i" --output-format json
    i=$((i + 1))
  done
  # Nested deeper than any parser's stack.
  answer 200 "$(deep_json 100000)"
  expect_uncached_failure deep err "has no content" claude -p deep
  # An error body that is not UTF-8 still gives JSON output.
  answer 500 $'\xff\xfe oops'
  expect_uncached_failure bytes out '"is_error":true' claude -p bytes --output-format json
}

test_hostile_gemini_answers_are_errors_never_crashes_nor_cached() {
  start_canned
  make_git_repo "$W"
  export IPFSACC_PATH=$T/bin GOOGLE_GEMINI_BASE_URL=$API_URL GEMINI_API_KEY=gm-test
  answer 200 '{"candidates":[{"content":{"parts":[{"text":"fine"}]}}]}'
  run_wrapped good gemini -p good
  expect_rc 0
  expect_eq fine "$(cat "$T/good.out")"
  run_wrapped good.again gemini -p good
  expect_eq 1 "$(requests)" "requests for a well-formed answer asked twice"

  local none="gemini: the API's answer has no candidates"
  local part="gemini: the API's answer has a part"
  local rows=(
    '400|err|Error when talking to Gemini API 400 {"error":{"message":null}}|{"error":{"message":null}}'
    '400|err|Error when talking to Gemini API 400 {"error":{"message":123}}|{"error":{"message":123}}'
    '403|err|Error when talking to Gemini API 403 denied|{"error":"denied"}'
    '500|err|Error when talking to Gemini API 500 not json|not json'
    "200|err|$none|{\"candidates\":[\"x\"]}"
    "200|err|$none|{\"candidates\":[null]}"
    "200|err|$none|{\"candidates\":{}}"
    "200|err|$none|{\"candidates\":[]}"
    "200|err|$none|{\"candidates\":[{\"content\":[]}]}"
    "200|err|$none|{\"candidates\":[{\"content\":\"x\"}]}"
    "200|err|$none|{\"candidates\":[{\"content\":{\"parts\":\"x\"}}]}"
    "200|err|$none|[]"
    "200|err|$part|{\"candidates\":[{\"content\":{\"parts\":[\"x\"]}}]}"
    "200|err|$part|{\"candidates\":[{\"content\":{\"parts\":[{\"text\":null}]}}]}"
    "200|err|$part|{\"candidates\":[{\"content\":{\"parts\":[{\"text\":1}]}}]}"
    "200|err|$part|{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":\"yes\"}]}}]}"
  )
  local row status stream needle body i=0
  for row in "${rows[@]}"; do
    IFS='|' read -r status stream needle body <<<"$row"
    answer "$status" "$body"
    expect_uncached_failure "row$i" "$stream" "$needle" gemini -p "q$i"
    expect_uncached_failure "row$i.json" "$stream" "" gemini -p "q$i" -o json
    i=$((i + 1))
  done
  answer 200 "$(deep_json 100000)"
  expect_uncached_failure deep err "$none" gemini -p deep
  # Usage counts of the wrong type are counted as none, not a crash.
  answer 200 '{"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":{"promptTokenCount":"7","totalTokenCount":null}}'
  run_wrapped usage gemini -p usage -o json
  expect_rc 0
  expect_contains "$(cat "$T/usage.out")" '"prompt": 0'
  answer 200 '{"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":[1]}'
  run_wrapped usage2 gemini -p usage2 -o json
  expect_rc 0
}

test_the_http_path_sends_arguments_that_are_not_utf8() {
  start_canned
  export GROQ_BASE_URL=$API_URL GROQ_API_KEY=gsk_test
  answer 200 '{"choices":[{"message":{"content":"fine"}}]}'
  run_wrapped bytes groq $'\xed\xa0\x80'
  expect_rc 0
  expect_eq fine "$(cat "$T/bytes.out")"
  answer 200 '{"choices":[{"message":{"content":null}}]}'
  expect_uncached_failure nocontent err "has no choices[0].message.content" groq other
  # (Not a 429 or 5xx: those are retried.)
  answer 400 '{"error":{"message":{"nested":1}}}'
  expect_uncached_failure nested err 'HTTP 400: {"error":{"message":{"nested":1}}}' groq third
}

# ---------------------------------------------------------------------------
# Rule files and import lines that cannot be read.

rules_dir() {
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc/wrappers"
  printf '%s' "$XDG_CONFIG_HOME/ipfsacc/wrappers"
}

# expect_runs_uncached_with_a_warning NAME FILE CMD...: CMD through ipfsacc
# prints what it prints directly, exits the same, and adds one warning line
# naming FILE; a second call runs the tool again.
expect_runs_uncached_with_a_warning() {
  local name=$1 file=$2
  shift 2
  run_direct "$name.direct" "$@"
  run_wrapped "$name" "$@"
  expect_same_file "$T/$name.direct.out" "$T/$name.out" "stdout"
  expect_eq "$(cat "$T/$name.direct.rc")" "$rc" "exit status"
  local warnings
  warnings=$(grep -c '^ipfsacc: ' "$T/$name.err")
  expect_eq 1 "$warnings" "ipfsacc lines on stderr"
  expect_file_contains "$T/$name.err" "ipfsacc: warning: "
  expect_file_contains "$T/$name.err" "$file"
  grep -v '^ipfsacc: ' "$T/$name.err" >"$T/$name.tool.err"
  expect_same_file "$T/$name.direct.err" "$T/$name.tool.err" "stderr"
  run_wrapped "$name.again" "$@"
  expect_same_file "$T/$name.direct.out" "$T/$name.again.out" "stdout of the second call"
}

test_a_rule_file_with_a_number_out_of_range_leaves_its_tool_running() {
  local dir
  dir=$(rules_dir)
  printf '{"tool": "gh", "rules": [{"id": "x", "command": ["pr", "list"], "ttl": 1e999}]}\n' \
    >"$dir/gh.json"
  expect_runs_uncached_with_a_warning gh gh.json gh pr list
  expect_invocations "gh pr list" 2
  # Another tool is not affected.
  run_wrapped code1 code --version
  run_wrapped code2 -v code --version
  expect_explain code2 HIT
  capture doctor ipfsacc doctor
  expect_rc 1
  expect_contains "$(cat "$T/doctor.out")" "FAIL"
  expect_contains "$(cat "$T/doctor.out")" "gh.json"
}

test_an_empty_rule_file_replacing_a_built_in_one_leaves_its_tool_running() {
  local dir
  dir=$(rules_dir)
  printf '{}\n' >"$dir/code.json"
  expect_runs_uncached_with_a_warning code code.json code --version
  # Both calls ran code (the log's version lines are all calls: uncached
  # means no version probe either).
  expect_eq 2 "$(grep -cx 'code --version' "$FAKE_LOG")" "runs of code --version"
  # huggingface-cli is named by the built-in hf.json, not by the user's.
  printf '{"tool": "hf", "binaries": [\n' >"$dir/hf.json"
  expect_runs_uncached_with_a_warning hf hf.json huggingface-cli whoami
  capture doctor ipfsacc doctor
  expect_rc 1
  expect_contains "$(cat "$T/doctor.out")" "code.json"
  expect_contains "$(cat "$T/doctor.out")" "hf.json"
}

test_an_import_line_nested_too_deep_is_rejected_and_counted() {
  run_wrapped first run -- echo hello
  expect_rc 0
  capture exported ipfsacc export "$T/good.jsonl"
  expect_rc 0
  {
    printf '{"format":"ipfsacc-export/1","deep":%s}\n' "$(deep_json 20000)"
    cat "$T/good.jsonl"
    printf '%s\n' "$(deep_json 200000)"
  } >"$T/mixed.jsonl"
  IPFSACC_DIR=$T/elsewhere capture imported ipfsacc import "$T/mixed.jsonl"
  expect_rc 1
  expect_contains "$(cat "$T/imported.err")" "mixed.jsonl:1: rejected: nested too deeply"
  expect_contains "$(cat "$T/imported.err")" "mixed.jsonl:3: rejected: nested too deeply"
  expect_contains "$(cat "$T/imported.out")" "Imported 1 entry"
  expect_contains "$(cat "$T/imported.out")" "rejected 2 lines"
}

# ---------------------------------------------------------------------------
# Descriptors.

# The descriptors the shell that is the tool holds, read by the shell
# itself: a glob, whose one descriptor of its own (the directory it reads)
# is the same in both runs. A pipeline would race: `ls` could see the pipes
# its parent was still setting up for the next stage.
FD_LIST='for f in /proc/$$/fd/*; do printf "%s " "${f##*/}"; done'

# expect_no_extra_fds NAME: the wrapped run NAME.wrapped held no descriptor
# its direct run NAME.direct did not, and none of them is a file of the
# cache. (The test runner may hand the suite descriptors of its own, and a
# direct run may see one more that is gone by the wrapped run: what must
# never happen is one more in the wrapped run.)
expect_no_extra_fds() {
  local fd extra=
  for fd in $(cat "$T/$1.wrapped.out"); do
    [[ " $(cat "$T/$1.direct.out") " == *" $fd "* ]] || extra+=" $fd"
  done
  [[ -z $extra ]] || fail "the wrapped tool held descriptors$extra that the direct run did not: $(cat "$T/$1.wrapped.out")"
  expect_eq 0 "$(cat "$T/$1.wrapped.rc")" "exit status of $1"
}

test_the_tool_inherits_no_descriptor_of_the_cache() {
  # The descriptors the tool holds: the test's own, none of ours.
  run_direct first.direct sh -c "$FD_LIST"
  run_wrapped first.wrapped run --no-stdin -- sh -c "$FD_LIST"
  expect_no_extra_fds first
  # A wrapped tool on a cached call, whose answer is stored as it runs.
  printf '#!/bin/sh\n%s\n' "$FD_LIST" >"$T/bin/gh"
  chmod +x "$T/bin/gh"
  run_direct gh.direct gh pr list
  run_wrapped gh.wrapped gh pr list
  expect_no_extra_fds gh
  expect_empty "$T/gh.wrapped.err"
}

test_a_tool_writing_to_descriptors_it_was_not_given_cannot_reach_the_cache() {
  run_wrapped before run -- echo before
  expect_rc 0
  # ipfsacc starts with descriptors 3 to 12 closed, so any of them the tool
  # can write to is one of ipfsacc's. JUNKJUNK is written so that the
  # command line (stored with the entry) does not hold it.
  local script='for fd in 3 4 5 6 7 8 9 10 11 12; do
    (printf "\\112\\125\\116\\113\\112\\125\\116\\113" >&$fd) 2>/dev/null &&
      echo "wrote to $fd"; done; echo done'
  capture writer bash -c 'for fd in {3..12}; do eval "exec $fd>&-"; done; exec "$@"' \
    closer "$BOUNDED" "$IPFSACC_BIN" run --no-stdin -- sh -c "$script"
  expect_rc 0
  expect_eq done "$(cat "$T/writer.out")" "what the tool could write to"
  if grep -q JUNKJUNK "$IPFSACC_DIR"/*.mdb; then
    fail "the tool's bytes reached the cache's files"
  fi
  run_wrapped after -v run -- echo before
  expect_explain after HIT
  expect_eq before "$(cat "$T/after.out")"
}

# closed_call NAME REDIRECTS CMD...: CMD with REDIRECTS (">&-", "<&-",
# "2>&-") applied, its stdout and stderr (whichever are open) to
# $T/NAME.out and $T/NAME.err, its status in rc.
closed_call() {
  local name=$1 redirect=$2
  shift 2
  case $redirect in
    '>&-') "$@" 2>"$T/$name.err" >&- ;;
    '<&-') "$@" >"$T/$name.out" 2>"$T/$name.err" <&- ;;
    '2>&-') "$@" >"$T/$name.out" 2>&- ;;
  esac
  rc=$?
}

test_a_closed_standard_descriptor_stays_closed_for_the_tool() {
  local redirect script
  local -A scripts=(
    ['>&-']='echo x'
    ['<&-']='read line; echo "read: $?"'
    ['2>&-']='echo x >&2; echo "stderr: $?"'
  )
  for redirect in '>&-' '<&-' '2>&-'; do
    script=${scripts[$redirect]}
    closed_call direct "$redirect" sh -c "$script"
    local direct_rc=$rc
    for pass in 1 2; do
      closed_call "wrapped$pass" "$redirect" "$BOUNDED" "$IPFSACC_BIN" run -- sh -c "$script"
      expect_eq "$direct_rc" "$rc" "exit status with $redirect (call $pass)"
      [[ $redirect == '>&-' ]] || expect_same_file "$T/direct.out" "$T/wrapped$pass.out" "stdout with $redirect"
      [[ $redirect == '2>&-' ]] || expect_same_file "$T/direct.err" "$T/wrapped$pass.err" "stderr with $redirect"
    done
    # Nothing was cached: the same call with everything open runs the tool.
    run_wrapped open -v run -- sh -c "$script"
    expect_explain open MISS
  done
}

test_a_closed_stdout_is_not_answered_from_the_cache() {
  transparent first gh pr list
  expect_rc 0
  local direct_rc wrapped_rc
  FAKE_LOG= gh pr list 2>"$T/direct.err" >&-
  direct_rc=$?
  ipfsacc gh pr list 2>"$T/wrapped.err" >&-
  wrapped_rc=$?
  expect_eq "$direct_rc" "$wrapped_rc" "exit status with stdout closed"
  # The fake gh's complaints about its closed stdout: it ran, not a replay.
  expect_file_contains "$T/direct.err" "Bad file descriptor"
  expect_same_file "$T/direct.err" "$T/wrapped.err" "stderr with stdout closed"
  expect_invocations "gh pr list" 2
  # The cached answer is as it was.
  run_wrapped later -v gh pr list
  expect_explain later HIT
  expect_same_file "$T/first.direct.out" "$T/later.out"
}

run_tests
