# version: the tool's version is part of the key. It is learned once per
# binary (path, size, mtime), so an upgrade of the tool is a new key while a
# hit costs no run of --version.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# install_gh VERSION MTIME: $T/bin/gh (first on PATH) is a gh of that
# version: a small script, so an "upgrade" changes its size or mtime as a
# real one would.
install_gh() {
  cat >"$T/bin/gh" <<EOF
#!/bin/sh
# fake gh, version $1
FAKE_VERSION='gh version $1' exec "$FAKES/gh" "\$@"
EOF
  chmod +x "$T/bin/gh"
  touch -d "@$2" "$T/bin/gh"
}

test_upgrade_is_a_new_key() {
  install_gh "2.23.0 (2023-01-01)" 1600000000
  transparent a1 gh pr list -R o/r
  transparent a2 gh pr list -R o/r
  transparent a3 gh pr list -R o/r
  expect_invocations "gh pr list" 1
  # Learned once, not on every call.
  local probes
  probes=$(version_probes gh)
  if ((probes > 1)); then fail "gh --version ran $probes times for one binary"; fi

  run_wrapped a4 -v gh pr list -R o/r
  expect_explain a4 HIT
  local cid_a=$CID

  # The upgrade: another version string, another size and mtime.
  install_gh "2.40.1 (2024-01-15) upgraded" 1700000000
  run_wrapped b1 -v gh pr list -R o/r
  expect_explain b1 MISS "" new
  expect_ne "$cid_a" "$CID" "key after the upgrade"
  local cid_b=$CID
  expect_invocations "gh pr list" 2
  transparent b2 gh pr list -R o/r
  expect_invocations "gh pr list" 2

  # Same size, only the mtime differs (a reinstall of another build): the
  # version is asked again; here it is another version, so a new key.
  install_gh "2.40.2 (2024-01-15) upgraded" 1700000500
  run_wrapped c1 -v gh pr list -R o/r
  expect_explain c1 MISS
  expect_ne "$cid_b" "$CID" "key after a same-size upgrade"
  expect_invocations "gh pr list" 3

  # Back to the first version: the first key again, a hit.
  install_gh "2.23.0 (2023-01-01)" 1600000000
  run_wrapped d1 -v gh pr list -R o/r
  expect_explain d1 HIT
  expect_eq "$cid_a" "$CID" "key when the first version is back"
  expect_invocations "gh pr list" 3
}

test_hits_do_not_run_version() {
  install_gh "2.23.0 (2023-01-01)" 1600000000
  transparent a gh pr list -R o/r
  local before
  before=$(version_probes gh)
  local i
  for i in 1 2 3 4 5; do
    transparent "h$i" gh pr list -R o/r
  done
  transparent n gh repo view o/r
  expect_eq "$before" "$(version_probes gh)" "gh --version runs after the first call"
}

test_version_shared_between_processes() {
  # The learned version is kept in the cache: a new process does not ask
  # again, even for another operation of the same binary.
  install_gh "2.23.0 (2023-01-01)" 1600000000
  transparent a gh pr list -R o/r
  transparent b gh issue list -R o/r
  transparent c gh release list -R o/r
  local probes
  probes=$(version_probes gh)
  if ((probes > 1)); then fail "gh --version ran $probes times"; fi
}

run_tests
