# run_identity: `ipfsacc run` keys on the program the command runs, not
# only on the words typed. The same `./s.sh` in another directory, the same
# name found on another PATH, a script edited in place, a symlink pointed
# elsewhere: each is another program, so another key. An unchanged program
# keeps hitting, and a program that cannot be found fails as it would.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# script FILE TEXT: an executable shell script that prints TEXT.
script() {
  printf '#!/bin/sh\necho %s\n' "$2" >"$1"
  chmod 755 "$1"
}

# big_script FILE TEXT: the same, padded past the size up to which a program
# is identified by its contents (16 KiB): its metadata identifies it.
big_script() {
  {
    printf '#!/bin/sh\necho %s\nexit 0\n' "$2"
    head -c 20000 /dev/zero | tr '\0' '#'
    printf '\n'
  } >"$1"
  chmod 755 "$1"
}

# expect_out NAME TEXT: the capture NAME printed the line TEXT, exit 0.
expect_out() {
  expect_eq 0 "$(cat "$T/$1.rc")" "exit status of $1"
  expect_eq "$2" "$(cat "$T/$1.out")" "stdout of $1"
}

test_the_same_relative_script_in_two_directories_is_two_programs() {
  mkdir a b
  script a/s.sh A
  script b/s.sh B
  local here
  here=$(pwd -P)
  (cd a && run_wrapped a1 -v run -- ./s.sh)
  expect_out a1 A
  expect_explain a1 MISS run/s.sh new
  expect_file_contains "$T/a1.err" "program=$here/a/s.sh "
  (cd b && run_wrapped b1 -v run -- ./s.sh)
  expect_out b1 B
  expect_explain b1 MISS run/s.sh new
  expect_file_contains "$T/b1.err" "program=$here/b/s.sh "
  # Each directory's answer is its own.
  (cd a && run_wrapped a2 -v run -- ./s.sh)
  expect_out a2 A
  expect_explain a2 HIT
  (cd b && run_wrapped b2 -v run -- ./s.sh)
  expect_out b2 B
  expect_explain b2 HIT
}

test_the_same_script_contents_in_two_directories_is_two_programs() {
  # A script may read files next to it: where it is counts, not only what.
  mkdir a b
  printf '#!/bin/sh\ncat "$(dirname "$0")/data"\n' >a/s.sh
  cp a/s.sh b/s.sh
  chmod 755 a/s.sh b/s.sh
  echo A >a/data
  echo B >b/data
  (cd a && run_wrapped a1 -v run -- ./s.sh)
  expect_out a1 A
  (cd b && run_wrapped b1 -v run -- ./s.sh)
  expect_out b1 B
  expect_explain b1 MISS
}

test_the_same_name_on_two_paths_is_two_programs() {
  mkdir p1 p2
  script p1/tool one
  script p2/tool two
  PATH=$W/p1:$PATH run_wrapped one -v run -- tool
  expect_out one one
  expect_explain one MISS
  expect_file_contains "$T/one.err" "program=$(pwd -P)/p1/tool "
  PATH=$W/p2:$PATH run_wrapped two -v run -- tool
  expect_out two two
  expect_explain two MISS
  PATH=$W/p1:$PATH run_wrapped one.again -v run -- tool
  expect_out one.again one
  expect_explain one.again HIT
  PATH=$W/p2:$PATH run_wrapped two.again -v run -- tool
  expect_out two.again two
  expect_explain two.again HIT
}

test_the_current_directory_on_path_finds_each_directory_s_script() {
  mkdir a b
  script a/s.sh A
  script b/s.sh B
  (cd a && PATH=.:$PATH run_wrapped a1 run -- s.sh)
  expect_out a1 A
  (cd b && PATH=.:$PATH run_wrapped b1 -v run -- s.sh)
  expect_out b1 B
  expect_explain b1 MISS
}

test_a_script_edited_in_place_is_a_new_program() {
  script s.sh old
  run_wrapped first -v run -- ./s.sh
  expect_out first old
  expect_explain first MISS
  # Same size, same inode, and the mtime put back: no clock can tell the
  # two apart, only the contents.
  touch -r s.sh "$T/stamp"
  printf '#!/bin/sh\necho new\n' >s.sh
  touch -r "$T/stamp" s.sh
  run_wrapped edited -v run -- ./s.sh
  expect_out edited new
  expect_explain edited MISS
  run_wrapped again -v run -- ./s.sh
  expect_out again new
  expect_explain again HIT
}

test_an_interpreter_line_edited_is_a_new_program() {
  printf '#!/bin/sh\necho $0\n' >s.sh
  chmod 755 s.sh
  run_wrapped sh -v run -- ./s.sh
  expect_explain sh MISS
  printf '#!/bin/bash\necho $0\n' >s.sh
  run_wrapped bash -v run -- ./s.sh
  expect_explain bash MISS
}

test_a_symlink_pointed_elsewhere_is_a_new_program() {
  mkdir v1 v2
  script v1/tool one
  script v2/tool two
  ln -s v1/tool tool
  run_wrapped one -v run -- ./tool
  expect_out one one
  expect_file_contains "$T/one.err" "program=$(pwd -P)/tool "
  ln -sfn v2/tool tool
  run_wrapped two -v run -- ./tool
  expect_out two two
  expect_explain two MISS
}

test_an_unchanged_program_keeps_hitting() {
  make_tool mytool
  run_direct direct mytool list
  run_wrapped first -v run -- mytool list
  expect_explain first MISS run/mytool new
  expect_file_contains "$T/first.err" "program=$T/bin/mytool "
  expect_same_file "$T/direct.out" "$T/first.out"
  run_wrapped second -v run -- mytool list
  expect_explain second HIT
  expect_file_contains "$T/second.err" "program=$T/bin/mytool "
  run_wrapped third -v run -- mytool list
  expect_explain third HIT
  expect_same_file "$T/direct.out" "$T/third.out"
  expect_invocations "mytool list" 1
}

test_a_large_program_keeps_hitting_until_it_is_replaced() {
  big_script big.sh one
  run_wrapped first -v run -- ./big.sh
  expect_out first one
  expect_explain first MISS
  run_wrapped second -v run -- ./big.sh
  expect_out second one
  expect_explain second HIT
  # Replaced by a file of the same size and mtime (an upgrade that keeps
  # both): another inode while both exist, so another program.
  big_script next.sh two
  touch -r big.sh next.sh
  mv next.sh big.sh
  run_wrapped replaced -v run -- ./big.sh
  expect_out replaced two
  expect_explain replaced MISS
}

test_a_missing_program_fails_as_it_would_and_nothing_is_cached() {
  run_wrapped none -v run -- no-such-program-ipfsacc-test arg
  expect_rc 127
  expect_empty "$T/none.out"
  expect_file_contains "$T/none.err" "no-such-program-ipfsacc-test: command not found"
  # The same message and status as the run without the cache.
  run_wrapped uncached --no-cache run -- no-such-program-ipfsacc-test arg
  expect_same none uncached
  run_wrapped slash -v run -- ./no-such-script.sh
  expect_rc 127
  expect_empty "$T/slash.out"
  capture listed ipfsacc list
  expect_rc 0
  expect_not_contains "$(cat "$T/listed.out")" "no-such"
  expect_stat stores 0
}

test_a_script_that_lost_its_execute_bit_is_not_answered() {
  script s.sh here
  run_wrapped first run -- ./s.sh
  expect_out first here
  chmod 644 s.sh
  run_direct direct ./s.sh
  run_wrapped denied -v run -- ./s.sh
  expect_rc "$(cat "$T/direct.rc")"
  expect_rc 126
  expect_empty "$T/denied.out"
  expect_file_contains "$T/denied.err" "Permission denied"
  expect_stat hits 0
}

test_a_program_removed_after_its_answer_was_cached_is_not_answered() {
  script s.sh here
  run_wrapped first run -- ./s.sh
  expect_out first here
  rm s.sh
  run_wrapped gone -v run -- ./s.sh
  expect_rc 127
  expect_empty "$T/gone.out"
  expect_not_contains "$(cat "$T/gone.err")" "HIT"
  expect_stat hits 0
}

run_tests
