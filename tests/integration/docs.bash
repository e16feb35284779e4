# docs: the man page ipfsacc(1) is valid roff and documents every command and
# option the binary has (read from its generated completion data), every
# IPFSACC_* variable config.cpp knows, and the version.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

MAN_PAGE=$IPFSACC_SOURCE_DIR/packaging/ipfsacc.1

# The man page as plain text for searching: roff escapes for hyphens and
# fonts removed.
man_text() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/-/g' "$MAN_PAGE"
}

test_man_page_is_valid_roff() {
  command -v groff >/dev/null || skip "groff is not installed"
  capture a groff -man -ww -z "$MAN_PAGE"
  expect_rc 0
  expect_empty "$T/a.err"
}

test_man_page_covers_every_command_and_option() {
  man_text >"$T/man.txt"
  ipfsacc completions bash >"$T/c.bash" || fail "ipfsacc completions bash"
  # The command tree from the generated script: PATH, then its options.
  bash --norc --noprofile -c "source '$T/c.bash'
for path in \$(sed -n \"s/^  '\\([^']*\\)')\$/\\1/p\" '$T/c.bash' | tr ' ' '+') ''; do
  _ipfsacc_spec \"\${path//+/ }\"
  printf '%s|%s\n' \"\${path//+/ }\" \"\$opts\"
done" >"$T/tree" || fail "reading the command tree"
  [[ $(wc -l <"$T/tree") -gt 5 ]] || fail "the command tree is too small: $(cat "$T/tree")"
  local path opts opt
  while IFS='|' read -r path opts; do
    if [[ -n $path ]] && ! grep -q "^\.SS \"$path\b" "$T/man.txt"; then
      fail "the man page has no section (.SS) for '$path'"
    fi
    for opt in $opts; do
      if ! grep -qw -e "$opt" "$T/man.txt"; then
        fail "the man page does not mention option $opt of '${path:-ipfsacc}'"
      fi
    done
  done <"$T/tree"
}

test_man_page_covers_every_environment_variable() {
  man_text >"$T/man.txt"
  local var
  for var in $(grep -oE '"IPFSACC_[A-Z_]+"' "$IPFSACC_SOURCE_DIR/lib/core/config.cpp" | tr -d '"' | sort -u); do
    grep -q "^\.B $var\$" "$T/man.txt" || fail "the man page's ENVIRONMENT lacks $var"
  done
  # And every config key.
  for var in $(grep -oE '^  \{ "[a-z_]+",' "$IPFSACC_SOURCE_DIR/lib/core/config.cpp" | grep -oE '[a-z_]+'); do
    grep -q "^\.B $var\$" "$T/man.txt" || fail "the man page's CONFIGURATION lacks $var"
  done
}

test_man_page_version_is_the_binary_version() {
  local version
  version=$(ipfsacc --version | head -n 1 | cut -d' ' -f2)
  expect_match "$(grep '^\.TH' "$MAN_PAGE")" "\"ipfsacc $version\"" ".TH line"
}

test_version_says_what_is_compiled_in() {
  capture a ipfsacc --version
  expect_rc 0
  expect_match "$(sed -n 1p "$T/a.out")" '^ipfsacc [0-9]+\.[0-9]+\.[0-9]+ \(git ([0-9a-f]{7,}|unknown)\)$' "first line"
  expect_match "$(sed -n 2p "$T/a.out")" '^libraries: LMDB [0-9.]+, libsodium [0-9.]+, PCRE2 [0-9.]+' "second line"
  expect_match "$(sed -n 3p "$T/a.out")" '^linking: (fully static|static \(.*\), dynamic \(.*\)|dynamic \(.*\))' "third line"
  expect_match "$(sed -n 4p "$T/a.out")" '^SHA-256: (SHA-NI|libsodium)' "fourth line"
  capture b ipfsacc -V
  expect_same a b
  # The revision is this checkout's.
  if git -C "$IPFSACC_SOURCE_DIR" rev-parse --short HEAD >/dev/null 2>&1; then
    local head
    head=$(git -C "$IPFSACC_SOURCE_DIR" rev-parse --short HEAD)
    expect_match "$(sed -n 1p "$T/a.out")" "git ${head:0:7}" "revision"
  fi
}

test_help_lists_the_shell_commands() {
  capture a ipfsacc --help
  expect_rc 0
  local cmd
  for cmd in shell-init shims completions; do
    expect_file_contains "$T/a.out" "$cmd"
  done
  expect_file_contains "$T/a.out" "IPFSACC_PATH"
}

# README's Guarantees name, for each promise, the tests that hold it: every
# name is a test that exists, and every promise names one.
test_every_guarantee_names_tests_that_exist() {
  local readme=$IPFSACC_SOURCE_DIR/README.md bullets names name suite case
  # One line per promise: its bullet and the lines that continue it.
  bullets=$(sed -n '/^## Guarantees$/,/^## /p' "$readme" |
    awk '/^- \*\*/ { if (b) print b; b = $0; next } /^  / && b { b = b $0; next } { if (b) print b; b = "" } END { if (b) print b }')
  [[ $(printf '%s\n' "$bullets" | grep -c .) -ge 5 ]] || fail "too few promises found: $bullets"
  expect_eq "$(printf '%s\n' "$bullets" | grep -c .)" "$(printf '%s\n' "$bullets" | grep -c '\*Held by\*')" "promises that name their tests"
  names=$(printf '%s\n' "$bullets" | sed -n 's/.*\*Held by\*//p' | grep -oE '`[a-z0-9_]+\.[a-z0-9_]+`' | tr -d '`' | sort -u)
  [[ $(printf '%s\n' "$names" | grep -c .) -ge 10 ]] || fail "Guarantees name too few tests: $names"
  for name in $names; do
    suite=${name%%.*} case=${name#*.}
    grep -q "^test_$case() {" "$IPFSACC_SOURCE_DIR/tests/integration/$suite.bash" 2>/dev/null ||
      fail "README's Guarantees name $name, but tests/integration/$suite.bash has no test_$case"
  done
}

run_tests
