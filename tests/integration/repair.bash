# repair: a cache mends what a call finds damaged. An output over 8 MiB is
# kept as a file of its own under the cache's blobs/, shared by every entry
# whose output has the same bytes; damaged or deleted, it is never served
# (the call runs the tool), and the next call that produces those bytes
# writes it again, so every entry sharing it hits again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# big_tool: ./big.sh prints the 9,000,000 bytes of big.data whatever its
# arguments, so `run -- ./big.sh one` and `run -- ./big.sh two` are two
# entries with one output.
big_tool() {
  seq -f 'line %010.0f of a large output, shared by two entries here.' 1 150000 |
    head -c 9000000 >big.data
  printf '#!/bin/sh\ncat "$(dirname "$0")/big.data"\n' >big.sh
  chmod 755 big.sh
}

# expect_big NAME: the capture NAME printed big.data and exited 0.
expect_big() {
  expect_eq 0 "$(cat "$T/$1.rc")" "exit status of $1"
  expect_same_file big.data "$T/$1.out" "stdout of $1"
}

# blob_file: the one blob file of the cache (fails unless there is one).
blob_file() {
  local files
  files=$(find "$IPFSACC_DIR/blobs" -type f 2>/dev/null)
  if [[ -z $files || $(printf '%s\n' "$files" | wc -l) != 1 ]]; then
    find "$IPFSACC_DIR" -ls >&2
    fail "expected exactly one blob file under $IPFSACC_DIR/blobs"
  fi
  printf '%s' "$files"
}

# Two entries that share one output file.
two_entries_sharing_a_file() {
  big_tool
  run_wrapped one1 -v run -- ./big.sh one
  expect_big one1
  expect_explain one1 MISS run/big.sh new
  run_wrapped two1 -v run -- ./big.sh two
  expect_big two1
  expect_explain two1 MISS run/big.sh new
  # Kept as a zstd frame (compression), unless compression is off.
  local size
  size=$(stat -c %s "$(blob_file)")
  if [[ ${IPFSACC_COMPRESSION:-zstd} == off ]]; then
    expect_eq 9000000 "$size" "the output file's size"
  else
    ((size < 1000000)) || fail "the output file holds $size bytes: not compressed"
  fi
}

# After the shared file was damaged or deleted: the first call misses as
# corrupt and runs the tool; from then on both entries hit.
expect_repaired_by_the_next_miss() {
  run_wrapped one2 -v run -- ./big.sh one
  expect_big one2
  expect_explain one2 MISS run/big.sh corrupt
  run_wrapped one3 -v run -- ./big.sh one
  expect_big one3
  expect_explain one3 HIT run/big.sh
  run_wrapped two2 -v run -- ./big.sh two
  expect_big two2
  expect_explain two2 HIT run/big.sh
  expect_stat errors 1
  blob_file >/dev/null
  capture deep ipfsacc doctor --deep
  expect_file_contains "$T/deep.out" "OK    blobs: 1 outputs, all verify against their CIDs"
}

test_a_damaged_output_file_shared_by_two_entries_is_written_again() {
  two_entries_sharing_a_file
  printf 'Z' | dd of="$(blob_file)" bs=1 seek=1000 conv=notrunc status=none
  expect_repaired_by_the_next_miss
}

test_a_damaged_output_file_kept_as_printed_is_written_again() {
  export IPFSACC_COMPRESSION=off
  two_entries_sharing_a_file
  printf 'Z' | dd of="$(blob_file)" bs=1 seek=1000 conv=notrunc status=none
  expect_repaired_by_the_next_miss
}

test_a_deleted_output_file_shared_by_two_entries_is_written_again() {
  two_entries_sharing_a_file
  rm -f "$(blob_file)"
  expect_repaired_by_the_next_miss
}

test_a_truncated_output_file_shared_by_two_entries_is_written_again() {
  two_entries_sharing_a_file
  truncate -s 4096 "$(blob_file)"
  expect_repaired_by_the_next_miss
}

run_tests
