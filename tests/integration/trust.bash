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

run_tests
