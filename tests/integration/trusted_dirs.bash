# trusted_dirs: a cache or secrets directory that someone else can change is
# not trusted (as ssh's StrictModes): one warning, and the tool runs
# uncached. A cache shared on purpose by a group (group-writable with the
# setgid bit) serves its members, and what each member stores the others
# can use. The cases that need a second user run as root (setpriv, as the
# user nobody) and are skipped otherwise.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# expect_untrusted NAME WHY: the call NAME ran the tool (its own answer,
# marked "now"), and ipfsacc added exactly one line: that the cache is not
# trusted, and why.
expect_untrusted() {
  expect_rc 0
  expect_file_contains "$T/$1.out" "mark: now"
  local added
  added=$(explain_lines "$T/$1.err")
  expect_eq 1 "$(printf '%s\n' "$added" | grep -c .)" "lines ipfsacc added: $added"
  expect_match "$added" "^ipfsacc: warning: the cache in $IPFSACC_DIR is not trusted: it $2; running without the cache$" "the warning"
}

# cached_then_marked: an answer of `gh pr list` cached with the mark
# "before"; a call that gets it says "mark: before", one that runs the
# tool says "mark: now".
cached_then_marked() {
  FAKE_MARK=before ipfsacc gh pr list -R o/r >/dev/null 2>&1
  run_wrapped hit -v gh pr list -R o/r
  expect_explain hit HIT
}

test_a_cache_directory_anyone_can_write_is_not_used() {
  cached_then_marked
  chmod 0777 "$IPFSACC_DIR"
  FAKE_MARK=now run_wrapped open gh pr list -R o/r
  expect_untrusted open "is writable by every user \(mode 0777\)"
  expect_invocations "gh pr list" 2
  # Nothing was stored either: made private again, it holds the old answer.
  chmod 0700 "$IPFSACC_DIR"
  FAKE_MARK=now run_wrapped again gh pr list -R o/r
  expect_file_contains "$T/again.out" "mark: before"
}

test_a_cache_directory_its_group_can_write_without_the_setgid_bit_is_not_used() {
  cached_then_marked
  chmod 0770 "$IPFSACC_DIR"
  FAKE_MARK=now run_wrapped group gh pr list -R o/r
  expect_untrusted group "is writable by group [^ ]+ \(mode 0770\) without the setgid bit of a directory shared by a group \(chmod g\+s\)"
}

test_a_data_file_others_can_write_is_not_used() {
  cached_then_marked
  chmod 0666 "$IPFSACC_DIR/data.mdb"
  FAKE_MARK=now run_wrapped file gh pr list -R o/r
  expect_untrusted file "data.mdb is writable by every user \(mode 0666\)"
}

test_management_commands_say_the_cache_is_not_trusted() {
  cached_then_marked
  chmod 0777 "$IPFSACC_DIR"
  capture list ipfsacc list
  expect_rc 1
  expect_file_contains "$T/list.err" "is not trusted: it is writable by every user"
  capture doctor ipfsacc doctor
  expect_rc 1
  expect_file_contains "$T/doctor.out" "is not trusted: it is writable by every user"
}

test_a_secrets_directory_others_can_write_is_refused() {
  local dir=$XDG_CONFIG_HOME/ipfsacc
  printf 'ghp_trusted\n' | ipfsacc secrets set github_token >/dev/null 2>&1 ||
    fail "secrets set failed"
  chmod 0777 "$dir"
  capture get ipfsacc secrets get github_token
  expect_rc 1
  expect_empty "$T/get.out"
  expect_file_contains "$T/get.err" "the secrets directory $dir is not trusted: it is writable by every user (mode 0777)"
  capture set sh -c "printf 'x\n' | '$IPFSACC_BIN' secrets set other_token"
  expect_rc 1
  expect_file_contains "$T/set.err" "is not trusted"
  chmod 0700 "$dir"
  chmod 0666 "$dir/secrets.enc"
  capture file ipfsacc secrets get github_token
  expect_rc 1
  expect_file_contains "$T/file.err" "secrets.enc is writable by every user (mode 0666)"
}

test_a_config_file_others_can_change_is_ignored() {
  local dir=$XDG_CONFIG_HOME/ipfsacc
  ipfsacc config set default_ttl 7h || fail "config set failed"
  capture trusted ipfsacc config get default_ttl
  expect_eq 7h "$(cat "$T/trusted.out")" "the configured value"
  local why="the config file $dir/ipfsacc.conf is not trusted: its directory $dir is writable by every user \(mode 0777\)"
  chmod 0777 "$dir"
  # A call warns once and goes on with the defaults: the file could point
  # the cache at someone else's remote.
  capture get ipfsacc config get default_ttl
  expect_rc 0
  expect_eq 1m "$(cat "$T/get.out")" "the default, the file ignored"
  expect_match "$(cat "$T/get.err")" "^ipfsacc: warning: $why; ignoring it$" "the warning"
  run_wrapped call gh pr list -R o/r
  expect_rc 0
  expect_match "$(explain_lines "$T/call.err")" "^ipfsacc: warning: $why; ignoring it$" "the call's one added line"
  # A management command stops: it would act on another cache than the one
  # configured.
  capture stats ipfsacc stats
  expect_rc 2
  expect_match "$(cat "$T/stats.err")" "^ipfsacc: error: $why$" "stats' error"
  capture doctor ipfsacc doctor
  expect_rc 1
  expect_file_contains "$T/doctor.out" "FAIL  config: the config file $dir/ipfsacc.conf is not trusted"
  # The file itself, writable by others.
  chmod 0700 "$dir"
  chmod 0666 "$dir/ipfsacc.conf"
  capture file ipfsacc config get default_ttl
  expect_eq 1m "$(cat "$T/file.out")" "the default, the file ignored"
  expect_file_contains "$T/file.err" "ipfsacc.conf is writable by every user (mode 0666); ignoring it"
  chmod 0600 "$dir/ipfsacc.conf"
  capture fixed ipfsacc config get default_ttl
  expect_eq 7h "$(cat "$T/fixed.out")" "the configured value, once private again"
  expect_empty "$T/fixed.err"
}

# as_nobody: the setup for the cases with a second user. The binaries and
# the fake tool are copied where nobody can run them, and nobody can reach
# the case's directories. Sets NOBODY (the command prefix).
as_nobody() {
  [[ $(id -u) == 0 ]] || skip "a second user needs root"
  command -v setpriv >/dev/null || skip "setpriv is needed"
  getent passwd nobody >/dev/null || skip "no user nobody"
  mkdir -p "$T/nbin"
  cp "$IPFSACC_BIN" "$T/nbin/ipfsacc"
  cp "$FAKES/fake-cli" "$T/nbin/fake-cli"
  ln -sf fake-cli "$T/nbin/gh"
  IPFSACC_BIN=$T/nbin/ipfsacc
  export PATH=$T/nbin:$PATH
  chmod a+x "$SUITE_TMP" "$T"
  chmod -R a+rX "$T/nbin"
  chmod 666 "$FAKE_LOG"
  chmod 777 "$W" "$T/home"
  NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
}

test_a_cache_owned_by_another_user_is_not_used() {
  as_nobody
  # nobody makes the cache (private to nobody: 0755 lets root read it) and
  # stores a forged answer.
  mkdir -m 0755 "$IPFSACC_DIR"
  chown nobody "$IPFSACC_DIR"
  capture forge env FAKE_MARK=forged "${NOBODY[@]}" "$IPFSACC_BIN" gh pr list -R o/r
  expect_rc 0
  capture seen env FAKE_MARK=now "${NOBODY[@]}" "$IPFSACC_BIN" -v gh pr list -R o/r
  expect_explain seen HIT
  # root is not answered from it.
  FAKE_MARK=now run_wrapped root gh pr list -R o/r
  expect_untrusted root "is owned by user nobody"
}

test_a_cache_shared_by_a_group_serves_each_member() {
  as_nobody
  # A cache made for the group nogroup, which nobody is in; root joins it.
  mkdir "$IPFSACC_DIR"
  chgrp nogroup "$IPFSACC_DIR"
  chmod 2770 "$IPFSACC_DIR"
  local member=(setpriv --groups=nogroup)
  # root stores a small and a large answer (a blob file); nobody gets both.
  capture r1 env FAKE_MARK=root "${member[@]}" "$IPFSACC_BIN" gh pr list -R o/r
  capture r2 env FAKE_SIZE=300000 "${member[@]}" "$IPFSACC_BIN" gh issue list -R o/r
  capture n1 env FAKE_MARK=now "${NOBODY[@]}" "$IPFSACC_BIN" -v gh pr list -R o/r
  expect_explain n1 HIT
  expect_file_contains "$T/n1.out" "mark: root"
  capture n2 env FAKE_SIZE=300000 "${NOBODY[@]}" "$IPFSACC_BIN" -v gh issue list -R o/r
  expect_explain n2 HIT
  expect_same_file "$T/r2.out" "$T/n2.out" "the large answer nobody got"
  # nobody stores one; root gets it.
  capture n3 env FAKE_MARK=nobody "${NOBODY[@]}" "$IPFSACC_BIN" gh repo view o/r
  expect_rc 0
  capture r3 env FAKE_MARK=now "${member[@]}" "$IPFSACC_BIN" -v gh repo view o/r
  expect_explain r3 HIT
  expect_file_contains "$T/r3.out" "mark: nobody"
  expect_invocations "gh pr list" 1
  expect_invocations "gh issue list" 1
  expect_invocations "gh repo view" 1

  # Others may not write it: made writable by them, it is trusted no more.
  chmod 2777 "$IPFSACC_DIR"
  FAKE_MARK=now capture open "${member[@]}" "$IPFSACC_BIN" gh pr list -R o/r
  expect_untrusted open "is writable by every user \(mode 2777\)"
  chmod 2770 "$IPFSACC_DIR"
  # root outside the group does not trust it.
  FAKE_MARK=now run_wrapped outside gh pr list -R o/r
  expect_untrusted outside "is writable by group nogroup, which this user is not in"
}

run_tests
