# writes: mutating calls pass straight through every time, and drop the
# cached reads they change, for their repository only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

test_pr_create_in_git_repo() {
  make_git_repo "$W/repo"
  cd "$W/repo" || fail "cd"
  transparent l1 gh pr list
  transparent l2 gh pr list
  expect_invocations "gh pr list" 1
  expect_file_contains "$T/l2.wrapped.out" "repo: o/r"
  # The write runs, and runs again: never answered from the cache.
  transparent c1 gh pr create --title t --body b
  transparent c2 gh pr create --title t --body b
  expect_invocations "gh pr create" 2
  # The cached list is gone: the tool runs again, once.
  transparent l3 gh pr list
  expect_invocations "gh pr list" 2
  transparent l4 gh pr list
  expect_invocations "gh pr list" 2
}

test_pr_create_with_repo_flag() {
  transparent l1 gh pr list -R o/r
  transparent l2 gh pr list -R o/r
  expect_invocations "gh pr list" 1
  transparent c1 gh pr create -R o/r --title t --body b
  expect_invocations "gh pr create" 1
  transparent l3 gh pr list -R o/r
  expect_invocations "gh pr list" 2
  transparent l4 gh pr list --repo o/r
  transparent l5 gh pr list --repo o/r
  expect_invocations "gh pr list --repo" 1
  transparent c2 gh pr create --repo=o/r --title t --body b
  transparent l6 gh pr list --repo o/r
  expect_invocations "gh pr list --repo" 2
}

test_invalidation_is_scoped() {
  transparent a1 gh pr list -R o/r
  transparent b1 gh pr list -R o/other
  expect_invocations "gh pr list" 2
  # A pull request in o/other leaves o/r's list alone.
  transparent c gh pr create -R o/other --title t --body b
  transparent a2 gh pr list -R o/r
  expect_invocations "gh pr list -R o/r" 1
  transparent b2 gh pr list -R o/other
  expect_invocations "gh pr list -R o/other" 2
  # Reads of other kinds in the same repository are not dropped either.
  transparent r1 gh release list -R o/r
  transparent c2 gh pr create -R o/r --title t --body b
  transparent r2 gh release list -R o/r
  expect_invocations "gh release list" 1
}

test_flag_scope_meets_git_scope() {
  # An entry cached with -R o/r is dropped by a write made inside a clone of
  # o/r, and the other way round: both name the same repository.
  make_git_repo "$W/repo"
  transparent l1 gh pr list -R o/r
  (cd "$W/repo" && transparent c1 gh pr create --title t --body b)
  transparent l2 gh pr list -R o/r
  expect_invocations "gh pr list -R o/r" 2
  (cd "$W/repo" && transparent l3 gh pr list)
  (cd "$W/repo" && transparent l4 gh pr list)
  expect_invocations "gh pr list" 3
  transparent c2 gh pr create -R o/r --title t --body b
  (cd "$W/repo" && transparent l5 gh pr list)
  expect_invocations "gh pr list" 4
}

test_git_remote_is_in_the_key() {
  # Two clones of different repositories: `gh pr list` has a different
  # answer in each.
  make_git_repo "$W/r1" https://github.com/o/r.git
  make_git_repo "$W/r2" https://github.com/o/other.git
  (cd "$W/r1" && transparent a gh pr list)
  (cd "$W/r2" && transparent b gh pr list)
  expect_invocations "gh pr list" 2
  expect_file_contains "$T/b.wrapped.out" "repo: o/other"
  (cd "$W/r1" && transparent c gh pr list)
  (cd "$W/r2" && transparent d gh pr list)
  expect_invocations "gh pr list" 2
}

test_merge_close_edit_drop_view() {
  local w
  for w in merge close edit; do
    transparent "v1$w" gh pr view 1 -R o/r
    transparent "s1$w" gh pr status -R o/r
    transparent "w$w" gh pr "$w" 1 -R o/r
    transparent "v2$w" gh pr view 1 -R o/r
    transparent "s2$w" gh pr status -R o/r
  done
  expect_invocations "gh pr view" 4
  expect_invocations "gh pr status" 4
  expect_invocations "gh pr merge" 1
  expect_invocations "gh pr close" 1
  expect_invocations "gh pr edit" 1
}

test_api_writes_pass_through() {
  transparent g1 gh api repos/o/r/issues
  transparent g2 gh api repos/o/r/issues
  expect_invocations "gh api repos/o/r/issues" 1
  transparent p1 gh api -X POST repos/o/r/issues -f title=x
  transparent p2 gh api -X POST repos/o/r/issues -f title=x
  transparent p3 gh api --method=PATCH repos/o/r/issues/1 -f state=closed
  transparent p4 gh api --method=PATCH repos/o/r/issues/1 -f state=closed
  transparent f1 gh api repos/o/r/issues -f title=x
  transparent f2 gh api repos/o/r/issues -f title=x
  transparent f3 gh api repos/o/r/issues -F title=x
  transparent f4 gh api repos/o/r/issues -F title=x
  expect_invocations "gh api -X POST" 2
  expect_invocations "gh api --method=PATCH" 2
  expect_invocations "gh api repos/o/r/issues -f" 2
  expect_invocations "gh api repos/o/r/issues -F" 2
  # A graphql mutation passes through.
  transparent m1 gh api graphql -f query='mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }'
  transparent m2 gh api graphql -f query='mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }'
  expect_invocations "gh api graphql" 2
  # An explicit GET is a read.
  transparent e1 gh api -X GET repos/o/r/pulls
  transparent e2 gh api -X GET repos/o/r/pulls
  expect_invocations "gh api -X GET repos/o/r/pulls" 1
}

test_code_install_drops_extension_list() {
  transparent l1 code --list-extensions
  transparent l2 code --list-extensions --show-versions
  transparent l3 code --list-extensions
  expect_invocations "code --list-extensions" 2
  transparent i1 code --install-extension ms-python.python
  transparent i2 code --install-extension ms-python.python
  expect_invocations "code --install-extension" 2
  transparent l4 code --list-extensions
  transparent l5 code --list-extensions --show-versions
  expect_invocations "code --list-extensions" 4
  transparent l6 code --list-extensions
  expect_invocations "code --list-extensions" 4
}

test_write_failure_exit_code() {
  # A failed write still passes its exit code and output through, and a
  # read cached before it is dropped (whether it succeeded is not known).
  transparent l1 gh pr list -R o/r
  FAKE_EXIT=1 FAKE_STDERR="pull request create failed: GraphQL: No commits" \
    transparent c1 gh pr create -R o/r --title t --body b
  expect_rc 1
  expect_file_contains "$T/c1.wrapped.err" "No commits"
}

test_writes_are_bypasses() {
  run_wrapped c -v gh pr create -R o/r --title t --body b
  expect_explain c BYPASS
  run_wrapped i -v gh issue create -R o/r --title t --body b
  expect_explain i BYPASS
  run_wrapped a -v gh api -X DELETE repos/o/r/issues/1
  expect_explain a BYPASS
  run_wrapped k -v claude -p "Fix the bug" --dangerously-skip-permissions
  expect_explain k BYPASS
  run_wrapped m -v claude -p "Fix the bug" --permission-mode acceptEdits
  expect_explain m BYPASS
  run_wrapped y -v gemini -p "Fix the bug" --yolo
  expect_explain y BYPASS
  run_wrapped y2 -v gemini -p "Fix the bug" --approval-mode auto_edit
  expect_explain y2 BYPASS
  expect_invocations claude 2
  expect_invocations gemini 2
}

test_agents_that_edit_run_every_time() {
  transparent k1 claude -p "Fix the bug" --dangerously-skip-permissions
  transparent k2 claude -p "Fix the bug" --dangerously-skip-permissions
  expect_invocations claude 2
  transparent y1 gemini -p "Fix the bug" -y
  transparent y2 gemini -p "Fix the bug" -y
  expect_invocations gemini 2
}

run_tests
