// gh repo list and gh repo view --json: gh 2.23's GraphQL queries, byte for
// byte.
#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"
#include "sdk/gh/pager.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::array kRepoListFlags{ kJson,
                                     kLimit,
                                     kJq,
                                     kTemplate,
                                     Flag{ "visibility", 0, true },
                                     Flag{ "fork", 0, false },
                                     Flag{ "source", 0, false } };

std::expected<ListPlan, Unsupported> plan_repo_list(Args args) {
  auto plan = plan_list("repo list", args, kRepoListFlags, kRepoFields, 30);
  if (plan && plan->flags.positional.size() > 1) {
    return std::unexpected(unsupported("repo list with more than one owner"));
  }
  if (plan && plan->flags.has("fork") && plan->flags.has("source")) {
    return std::unexpected(unsupported("repo list --fork --source"));
  }
  if (auto v = plan ? plan->flags.last("visibility") : std::nullopt;
      v && *v != "public" && *v != "private" && *v != "internal") {
    return std::unexpected(unsupported("repo list --visibility " + *v));
  }
  return plan;
}

constexpr std::array kRepoViewFlags{ kJson,
                                     kJq,
                                     kTemplate,
                                     kWeb,
                                     Flag{ "branch", 'b', true } };

std::expected<ListPlan, Unsupported> plan_repo_view(Args args) {
  auto plan = plan_list("repo view", args, kRepoViewFlags, kRepoFields, 1);
  if (!plan) {
    return plan;
  }
  if (plan->flags.has("branch")) {
    return std::unexpected(unsupported("repo view --branch"));
  }
  if (plan->flags.positional.size() > 1) {
    return std::unexpected(
      unsupported("repo view with more than one repository"));
  }
  // With no argument gh 2.23 reads the git remotes (it ignores GH_REPO here).
  if (plan->flags.positional.empty()) {
    return std::unexpected(Unsupported{
      "gh: command not found, and `gh repo view` without OWNER/REPO needs the "
      "repository of the git remotes, which only gh resolves; name the "
      "repository or " +
      std::string(kInstall) });
  }
  if (!parse_repo(plan->flags.positional[0])) {
    return std::unexpected(
      unsupported("repo view " + plan->flags.positional[0]));
  }
  return plan;
}

} // namespace

Answer run_repo_list(const Invocation& call, Args args) {
  auto plan = plan_repo_list(args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool has_owner = !plan->flags.positional.empty();
  // gh 2.23's query, tabs and all.
  std::string query =
    std::string("query "
                "RepositoryList($perPage:Int!,$endCursor:String,$privacy:"
                "RepositoryPrivacy,"
                "$fork:Boolean") +
    (has_owner ? ",$owner:String!" : "") + ") {\n\t\t" +
    (has_owner ? "repositoryOwner(login: $owner)" : "repositoryOwner: viewer") +
    " {\n\t\t\tlogin\n\t\t\trepositories(first: $perPage, after: $endCursor, "
    "privacy: "
    "$privacy, isFork: $fork, ownerAffiliations: OWNER, orderBy: { field: "
    "PUSHED_AT, "
    "direction: DESC }) {\n\t\t\t\tnodes{" +
    selection(plan->fields) +
    "}\n\t\t\t\ttotalCount\n\t\t\t\tpageInfo{hasNextPage,endCursor}\n\t\t\t}"
    "\n\t\t}\n\t}";
  json vars = json::object();
  vars["perPage"] = std::min<long long>(plan->limit, 100);
  if (has_owner) {
    vars["owner"] = plan->flags.positional[0];
  }
  if (auto v = plan->flags.last("visibility")) {
    std::string upper = *v;
    std::transform(
      upper.begin(), upper.end(), upper.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
      });
    vars["privacy"] = upper;
  }
  if (plan->flags.has("fork")) {
    vars["fork"] = true;
  } else if (plan->flags.has("source")) {
    vars["fork"] = false;
  }
  auto nodes = graphql_pages(
    plan->limit,
    [&](const json* cursor, long long) -> std::expected<json, Outcome> {
      if (cursor) {
        vars["endCursor"] = *cursor;
      }
      auto data = graphql(client, query, vars);
      if (!data) {
        return std::unexpected(std::move(data.error()));
      }
      return member(member(*data, "repositoryOwner"), "repositories");
    });
  if (!nodes) {
    return nodes.error();
  }
  ojson items = ojson::array();
  for (const auto& node : *nodes) {
    items.push_back(export_item(node, plan->fields, graphql_value));
  }
  return success(print(items), client.requests);
}

bool repo_list_identical(const Invocation&, Args args) {
  return plan_repo_list(args).has_value();
}

Answer run_repo_view(const Invocation& call, Args args) {
  auto plan = plan_repo_view(args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const auto repo = *parse_repo(plan->flags.positional[0]);
  const std::string query = "query RepositoryInfo($owner: String!, $name: "
                            "String!) {\n\t\trepository(owner: $owner, "
                            "name: $name) {" +
                            selection(plan->fields) + "}\n\t}";
  json vars = { { "owner", repo.owner }, { "name", repo.name } };
  auto data = graphql(client, query, vars);
  if (!data) {
    return data.error();
  }
  const auto& r = member(*data, "repository");
  if (r.is_null()) {
    return failure(
      "GraphQL: Could not resolve to a Repository with the name '" +
        repo.owner + "/" + repo.name + "'. (repository)\n",
      client.requests);
  }
  return success(print(export_item(r, plan->fields, graphql_value)),
                 client.requests);
}

bool repo_view_identical(const Invocation&, Args args) {
  return plan_repo_view(args).has_value();
}

} // namespace ipfsacc::sdk::gh
