// The gh HTTP path: argument mapping, requests and output formatting, with a
// recording transport in place of libcurl. (tests/integration/gh_http.bash
// compares the same calls with the real gh against a fake GitHub API.)
#include "sdk/sdk.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace ipfsacc;

namespace {

// Answers requests from a table (URL → response) and records them.
struct FakeApi {
  std::map<std::string, http::Response> routes;
  std::vector<http::Request> seen;

  http::Transport transport() {
    return [this](const http::Request& req) -> http::Result {
      seen.push_back(req);
      auto it = routes.find(req.method + " " + req.url);
      if (it == routes.end()) {
        it = routes.find(req.url);
      }
      if (it == routes.end()) {
        return http::Response{
          404,
          { { "Content-Type", "application/json; charset=utf-8" } },
          R"({"message":"Not Found","documentation_url":"x"})"
        };
      }
      return it->second;
    };
  }
};

http::Response ok(std::string body, std::vector<http::Header> headers = {}) {
  headers.insert(headers.begin(),
                 { "Content-Type", "application/json; charset=utf-8" });
  return http::Response{ 200, std::move(headers), std::move(body) };
}

sdk::Invocation invocation(FakeApi& api,
                           std::vector<std::string> args,
                           std::map<std::string, std::string> env = {
                             { "GH_TOKEN", "tok123" } }) {
  sdk::Invocation call;
  call.tool = "gh";
  call.binary = "gh";
  call.args = std::move(args);
  call.env = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) {
      return std::nullopt;
    }
    return it->second;
  };
  call.transport = api.transport();
  return call;
}

std::optional<std::string> header(const http::Request& r,
                                  std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("gh api GET: the body as it came, the token in a header only") {
  FakeApi api;
  api.routes["https://api.github.com/repos/o/r"] = ok(R"({"a":1})");
  auto call = invocation(api, { "api", "/repos/o/r" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out == R"({"a":1})");
  CHECK(answer->err.empty());
  CHECK(answer->exit_code == 0);
  CHECK(answer->cacheable);
  CHECK(answer->requests == 1);
  REQUIRE(api.seen.size() == 1);
  CHECK(api.seen[0].method == "GET");
  CHECK(api.seen[0].url == "https://api.github.com/repos/o/r");
  CHECK(header(api.seen[0], "Authorization") == "token tok123");
  CHECK(!test::contains(api.seen[0].url, "tok123"));
  CHECK(sdk::gh_identical(call));
}

TEST_CASE("gh api: -H headers, HEAD, and the base URL from the environment") {
  FakeApi api;
  api.routes["HEAD http://127.0.0.1:9/api/v3/user"] = ok("ignored");
  auto call =
    invocation(api,
               { "api", "-X", "HEAD", "-H", "Accept: text/plain", "user" },
               { { "GITHUB_TOKEN", "t" },
                 { "GITHUB_API_URL", "http://127.0.0.1:9/api/v3/" } });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out.empty()); // HEAD prints no body
  REQUIRE(api.seen.size() == 1);
  CHECK(api.seen[0].method == "HEAD");
  CHECK(header(api.seen[0], "Accept") == "text/plain");
  CHECK(header(api.seen[0], "Authorization") == "token t");

  SUBCASE("GH_HOST: GitHub Enterprise and its own token") {
    FakeApi ghe;
    auto c = invocation(ghe,
                        { "api", "user" },
                        { { "GH_HOST", "ghe.corp" },
                          { "GH_ENTERPRISE_TOKEN", "e" },
                          { "GH_TOKEN", "public" } });
    (void)sdk::gh_run(c);
    REQUIRE(ghe.seen.size() == 1);
    CHECK(ghe.seen[0].url == "https://ghe.corp/api/v3/user");
    CHECK(header(ghe.seen[0], "Authorization") == "token e");
  }
  SUBCASE("github.localhost: plain HTTP, as gh does") {
    FakeApi local;
    auto c =
      invocation(local,
                 { "api", "user" },
                 { { "GH_HOST", "github.localhost" }, { "GH_TOKEN", "x" } });
    (void)sdk::gh_run(c);
    REQUIRE(local.seen.size() == 1);
    CHECK(local.seen[0].url == "http://api.github.localhost/user");
  }
}

TEST_CASE(
  "gh api -X GET: fields become the query string, sorted and escaped like Go") {
  FakeApi api;
  auto call = invocation(api,
                         { "api",
                           "search/issues?x=1",
                           "-X",
                           "GET",
                           "-f",
                           "q=a b/é~*",
                           "-F",
                           "per_page=007",
                           "-F",
                           "draft=true",
                           "-F",
                           "n=null",
                           "-f",
                           "q=last wins" });
  (void)sdk::gh_run(call);
  REQUIRE(api.seen.size() == 1);
  CHECK(api.seen[0].url == "https://api.github.com/search/"
                           "issues?x=1&draft=true&n=&per_page=7&q=last+wins");
  CHECK(api.seen[0].body.empty());
}

TEST_CASE("gh api --paginate: per_page=100, Link rel=next followed, pages "
          "concatenated") {
  FakeApi api;
  api.routes["https://api.github.com/repos/o/r/issues?per_page=100"] =
    ok("[1,2]",
       { { "Link",
           "<https://api.github.com/repos/o/r/issues?per_page=100&page=2>; "
           "rel=\"next\", <https://api.github.com/x?page=9>; rel=\"last\"" } });
  api.routes["https://api.github.com/repos/o/r/issues?per_page=100&page=2"] =
    ok("[3]",
       { { "Link", "<https://api.github.com/x?page=1>; rel=\"prev\"" } });
  auto call = invocation(api, { "api", "--paginate", "repos/o/r/issues" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "[1,2][3]");
  CHECK(answer->requests == 2);
  CHECK(answer->cacheable);

  SUBCASE("a per_page of the caller's is kept") {
    FakeApi a2;
    auto c =
      invocation(a2, { "api", "--paginate", "repos/o/r/issues?per_page=5" });
    (void)sdk::gh_run(c);
    REQUIRE(a2.seen.size() == 1);
    CHECK(a2.seen[0].url ==
          "https://api.github.com/repos/o/r/issues?per_page=5");
  }
}

TEST_CASE("gh api -i: gh's header block, never cacheable") {
  FakeApi api;
  api.routes["http://h/rate_limit"] = ok("{}",
                                         { { "x-ratelimit-remaining", "4999" },
                                           { "Vary", "Accept" },
                                           { "vary", "Origin" } });
  auto call =
    invocation(api,
               { "api", "-i", "rate_limit" },
               { { "GH_TOKEN", "t" }, { "GITHUB_API_URL", "http://h" } });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "HTTP/1.1 200 OK\n"
                       "Content-Type: application/json; charset=utf-8\r\n"
                       "Vary: Accept, Origin\r\n"
                       "X-Ratelimit-Remaining: 4999\r\n"
                       "\r\n{}");
  CHECK(!answer->cacheable);
  CHECK(!sdk::gh_identical(call));
}

TEST_CASE("gh api errors: the body on stdout, gh's message on stderr, exit 1, "
          "not cached") {
  FakeApi api;
  auto call = invocation(api, { "api", "repos/o/nope" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->exit_code == 1);
  CHECK(answer->out == R"({"message":"Not Found","documentation_url":"x"})");
  CHECK(answer->err == "gh: Not Found (HTTP 404)\n");
  CHECK(!answer->cacheable);

  SUBCASE("no JSON message") {
    FakeApi a2;
    a2.routes["https://api.github.com/boom"] =
      http::Response{ 502, {}, "bad gateway" };
    auto c = invocation(a2, { "api", "boom" });
    auto r = sdk::gh_run(c);
    REQUIRE(r);
    CHECK(r->err == "gh: HTTP 502\n");
  }
  SUBCASE("no response at all") {
    sdk::Invocation c = call;
    c.transport = [](const http::Request&) -> http::Result {
      return std::unexpected(http::Error{ "connection refused", false });
    };
    auto r = sdk::gh_run(c);
    REQUIRE(r);
    CHECK(r->exit_code == 1);
    CHECK(!r->cacheable);
    CHECK(test::contains(r->err, "connection refused"));
  }
}

TEST_CASE(
  "gh api: {owner}/{repo} from GH_REPO; what only gh can do is Unsupported") {
  FakeApi api;
  auto call = invocation(api,
                         { "api", "repos/{owner}/{repo}/pulls" },
                         { { "GH_TOKEN", "t" }, { "GH_REPO", "acme/app" } });
  (void)sdk::gh_run(call);
  REQUIRE(api.seen.size() == 1);
  CHECK(api.seen[0].url == "https://api.github.com/repos/acme/app/pulls");

  const std::vector<std::vector<std::string>> refused{
    { "api", "repos/{owner}/{repo}" },        // no GH_REPO: git remotes
    { "api", "repos/o/r/branches/{branch}" }, // the checked-out branch
    { "api", "user", "--jq", ".login" },      // jq
    { "api", "user", "-t", "{{.login}}" },    // templates
    { "api", "graphql", "-f", "query={viewer{login}}" },
    { "api", "repos/o/r/issues", "-f", "title=x" }, // POST
    { "api", "-X", "DELETE", "repos/o/r" },
    { "api", "-X", "head", "repos/o/r" }, // gh sends it lowercase
    { "api", "--input", "-", "user" },
    { "api", "user", "--bogus" },
    { "release", "create", "v1" },
  };
  for (const auto& args : refused) {
    CAPTURE(args.back());
    FakeApi none;
    auto c = invocation(none, args);
    auto r = sdk::gh_run(c);
    REQUIRE(!r);
    CHECK(test::contains(r.error().message, "gh"));
    CHECK(test::contains(r.error().message, "install"));
    CHECK(none.seen.empty());
    CHECK(!sdk::gh_identical(c));
  }

  SUBCASE("no token") {
    FakeApi none;
    auto c = invocation(none, { "api", "user" }, {});
    auto r = sdk::gh_run(c);
    REQUIRE(!r);
    CHECK(test::contains(r.error().message, "GH_TOKEN"));
    CHECK(none.seen.empty());
  }
}

namespace {

nlohmann::json graphql_body(const http::Request& r) {
  return nlohmann::json::parse(r.body);
}

} // namespace

TEST_CASE(
  "gh pr list --json: gh's query, and gh's JSON (sorted keys, Go escaping)") {
  FakeApi api;
  api.routes["POST https://api.github.com/graphql"] =
    ok(R"({"data":{"repository":{
    "pullRequests":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":null},"nodes":[
      {"number":2,"title":"a<b>&\u2028\u0001\b\n","author":{"login":"hubot"},"closedAt":null,
       "labels":{"nodes":[{"id":"L","name":"bug","description":"d","color":"f00"}],"totalCount":1},
       "reviewDecision":null,"updatedAt":null},
      {"number":1,"title":"ünï","author":{"login":"mona","id":"U1","name":"Mona"},
       "closedAt":"2023-01-01T00:00:00Z","labels":{"nodes":[],"totalCount":0},
       "reviewDecision":"APPROVED","updatedAt":"2023-01-02T00:00:00Z"}]}}}})");
  auto call = invocation(
    api,
    { "pr",
      "list",
      "-R",
      "o/r",
      "--state",
      "all",
      "-L",
      "5",
      "--json",
      "title,number,author,closedAt,labels,reviewDecision,updatedAt" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->exit_code == 0);
  CHECK(
    answer->out ==
    R"([{"author":{"is_bot":true,"login":"app/hubot"},"closedAt":null,)"
    R"("labels":[{"id":"L","name":"bug","description":"d","color":"f00"}],"number":2,)"
    R"("reviewDecision":"","title":"a<b>&\u2028\u0001\u0008\n","updatedAt":"0001-01-01T00:00:00Z"},)"
    R"({"author":{"id":"U1","is_bot":false,"login":"mona","name":"Mona"},)"
    R"("closedAt":"2023-01-01T00:00:00Z","labels":[],"number":1,"reviewDecision":"APPROVED",)"
    R"("title":"ünï","updatedAt":"2023-01-02T00:00:00Z"}])"
    "\n");
  REQUIRE(api.seen.size() == 1);
  const auto& req = api.seen[0];
  CHECK(req.method == "POST");
  CHECK(header(req, "Authorization") == "token tok123");
  auto body = graphql_body(req);
  auto query = body["query"].get<std::string>();
  CHECK(query.starts_with(
    "fragment pr on PullRequest{title,number,author{login,...on "
    "User{id,name}},closedAt,labels(first:100){nodes{id,name,"
    "description,color},totalCount},reviewDecision,updatedAt}\n"));
  CHECK(
    body["variables"] ==
    nlohmann::json::parse(
      R"({"limit":5,"owner":"o","repo":"r","state":["OPEN","CLOSED","MERGED"]})"));
  CHECK(sdk::gh_identical(call));
}

TEST_CASE(
  "gh --json: unmapped fields, search filters and missing repositories") {
  const std::vector<std::vector<std::string>> refused{
    { "pr", "list", "-R", "o/r", "--json", "number,statusCheckRollup" },
    { "pr", "list", "-R", "o/r", "--json", "number", "--label", "bug" },
    { "pr", "list", "-R", "o/r", "--json", "number", "--jq", ".[]" },
    { "pr", "list", "--json", "number" }, // no -R, no GH_REPO
    { "issue", "list", "-R", "o/r", "--json", "comments" },
    { "repo", "view", "--json", "name" },
    { "run", "list", "-R", "o/r", "--json", "name", "-w", "ci.yml" },
    { "repo", "list", "--json", "visibility" },
  };
  for (const auto& args : refused) {
    CAPTURE(args.back());
    FakeApi none;
    auto c = invocation(none, args);
    auto r = sdk::gh_run(c);
    REQUIRE(!r);
    CHECK(test::contains(r.error().message, "install gh"));
    CHECK(none.seen.empty());
    CHECK(!sdk::gh_identical(c));
  }
  FakeApi none;
  auto r = sdk::gh_run(
    invocation(none, { "pr", "list", "-R", "o/r", "--json", "number,bogus" }));
  REQUIRE(!r);
  CHECK(test::contains(r.error().message, "\"bogus\""));
}

TEST_CASE("gh repo view --json: one object; GraphQL errors as gh prints them") {
  FakeApi api;
  api.routes["POST https://api.github.com/graphql"] =
    ok(R"({"data":{"repository":{
    "name":"r","description":null,"defaultBranchRef":null,"primaryLanguage":null,
    "owner":{"id":"O","login":"o"},"repositoryTopics":{"nodes":[]}}}})");
  auto call =
    invocation(api,
               { "repo",
                 "view",
                 "o/r",
                 "--json",
                 "repositoryTopics,owner,primaryLanguage,defaultBranchRef,"
                 "description,name" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out ==
        R"({"defaultBranchRef":{"name":""},"description":"","name":"r",)"
        R"("owner":{"id":"O","login":"o"},"primaryLanguage":null,)"
        R"("repositoryTopics":null})"
        "\n");
  auto body = graphql_body(api.seen.at(0));
  CHECK(body["variables"] ==
        nlohmann::json::parse(R"({"name":"r","owner":"o"})"));

  FakeApi missing;
  missing.routes["POST https://api.github.com/graphql"] = ok(
    R"({"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],)"
    R"("message":"Could not resolve to a Repository with the name 'o/x'."}]})");
  auto r = sdk::gh_run(
    invocation(missing, { "repo", "view", "o/x", "--json", "name" }));
  REQUIRE(r);
  CHECK(r->exit_code == 1);
  CHECK(r->out.empty());
  CHECK(r->err == "GraphQL: Could not resolve to a Repository with the name "
                  "'o/x'. (repository)\n");
  CHECK(!r->cacheable);
}

TEST_CASE("gh run list --json: REST runs named from the workflow list") {
  FakeApi api;
  api.routes["https://api.github.com/repos/o/r/actions/"
             "runs?per_page=2&exclude_pull_requests="
             "true&branch=feat%2Fx&actor=mona"] =
    ok(R"({"total_count":3,"workflow_runs":[
      {"id":9,"workflow_id":1,"conclusion":null,"status":"queued","run_started_at":"2023-01-01T00:00:00Z"},
      {"id":8,"workflow_id":2,"conclusion":"success","status":"completed"}]})");
  api.routes
    ["https://api.github.com/repos/o/r/actions/workflows?per_page=100&page=1"] =
    ok(R"({"total_count":1,"workflows":[{"id":1,"name":"CI"}]})");
  auto call = invocation(api,
                         { "run",
                           "list",
                           "-L2",
                           "-b",
                           "feat/x",
                           "-u",
                           "mona",
                           "--json",
                           "workflowName,databaseId,conclusion,startedAt" },
                         { { "GH_TOKEN", "t" }, { "GH_REPO", "o/r" } });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(
    answer->out ==
    R"([{"conclusion":"","databaseId":9,"startedAt":"2023-01-01T00:00:00Z","workflowName":"CI"},)"
    R"({"conclusion":"success","databaseId":8,"startedAt":"0001-01-01T00:00:00Z","workflowName":""}])"
    "\n");
  CHECK(answer->requests == 2);
}

TEST_CASE(
  "gh release list: gh 2.23's table; --json as later versions print it") {
  FakeApi api;
  api.routes["POST https://api.github.com/graphql"] =
    ok(R"({"data":{"repository":{
    "releases":{"pageInfo":{"hasNextPage":false,"endCursor":""},"nodes":[
      {"name":"  Two\n words ","tagName":"v2","isDraft":false,"isLatest":false,
       "isPrerelease":true,"createdAt":"2023-02-01T00:00:00Z","publishedAt":null},
      {"name":"","tagName":"v1","isDraft":false,"isLatest":true,"isPrerelease":false,
       "createdAt":"2023-01-01T00:00:00Z","publishedAt":"2023-01-02T00:00:00Z"}]}}}})");
  auto call = invocation(api, { "release", "list", "-R", "o/r" });
  auto answer = sdk::gh_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "Two words\tPre-release\tv2\t2023-02-01T00:00:00Z\n"
                       "v1\tLatest\tv1\t2023-01-02T00:00:00Z\n");
  REQUIRE(api.seen.size() == 1);
  // shurcooL's client: no charset, a trailing newline after the JSON.
  CHECK(header(api.seen[0], "Content-Type") == "application/json");
  CHECK(api.seen[0].body.ends_with("}}\n"));
  CHECK(graphql_body(api.seen[0])["variables"] ==
        nlohmann::json::parse(
          R"({"endCursor":null,"name":"r","owner":"o","perPage":30})"));
  CHECK(sdk::gh_identical(call));

  auto json_call = invocation(api,
                              { "release",
                                "list",
                                "-R",
                                "o/r",
                                "--json",
                                "tagName,isLatest,publishedAt" });
  auto json_answer = sdk::gh_run(json_call);
  REQUIRE(json_answer);
  CHECK(
    json_answer->out ==
    R"([{"isLatest":false,"publishedAt":"0001-01-01T00:00:00Z","tagName":"v2"},)"
    R"({"isLatest":true,"publishedAt":"2023-01-02T00:00:00Z","tagName":"v1"}])"
    "\n");
  // gh 2.23 has no release list --json: nothing to be identical to.
  CHECK(!sdk::gh_identical(json_call));
}
