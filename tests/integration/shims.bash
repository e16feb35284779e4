# shims: ipfsacc masquerading as the tools it wraps, like ccache. A shim is a
# symlink gh → ipfsacc first on PATH; invoked as gh, ipfsacc runs `ipfsacc gh
# ARGS…` and finds the real gh further along PATH (or IPFSACC_PATH), skipping
# every entry that is itself, so no arrangement of shim directories recurses.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# What a fake tool needs to run (env, bash, coreutils), without the fakes.
SYS_PATH=/usr/local/bin:/usr/bin:/bin
TIMEOUT=$(command -v timeout)

# A recursion would be a chain of processes: bound every call through a shim
# tightly. The timeout is an absolute path so that PATH can be anything.
SHIM_BOUNDED=$SUITE_TMP/shim-bounded
cat >"$SHIM_BOUNDED" <<EOF
#!/bin/sh
exec $TIMEOUT -k 2 15 "\$@"
EOF
chmod 755 "$SHIM_BOUNDED"

# shim NAME SEARCH_PATH TOOL ARGS...: run TOOL by name (or path) with PATH set
# to SEARCH_PATH, as a user or a script would; captured like `capture`.
shim() {
  local name=$1 search=$2
  shift 2
  PATH=$search capture "$name" "$SHIM_BOUNDED" "$@"
}

# install_shims DIR [OPTIONS]: ipfsacc shims install DIR, which must succeed.
install_shims() {
  capture install ipfsacc shims install "$@"
  if [[ $rc != 0 ]]; then
    _show "$T/install.err" >&2
    fail "ipfsacc shims install $* failed ($rc)"
  fi
}

ALL_TOOLS="claude code gemini gh groq hf huggingface-cli vastai"

test_install_makes_links_to_ipfsacc() {
  install_shims "$T/shims"
  local tool
  for tool in $ALL_TOOLS; do
    [[ -L $T/shims/$tool ]] || fail "no shim for $tool"
    expect_eq "$IPFSACC_BIN" "$(readlink -f "$T/shims/$tool")" "target of $tool"
  done
  expect_contains "$(cat "$T/install.out")" "Shims in $T/shims: $ALL_TOOLS"
  # Not on PATH yet: the output says how.
  expect_contains "$(cat "$T/install.out")" "export PATH=\"$T/shims:\$PATH\""
  # Installing again replaces the links, without an error.
  install_shims "$T/shims"
  expect_eq "$IPFSACC_BIN" "$(readlink -f "$T/shims/gh")"
}

test_install_only_installed_tools_unless_all() {
  make_tool gh
  IPFSACC_PATH=$T/bin install_shims "$T/shims"
  expect_eq "gh" "$(ls "$T/shims")" "shims"
  expect_contains "$(cat "$T/install.out")" "Not installed, so no shim (--all makes them anyway): claude code gemini groq"
  IPFSACC_PATH=$T/bin install_shims "$T/all" --all
  expect_eq "$ALL_TOOLS" "$(ls "$T/all" | tr '\n' ' ' | sed 's/ $//')" "shims with --all"
}

test_install_skips_excluded_tools() {
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc"
  printf 'exclude = code, hf\n' >"$XDG_CONFIG_HOME/ipfsacc/ipfsacc.conf"
  install_shims "$T/shims"
  # hf names the rule file, so huggingface-cli is left out too.
  expect_eq "claude gemini gh groq vastai" "$(ls "$T/shims" | tr '\n' ' ' | sed 's/ $//')"
  IPFSACC_EXCLUDE="gh vastai" install_shims "$T/env"
  expect_eq "claude code gemini groq hf huggingface-cli" "$(ls "$T/env" | tr '\n' ' ' | sed 's/ $//')"
}

test_install_leaves_other_files_alone() {
  mkdir -p "$T/shims"
  printf 'mine\n' >"$T/shims/gh"
  capture a ipfsacc shims install "$T/shims"
  expect_rc 1
  expect_file_contains "$T/a.err" "$T/shims/gh exists and is not an ipfsacc shim"
  expect_eq "mine" "$(cat "$T/shims/gh")" "the user's file"
  [[ -L $T/shims/claude ]] || fail "the other shims were not made"
}

test_default_directory() {
  unset XDG_DATA_HOME
  install_shims
  [[ -L $HOME/.local/share/ipfsacc/shims/gh ]] || fail "no shim in ~/.local/share/ipfsacc/shims"
  capture l ipfsacc shims list
  expect_rc 0
  expect_file_contains "$T/l.out" "gh"
  XDG_DATA_HOME=$T/data install_shims
  [[ -L $T/data/ipfsacc/shims/gh ]] || fail "no shim in \$XDG_DATA_HOME/ipfsacc/shims"
}

test_list_shows_the_real_tools() {
  install_shims "$T/shims" --all
  make_tool gh
  IPFSACC_PATH=$T/bin capture l ipfsacc shims list "$T/shims"
  expect_rc 0
  expect_match "$(grep '^gh ' "$T/l.out")" "^gh +$T/bin/gh$"
  expect_match "$(grep '^vastai ' "$T/l.out")" "^vastai +not installed \(the shim exits 127\)$"
  capture e ipfsacc shims list "$T/nothing-here"
  expect_rc 0
  expect_file_contains "$T/e.out" "No shims in $T/nothing-here."
}

test_remove_takes_only_shims() {
  install_shims "$T/shims"
  printf 'mine\n' >"$T/shims/notes"
  ln -s /bin/true "$T/shims/other-link"
  # A shim left dangling by an ipfsacc that moved is still a shim.
  ln -s /nonexistent/ipfsacc "$T/shims/stale"
  capture r ipfsacc shims remove "$T/shims"
  expect_rc 0
  expect_file_contains "$T/r.out" "Removed 9 shims from $T/shims."
  expect_eq "notes other-link" "$(ls "$T/shims" | tr '\n' ' ' | sed 's/ $//')" "left in the directory"
  rm "$T/shims/notes" "$T/shims/other-link"
  install_shims "$T/shims"
  capture r2 ipfsacc shims remove "$T/shims"
  expect_file_contains "$T/r2.out" "(and the directory)"
  [[ ! -e $T/shims ]] || fail "the emptied shim directory is still there"
}

test_call_through_a_shim_is_cached_and_transparent() {
  install_shims "$T/shims"
  run_direct direct gh pr list -R o/r
  shim a "$T/shims:$FAKES:$SYS_PATH" gh pr list -R o/r
  expect_same direct a
  shim b "$T/shims:$FAKES:$SYS_PATH" gh pr list -R o/r
  expect_same direct b
  expect_invocations "gh pr list" 1
  expect_stat hits 1
  expect_stat tools.gh.misses 1
  # A shim called by its path works the same.
  shim c "$FAKES:$SYS_PATH" "$T/shims/gh" pr list -R o/r
  expect_same direct c
  expect_invocations "gh pr list" 1
}

test_two_shim_directories() {
  install_shims "$T/s1"
  install_shims "$T/s2"
  shim a "$T/s1:$T/s2:$FAKES:$SYS_PATH" gh pr list -R o/r
  expect_rc 0
  shim b "$T/s2:$T/s1:$FAKES:$SYS_PATH" gh pr list -R o/r
  expect_rc 0
  expect_same a b
  expect_invocations "gh pr list" 1
}

test_a_shim_directory_listed_twice() {
  install_shims "$T/shims"
  ln -s "$T/shims" "$T/alias-of-shims"
  shim a "$T/shims:$T/shims:$T/alias-of-shims:$FAKES:$T/shims:$SYS_PATH" gh pr list -R o/r
  expect_rc 0
  expect_invocations "gh pr list" 1
  # And in the prefix form, with the shims first on PATH.
  PATH=$T/shims:$T/shims:$FAKES:$SYS_PATH run_wrapped b gh pr list -R o/r
  expect_rc 0
  expect_same a b
  expect_invocations "gh pr list" 1
}

test_only_shims_on_path_is_a_clear_127() {
  install_shims "$T/shims" --all
  shim a "$T/shims" "$T/shims/gh" pr list -R o/r
  expect_rc 127
  expect_empty "$T/a.out"
  expect_file_contains "$T/a.err" "ipfsacc: gh: command not found: this gh is ipfsacc's shim and there is no other gh on PATH"
  expect_file_contains "$T/a.err" "ipfsacc shims remove"
  # Two shim directories and nothing else: the same, no loop.
  install_shims "$T/s2" --all
  shim b "$T/shims:$T/s2:$T/shims" "$T/shims/vastai" show instances
  expect_rc 127
  expect_file_contains "$T/b.err" "there is no other vastai on PATH"
  mkdir "$T/empty"
  IPFSACC_PATH=$T/empty shim c "$T/shims:$FAKES:$SYS_PATH" gh pr list
  expect_rc 127
  expect_file_contains "$T/c.err" "there is no other gh on IPFSACC_PATH"
  expect_eq 0 "$(wc -l <"$FAKE_LOG")" "tool invocations"
}

test_ipfsacc_path_overrides_path() {
  install_shims "$T/shims"
  # IPFSACC_PATH finds the tool that PATH does not have.
  IPFSACC_PATH=$FAKES shim a "$T/shims:$SYS_PATH" gh pr list -R o/r
  expect_rc 0
  expect_file_contains "$T/a.out" "#1	Fix bug"
  # And wins over PATH: another gh there is the one that runs.
  mkdir "$T/alt"
  cat >"$T/alt/gh" <<EOF
#!/bin/sh
FAKE_MARK=alt exec "$FAKES/gh" "\$@"
EOF
  chmod +x "$T/alt/gh"
  IPFSACC_PATH=$T/shims:$T/alt shim b "$T/shims:$FAKES:$SYS_PATH" gh repo view o/r
  expect_rc 0
  expect_file_contains "$T/b.out" "mark: alt"
  # The prefix form searches it too.
  IPFSACC_PATH=$T/alt capture c ipfsacc gh repo view o/r
  expect_file_contains "$T/c.out" "mark: alt"
  # The tool still gets the caller's PATH.
  IPFSACC_PATH=$FAKES FAKE_ECHO_ENV=PATH shim d "$T/shims:$SYS_PATH" gh api rate_limit
  expect_file_contains "$T/d.out" "env PATH=$T/shims:$SYS_PATH"
  # Empty is unset: PATH is searched.
  IPFSACC_PATH= shim e "$T/shims:$FAKES:$SYS_PATH" gh pr list -R o/r
  expect_rc 0
}

test_exit_codes_and_output_unchanged() {
  install_shims "$T/shims"
  local p="$T/shims:$FAKES:$SYS_PATH"
  local code
  for code in 1 3 42 127; do
    FAKE_EXIT=$code FAKE_STDERR="failed with $code" run_direct d$code gh pr list -R o/r
    FAKE_EXIT=$code FAKE_STDERR="failed with $code" shim s$code "$p" gh pr list -R o/r
    expect_same d$code s$code
    expect_rc "$code"
  done
  FAKE_SIGNAL=TERM run_direct dsig gh pr list -R o/r
  FAKE_SIGNAL=TERM shim ssig "$p" gh pr list -R o/r
  expect_rc 143
  expect_same dsig ssig
  FAKE_LOG='' FAKE_INTERLEAVE=1 FAKE_INTERLEAVE_SYNC=$T/di.all capture_combined di "$FAKES/gh" repo view x/y
  FAKE_INTERLEAVE=1 FAKE_INTERLEAVE_SYNC=$T/si.all PATH=$p capture_combined si "$SHIM_BOUNDED" gh repo view x/y
  expect_same_file "$T/di.all" "$T/si.all" "interleaved output"
  # The replay is identical too.
  FAKE_INTERLEAVE=1 PATH=$p capture_combined si2 "$SHIM_BOUNDED" gh repo view x/y
  expect_same_file "$T/di.all" "$T/si2.all" "replayed interleaved output"
  expect_invocations "gh repo view x/y" 1
  # Binary output and stdin pass through.
  FAKE_BINARY=1 run_direct db gh repo view o/r
  FAKE_BINARY=1 shim sb "$p" gh repo view o/r
  expect_same db sb
}

test_arguments_belong_to_the_tool() {
  install_shims "$T/shims"
  local p="$T/shims:$FAKES:$SYS_PATH"
  # ipfsacc's own options mean nothing through a shim: they are gh's.
  run_direct d gh -v --refresh --offline pr list
  shim a "$p" gh -v --refresh --offline pr list
  expect_same d a
  expect_invocations "gh -v --refresh --offline pr list" 1
  shim b "$p" gh --help
  expect_invocations "gh --help" 1
  expect_not_contains "$(cat "$T/b.out" "$T/b.err")" "ipfsacc"
  shim c "$p" gh --version
  expect_file_contains "$T/c.out" "gh version 2.23.0"
}

test_environment_configures_shim_calls() {
  install_shims "$T/shims"
  local p="$T/shims:$FAKES:$SYS_PATH"
  IPFSACC_DISABLE=1 shim a "$p" gh pr list -R o/r
  IPFSACC_DISABLE=1 shim b "$p" gh pr list -R o/r
  expect_invocations "gh pr list" 2
  # An excluded tool's shim runs it uncached; the others still cache.
  IPFSACC_EXCLUDE=gh shim c "$p" gh pr list -R o/r
  IPFSACC_EXCLUDE=gh shim d "$p" gh pr list -R o/r
  expect_invocations "gh pr list" 4
  IPFSACC_EXCLUDE=gh shim e "$p" vastai show instances
  IPFSACC_EXCLUDE=gh shim f "$p" vastai show instances
  expect_invocations "vastai show instances" 1
  # An unknown IPFSACC_* variable is a warning; the tool still runs.
  IPFSACC_TTLL=5m shim g "$p" gh repo view o/r
  expect_rc 0
  expect_file_contains "$T/g.err" "IPFSACC_TTLL"
}

test_both_names_of_a_tool() {
  install_shims "$T/shims"
  local p="$T/shims:$FAKES:$SYS_PATH"
  run_direct d1 hf models info gpt2
  shim a "$p" hf models info gpt2
  expect_same d1 a
  run_direct d2 huggingface-cli models info gpt2
  shim b "$p" huggingface-cli models info gpt2
  expect_same d2 b
  expect_invocations "hf models info gpt2" 1
  expect_invocations "huggingface-cli models info gpt2" 1
}

test_ipfsacc_under_its_own_name_is_not_a_shim() {
  # A copy or link called something else than a tool is plain ipfsacc.
  ln -s "$IPFSACC_BIN" "$T/bin/ipfsacc-dev"
  capture a "$BOUNDED" "$T/bin/ipfsacc-dev" --version
  expect_rc 0
  expect_file_contains "$T/a.out" "ipfsacc "
}

run_tests
