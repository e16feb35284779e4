# stdin: piped stdin is part of the key where the tool reads it (claude -p,
# gemini -p, gh api --input -, run), and left alone everywhere else.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# piped NAME TEXT CMD...: capture CMD with TEXT on a pipe as stdin.
piped() {
  local name=$1 text=$2
  shift 2
  printf '%s' "$text" | capture "$name" "$@"
}

# piped_transparent LABEL TEXT [IPFSACC OPTIONS] TOOL ARGS...: the same
# piped input to the tool directly and through ipfsacc; identical results.
piped_transparent() {
  local label=$1 text=$2
  shift 2
  local opts=()
  while [[ $# -gt 0 && $1 == -* ]]; do
    opts+=("$1")
    shift
  done
  if [[ ${1:-} == run ]]; then
    while [[ $# -gt 0 && $1 != -- ]]; do
      opts+=("$1")
      shift
    done
    opts+=("$1")
    shift
  fi
  printf '%s' "$text" | FAKE_LOG='' capture "$label.direct" "$@"
  printf '%s' "$text" | capture "$label.wrapped" ipfsacc "${opts[@]}" "$@"
  expect_same "$label.direct" "$label.wrapped"
}

test_claude_prompt_on_stdin() {
  make_git_repo "$W"
  piped_transparent a "Summarize: alpha" claude -p "Be brief"
  piped_transparent b "Summarize: alpha" claude -p "Be brief"
  expect_invocations "claude -p" 1
  piped_transparent c "Summarize: beta" claude -p "Be brief"
  expect_invocations "claude -p" 2
  # The fake echoes the hash of what it read: the tool got the stdin.
  expect_file_contains "$T/c.wrapped.out" "sha256=$(printf 'Summarize: beta' | sha256sum | cut -d' ' -f1)"
  piped_transparent d "Summarize: alpha" claude -p "Be brief"
  piped_transparent e "Summarize: beta" claude -p "Be brief"
  expect_invocations "claude -p" 2
  expect_stat entries 2
}

test_gemini_prompt_on_stdin() {
  make_git_repo "$W"
  piped_transparent a "log line 1" gemini -p "Explain"
  piped_transparent b "log line 2" gemini -p "Explain"
  piped_transparent c "log line 1" gemini -p "Explain"
  expect_invocations "gemini -p" 2
}

test_groq_prompt_from_stdin() {
  # The fake groq CLI rather than the HTTP path that groq takes first.
  export IPFSACC_PREFER=cli
  piped_transparent a "Why is the sky blue?" groq --temperature 0 -
  piped_transparent b "Why is the sky blue?" groq --temperature 0 -
  expect_invocations "groq --temperature 0 -" 1
  piped_transparent c "Why is grass green?" groq --temperature 0 -
  expect_invocations "groq --temperature 0 -" 2
  # Without "-" groq does not read stdin, and ipfsacc leaves it alone.
  printf 'q1\nq2\n' >"$T/qs"
  local q n=0
  while read -r q; do
    ipfsacc groq "$q" >/dev/null
    n=$((n + 1))
  done <"$T/qs"
  expect_eq 2 "$n" "iterations of the groq loop"
}

test_empty_stdin_differs_from_some() {
  make_git_repo "$W"
  piped_transparent a "" claude -p "Hi"
  piped_transparent b "x" claude -p "Hi"
  piped_transparent c "" claude -p "Hi"
  expect_invocations "claude -p" 2
}

test_large_stdin() {
  make_git_repo "$W"
  # More than a pipe buffer: ipfsacc must read it all and still feed it to
  # the tool without deadlocking.
  seq 1 200000 >"$T/big.txt"
  FAKE_LOG='' capture direct claude -p "Count" <"$T/big.txt"
  cat "$T/big.txt" | capture w1 ipfsacc claude -p "Count"
  expect_same direct w1
  cat "$T/big.txt" | capture w2 ipfsacc claude -p "Count"
  expect_same direct w2
  expect_invocations "claude -p" 1
  expect_file_contains "$T/w2.out" "bytes=$(wc -c <"$T/big.txt")"
}

test_stdin_from_file_is_keyed_too() {
  printf 'one' >"$T/in1"
  printf 'two' >"$T/in2"
  FAKE_LOG='' capture d1 claude -p "Go" <"$T/in1"
  capture w1 ipfsacc claude -p "Go" <"$T/in1"
  expect_same d1 w1
  FAKE_LOG='' capture d2 claude -p "Go" <"$T/in2"
  capture w2 ipfsacc claude -p "Go" <"$T/in2"
  expect_same d2 w2
  expect_invocations "claude -p" 2
}

test_gh_api_input_is_keyed() {
  # The issue: stdin is in the key where the tool reads it, `gh api --input -`
  # named among them (a GraphQL query sent on stdin).
  local q1='{"query":"query { viewer { login } }"}'
  local q2='{"query":"query { viewer { name } }"}'
  piped_transparent a "$q1" gh api graphql --input -
  piped_transparent b "$q1" gh api graphql --input -
  expect_invocations "gh api graphql --input -" 1
  piped_transparent c "$q2" gh api graphql --input -
  expect_invocations "gh api graphql --input -" 2
}

test_gh_api_input_mutation_passes_through() {
  # A mutation on stdin is a write: it passes through every time.
  local m='{"query":"mutation { addStar(input: {starrableId: \"x\"}) { clientMutationId } }"}'
  piped_transparent d "$m" gh api graphql --input -
  piped_transparent e "$m" gh api graphql --input -
  expect_invocations "gh api graphql --input -" 2
}

test_gh_leaves_stdin_alone() {
  # The loop must see every line: ipfsacc must not read the loop's stdin.
  printf 'o/a\no/b\no/c\n' >"$T/list"
  local r
  while read -r r; do
    FAKE_LOG='' gh repo view "$r"
  done <"$T/list" >"$T/direct.out" 2>&1
  while read -r r; do
    ipfsacc gh repo view "$r"
  done <"$T/list" >"$T/miss.out" 2>&1
  expect_same_file "$T/direct.out" "$T/miss.out" "output of the loop (misses)"
  expect_invocations "gh repo view" 3
  while read -r r; do
    ipfsacc gh repo view "$r"
  done <"$T/list" >"$T/hit.out" 2>&1
  expect_same_file "$T/direct.out" "$T/hit.out" "output of the loop (hits)"
  expect_invocations "gh repo view" 3
  # Same with other tools that do not read stdin.
  printf 'gpt2\nbert-base-uncased\n' >"$T/models"
  local n=0
  while read -r r; do
    ipfsacc hf models info "$r" >/dev/null
    n=$((n + 1))
  done <"$T/models"
  expect_eq 2 "$n" "iterations of the hf loop"
}

test_stdin_untouched_for_a_tool_that_reads_it_itself() {
  # A call that is not cached (a write) gets the whole stdin.
  printf 'body from stdin\n' >"$T/body"
  FAKE_STDIN=1 FAKE_LOG='' capture d gh pr create -R o/r --title t --body-file - <"$T/body"
  FAKE_STDIN=1 capture w ipfsacc gh pr create -R o/r --title t --body-file - <"$T/body"
  expect_same d w
  expect_file_contains "$T/w.out" "bytes=16"
}

test_run_keys_stdin() {
  make_tool mytool
  export FAKE_STDIN=1
  piped_transparent a "x" run -- mytool filter
  piped_transparent b "x" run -- mytool filter
  expect_invocations "mytool filter" 1
  piped_transparent c "y" run -- mytool filter
  expect_invocations "mytool filter" 2
  # A real filter command.
  piped_transparent s1 "b
a
c
" run -- sort
  piped_transparent s2 "z
y
" run -- sort
  expect_file_contains "$T/s2.wrapped.out" "y"
  expect_eq 2 "$(wc -l <"$T/s2.wrapped.out")" "lines of sort's output"
}

test_run_no_stdin() {
  make_tool mytool
  # With --no-stdin, stdin is not in the key and is left to the command.
  printf 'l1\nl2\nl3\n' >"$T/list"
  local r n=0
  while read -r r; do
    ipfsacc run --no-stdin -- mytool item "$r" >/dev/null
    n=$((n + 1))
  done <"$T/list"
  expect_eq 3 "$n" "iterations of the loop"
  expect_invocations "mytool item" 3
  FAKE_MARK=first piped p1 "x" ipfsacc run --no-stdin -- mytool same
  FAKE_MARK=second piped p2 "y" ipfsacc run --no-stdin -- mytool same
  expect_invocations "mytool same" 1
  expect_file_contains "$T/p2.out" "mark: first"
  # The command still reads its stdin itself on a miss.
  FAKE_STDIN=1 piped p3 "hello" ipfsacc run --no-stdin -- mytool reads
  expect_file_contains "$T/p3.out" "bytes=5"
}

run_tests
