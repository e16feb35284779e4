# rules: the user's own rule files add tools and replace built-in ones; a
# broken file is reported with its file and line and only its tool is
# affected (it runs uncached).
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

rules_dir() {
  mkdir -p "$XDG_CONFIG_HOME/ipfsacc/wrappers"
  echo "$XDG_CONFIG_HOME/ipfsacc/wrappers"
}

test_user_file_adds_a_tool() {
  make_tool mytool
  cat >"$(rules_dir)/mytool.json" <<'JSON'
// A tool of the user's own.
{"tool": "mytool", "binaries": ["mytool"],
 "rules": [{"id": "list", "command": ["list"], "ttl": "1h"}]}
JSON
  transparent a mytool list things
  transparent b mytool list things
  expect_invocations "mytool list" 1
  run_wrapped c -v mytool list things
  expect_explain c HIT mytool/list
  # Not matched by its rules: straight through, every time.
  transparent d mytool delete things
  transparent e mytool delete things
  expect_invocations "mytool delete" 2
}

test_user_file_replaces_built_in() {
  # The user's gh.json knows only `gh repo list`: pr list now passes.
  cat >"$(rules_dir)/gh.json" <<'JSON'
{"tool": "gh", "binaries": ["gh"],
 "rules": [{"id": "mine", "command": ["repo", "list"], "ttl": "1h"}]}
JSON
  transparent a gh pr list -R o/r
  transparent b gh pr list -R o/r
  expect_invocations "gh pr list" 2
  run_wrapped c -v gh repo list
  expect_explain c MISS gh/mine new
}

test_malformed_file_names_file_and_line() {
  cat >"$(rules_dir)/gh.json" <<'JSON'
{"tool": "gh",
 "binaries": ["gh"],
 "rules": [
   {"id": "x", "command": ["pr", "list"], "ttl": "soon"}
 ]}
JSON
  run_direct a gh pr list -R o/r
  run_wrapped b gh pr list -R o/r
  # Same output and exit code; one warning naming the file and line 4.
  expect_same_file "$T/a.out" "$T/b.out"
  expect_rc 0
  expect_file_contains "$T/b.err" "wrappers/gh.json:4:"
  expect_file_contains "$T/b.err" "soon"
  expect_eq 1 "$(grep -c '^ipfsacc: ' "$T/b.err")" "warning lines"
  run_wrapped c gh pr list -R o/r
  expect_invocations "gh pr list" 2 # b and c: uncached (a ran directly)
  # Other tools are not affected.
  transparent d hf models info gpt2
  transparent e hf models info gpt2
  expect_invocations "hf models info" 1
}

test_invalid_json_names_line() {
  printf '{"tool": "gh",\n "binaries": ["gh"]\n "rules": []}\n' >"$(rules_dir)/gh.json"
  run_wrapped a gh pr list -R o/r
  expect_rc 0
  expect_file_contains "$T/a.err" "wrappers/gh.json:3:"
}

test_invalid_regex_denies() {
  make_tool mytool
  cat >"$(rules_dir)/mytool.json" <<'JSON'
{"tool": "mytool", "binaries": ["mytool"],
 "rules": [{"id": "list", "command": ["list"], "deny_regex": "(unclosed"}]}
JSON
  # A deny that cannot be evaluated denies: the call passes through.
  transparent a mytool list
  transparent b mytool list
  expect_invocations "mytool list" 2
}

test_unknown_tool_is_a_usage_error() {
  run_wrapped a gj pr list
  expect_rc 2
  expect_file_contains "$T/a.err" "did you mean 'gh'"
}

run_tests
