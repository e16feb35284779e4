# gh_http: the HTTP path of gh, compared byte for byte with the real gh.
#
# A fake GitHub API (tests/fakes/http/github.mjs, Node built-ins only) serves
# one dataset over REST and the GraphQL queries gh sends. The real gh (Debian's
# gh 2.23) reaches it with GH_HOST=github.localhost and
# HTTP_PROXY=http://127.0.0.1:PORT: for that host gh speaks plain HTTP to
# api.github.localhost (GraphQL at /graphql), and Go's proxy support sends the
# requests to the fake with absolute URLs. ipfsacc, with gh absent from PATH
# and the token from the secrets store, gets the same environment (so the
# URLs in error messages agree; libcurl is given HTTP_PROXY explicitly); one
# case reaches the fake through GITHUB_API_URL instead. Each case compares
# stdout, stderr and exit status, and the requests both sent (method, path and
# query, body).
#
# Skipped (125) when gh or node is not installed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

REAL_GH=$(command -v gh 2>/dev/null)
# The fakes directory has a fake gh: find the real one outside it.
if [[ -n $REAL_GH && $REAL_GH == "$FAKES/"* ]] || [[ -z $REAL_GH ]]; then
  REAL_GH=$(PATH=${PATH//$FAKES/} command -v gh 2>/dev/null)
fi
if [[ -z $REAL_GH ]] || ! command -v node >/dev/null 2>&1; then
  echo "$SUITE: skipped: needs the real gh and node" >&2
  exit 125
fi
NODE=$(command -v node)
FAKE_GITHUB=$FAKES/http/github.mjs
TOKEN=ghp_fake_token_for_tests_0123456789

# start_fake: the fake API on a free port, its requests logged to $T/api.log.
# Sets PORT. The server stops when the case's subshell exits.
start_fake() {
  : >"$T/api.log"
  "$NODE" "$FAKE_GITHUB" --log "$T/api.log" --port-file "$T/port" --token "$TOKEN" \
    >/dev/null 2>"$T/fake.err" &
  FAKE_PID=$!
  trap 'kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null' EXIT
  local deadline=$((SECONDS + 60))
  until [[ -s $T/port ]] || ((SECONDS >= deadline)); do
    sleep 0.05
  done
  [[ -s $T/port ]] || { _show "$T/fake.err" >&2; fail "the fake GitHub API did not start"; }
  PORT=$(cat "$T/port")
}

# A PATH without gh (the fallback's condition) that still has what the
# bounded runner needs.
setup_http() {
  mkdir -p "$T/nogh"
  ln -s "$(command -v timeout)" "$T/nogh/timeout"
  mkdir -p "$T/ghconfig"
  start_fake
  # The token lives in the secrets store, not in the environment.
  printf '%s\n' "$TOKEN" | ipfsacc secrets set github_token >"$T/set.out" 2>"$T/set.err" ||
    { _show "$T/set.err" >&2; fail "secrets set github_token failed"; }
}

# requests FILE: method, path and body of each logged request, one a line.
requests() {
  "$NODE" -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
    for (const l of lines) { const r = JSON.parse(l); console.log(r.method, r.path, JSON.stringify(r.body)); }
  ' "$1"
}

# real_gh NAME ARGS...: the real gh against the fake, captured as NAME.
real_gh() {
  local name=$1
  shift
  : >"$T/api.log"
  capture "$name" env GH_HOST=github.localhost HTTP_PROXY="http://127.0.0.1:$PORT" \
    NO_PROXY= no_proxy= GH_TOKEN="${GH_TEST_TOKEN:-$TOKEN}" GH_CONFIG_DIR="$T/ghconfig" \
    GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 "$REAL_GH" "$@"
  requests "$T/api.log" >"$T/$name.requests"
}

# http_gh NAME ARGS...: ipfsacc gh with gh absent from PATH, captured as NAME.
http_gh() {
  local name=$1
  shift
  : >"$T/api.log"
  PATH=$T/nogh GH_HOST=github.localhost HTTP_PROXY="http://127.0.0.1:$PORT" NO_PROXY= no_proxy= \
    capture "$name" ipfsacc gh "$@"
  requests "$T/api.log" >"$T/$name.requests"
}

# differential LABEL ARGS...: the real gh and ipfsacc's HTTP path print the
# same bytes, exit alike and send the same requests.
differential() {
  local label=$1
  shift
  real_gh "$label.gh" "$@"
  http_gh "$label.http" "$@"
  expect_same "$label.gh" "$label.http"
  expect_same_file "$T/$label.gh.requests" "$T/$label.http.requests" "requests"
  if [[ ! -s $T/$label.gh.requests ]]; then
    fail "gh sent no request for: gh $*"
  fi
}

test_api_plain() {
  setup_http
  differential plain api repos/octo-org/hello
  expect_rc 0
  expect_file_contains "$T/plain.http.out" '"full_name":"octo-org/hello"'
}

# {owner}/{repo} come from GH_REPO, else from the git remotes on the host
# in use (upstream before github before origin), as gh's BaseRepo does.
test_api_placeholders_from_the_git_remotes() {
  setup_http
  make_git_repo "$W" https://github.localhost/octo-org/hello.git
  git -C "$W" remote add fork git@github.localhost:someone/hello-fork.git
  git -C "$W" remote add elsewhere https://gitlab.example/other/place.git
  cd "$W"
  differential origin api 'repos/{owner}/{repo}'
  expect_rc 0
  expect_file_contains "$T/origin.http.out" '"full_name":"octo-org/hello"'
  git -C "$W" remote add upstream ssh://git@github.localhost/Octo-Org/Hello-Up.git
  differential upstream api 'repos/{owner}/{repo}/releases'
  expect_file_contains "$T/upstream.gh.requests" "/repos/Octo-Org/Hello-Up/releases"
  GH_REPO=octo-org/hello differential env api 'repos/{owner}/{repo}'
  expect_rc 0
  # No remote on the host: gh fails; the HTTP path says what to do instead.
  mkdir -p "$T/plain" && cd "$T/plain"
  make_git_repo "$T/plain" https://gitlab.example/other/place.git
  http_gh none api 'repos/{owner}/{repo}'
  expect_rc 127
  expect_file_contains "$T/none.err" "GH_REPO"
}

# GITHUB_API_URL (what GitHub Actions sets) points the HTTP path at a server
# directly; the answer is the same.
test_api_url_override() {
  setup_http
  real_gh direct.gh api repos/octo-org/hello
  : >"$T/api.log"
  PATH=$T/nogh GITHUB_API_URL="http://127.0.0.1:$PORT/" capture direct.http ipfsacc gh api repos/octo-org/hello
  requests "$T/api.log" >"$T/direct.http.requests"
  expect_same direct.gh direct.http
  expect_same_file "$T/direct.gh.requests" "$T/direct.http.requests" "requests"
  grep -q '"host":"127.0.0.1:' "$T/api.log" || fail "the request did not go to GITHUB_API_URL"
}

# A rejected token: gh's messages for REST and GraphQL, exit 1.
test_bad_credentials() {
  setup_http
  printf 'ghp_wrong\n' | ipfsacc secrets set github_token 2>/dev/null || fail "secrets set failed"
  local args
  for args in "api user" "repo view octo-org/hello --json name" "run list -R octo-org/hello --json name"; do
    # The real gh gets the same wrong token.
    # shellcheck disable=SC2086
    GH_TEST_TOKEN=ghp_wrong real_gh bad.gh $args
    # shellcheck disable=SC2086
    http_gh bad.http $args
    expect_same bad.gh bad.http
    expect_rc 1
  done
}

test_api_headers_and_fields() {
  setup_http
  differential hdr api -H 'Accept: application/vnd.github+json' -H 'X-Extra: 1' /repos/octo-org/world
  expect_rc 0
  # The headers reached the server.
  real_gh hdr2 api -H 'X-Extra: yes' repos/octo-org/world
  http_gh hdr2h api -H 'X-Extra: yes' repos/octo-org/world
  grep -q '"x-extra":"yes"' "$T/api.log" || fail "the -H header did not reach the server"
  differential fields api -X GET repos/octo-org/hello/issues -f state=all -F per_page=3 -f 'q=a b/é'
  expect_rc 0
}

test_api_paginate() {
  setup_http
  differential pages api --paginate 'repos/octo-org/hello/issues?per_page=2' -X GET -f state=all
  expect_rc 0
  expect_eq 2 "$(wc -l <"$T/pages.http.requests")" "requests of the paginated call"
  differential pages100 api --paginate repos/octo-org/hello/issues
}

test_api_not_found() {
  setup_http
  differential nf api repos/octo-org/nope
  expect_rc 1
  expect_file_contains "$T/nf.http.err" 'gh: Not Found (HTTP 404)'
  # A 404 is kept for the rule's negative_ttl (1m): the next call is a hit.
  http_gh nf2 api repos/octo-org/nope
  expect_eq 0 "$(wc -l <"$T/nf2.requests")" "requests of the repeated 404"
  expect_same_file "$T/nf.http.err" "$T/nf2.err" "replayed 404"
}

test_api_head_and_include() {
  setup_http
  differential head api -X HEAD repos/octo-org/hello
  differential include api -i repos/octo-org/hello
  expect_file_contains "$T/include.http.out" 'X-Ratelimit-Remaining: 4999'
  # -i is never replayed: the second call asks the server again.
  http_gh include2 api -i repos/octo-org/hello
  expect_eq 1 "$(wc -l <"$T/include2.requests")" "requests of the repeated -i call"
}

test_json_repo() {
  setup_http
  local fields=createdAt,defaultBranchRef,description,diskUsage,forkCount,hasIssuesEnabled,hasWikiEnabled,homepageUrl,id,isArchived,isEmpty,isFork,isPrivate,isTemplate,latestRelease,licenseInfo,name,nameWithOwner,owner,parent,primaryLanguage,pushedAt,repositoryTopics,sshUrl,stargazerCount,updatedAt,url
  differential list repo list octo-org --json "$fields"
  expect_rc 0
  differential list2 repo list octo-org --json name,isPrivate -L 2 --visibility public
  differential list3 repo list --json name,url --source
  differential view repo view octo-org/hello --json "$fields"
  differential view2 repo view octo-org/spoon --json parent,defaultBranchRef,description
  differential viewnf repo view octo-org/nope --json name
  expect_rc 1
}

test_json_pr_list() {
  setup_http
  local fields=additions,assignees,author,baseRefName,body,changedFiles,closed,closedAt,createdAt,deletions,headRefName,headRefOid,headRepositoryOwner,id,isCrossRepository,isDraft,labels,mergeable,mergedAt,mergedBy,milestone,number,reviewDecision,state,title,updatedAt,url
  differential all pr list -R octo-org/hello --state all --json "$fields"
  expect_rc 0
  differential open pr list -R octo-org/hello --json number,title,author
  differential merged pr list -R octo-org/hello -s merged --json number,state,mergedBy
  differential base pr list --repo octo-org/hello -B main -L 1 --json number,baseRefName
  differential nf pr list -R octo-org/nope --json number
  expect_rc 1
}

test_json_issue_list() {
  setup_http
  local fields=assignees,author,body,closed,closedAt,createdAt,id,labels,milestone,number,state,title,updatedAt,url
  differential all issue list -R octo-org/hello -s all --json "$fields"
  expect_rc 0
  differential closed issue list -R octo-org/hello --state closed --json number,closedAt
  differential limit issue list -R octo-org/hello -L 2 -A mona --json number,title
}

test_json_run_list() {
  setup_http
  local fields=conclusion,createdAt,databaseId,displayTitle,event,headBranch,headSha,name,number,startedAt,status,updatedAt,url,workflowDatabaseId,workflowName
  differential all run list -R octo-org/hello --json "$fields"
  expect_rc 0
  differential branch run list -R octo-org/hello -b main -L 1 --json databaseId,workflowName
  differential nf run list -R octo-org/nope --json databaseId
  expect_rc 1
}

# gh 2.23's release list is a table (it has no --json): shurcooL's query,
# tab-separated rows, nothing at all for no releases.
test_release_list() {
  setup_http
  differential table release list -R octo-org/hello
  expect_rc 0
  expect_file_contains "$T/table.http.out" $'One point one\tLatest\tv1.1.0\t2023-01-01T00:00:00Z'
  differential filtered release list -R octo-org/hello -L 1 --exclude-drafts --exclude-pre-releases
  expect_eq 2 "$(wc -l <"$T/filtered.http.requests")" "requests of the filtered list (two pages)"
  differential none release list -R octo-org/world
  expect_rc 0
  expect_empty "$T/none.http.out"
  differential nf release list -R octo-org/nope
  expect_rc 1
}

# The second call is a hit: same bytes, no request to the server.
test_second_call_is_a_hit() {
  setup_http
  http_gh first api repos/octo-org/hello
  expect_rc 0
  expect_eq 1 "$(wc -l <"$T/first.requests")" "requests of the first call"
  http_gh second api repos/octo-org/hello
  expect_same first second
  expect_empty "$T/second.requests"
  http_gh jfirst pr list -R octo-org/hello --json number,title
  http_gh jsecond pr list -R octo-org/hello --json number,title
  expect_same jfirst jsecond
  expect_empty "$T/jsecond.requests"
  expect_stat hits 2
}

# The token comes from the secrets store, travels in the Authorization
# header only, and is nowhere else: not in a URL, not in the cache.
test_token_from_the_store() {
  # Outputs kept as printed, so that grep would find a secret in them.
  export IPFSACC_COMPRESSION=off
  setup_http
  http_gh t1 api user
  expect_rc 0
  grep -q "\"authorization\":\"token $TOKEN\"" "$T/api.log" ||
    fail "the stored token was not sent in the Authorization header"
  requests "$T/api.log" >"$T/t1.all"
  if grep -qF "$TOKEN" "$T/t1.all"; then
    fail "the token appears in a request line or body"
  fi
  if grep -raqF "$TOKEN" "$IPFSACC_DIR" "$T/t1.out" "$T/t1.err"; then
    fail "the token appears in the cache or the output"
  fi
  # Without a token anywhere, the call is refused like a missing command.
  ipfsacc secrets rm github_token >/dev/null 2>&1 || ipfsacc secrets delete github_token >/dev/null 2>&1
  : >"$T/api.log"
  PATH=$T/nogh GITHUB_API_URL="http://127.0.0.1:$PORT" capture none ipfsacc gh api rate_limit
  expect_rc 127
  expect_file_contains "$T/none.err" "gh"
}

# What the HTTP path cannot do the way gh does it: exit 127, a message naming
# gh and how to install it, no request.
test_unsupported() {
  setup_http
  local args
  for args in "api user --jq .login" "api graphql -f query=x" "pr list -R octo-org/hello --json statusCheckRollup" \
    "pr list --json number" "api repos/{owner}/{repo}"; do
    # shellcheck disable=SC2086
    http_gh unsup ${args}
    expect_rc 127
    expect_file_contains "$T/unsup.err" "install gh"
    expect_empty "$T/unsup.out"
    expect_empty "$T/unsup.requests"
  done
}

run_tests
