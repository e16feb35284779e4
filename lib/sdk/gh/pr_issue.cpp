// gh pr list and gh issue list --json: gh 2.23's GraphQL queries, byte for
// byte.
#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"
#include "sdk/gh/pager.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::array kPrListFlags{ kJson,
                                   kRepoFlag,
                                   kLimit,
                                   kJq,
                                   kTemplate,
                                   kWeb,
                                   Flag{ "state", 's', true },
                                   Flag{ "base", 'B', true },
                                   Flag{ "head", 'H', true } };

constexpr std::array kIssueListFlags{ kJson,
                                      kRepoFlag,
                                      kLimit,
                                      kJq,
                                      kTemplate,
                                      kWeb,
                                      Flag{ "state", 's', true },
                                      Flag{ "author", 'A', true },
                                      Flag{ "assignee", 'a', true },
                                      Flag{ "mention", 0, true } };

enum class Listing { pulls, issues };

std::expected<ListPlan, Unsupported> plan_pr_issue(const Invocation& call,
                                                   Listing listing,
                                                   Args args) {
  const bool pulls = listing == Listing::pulls;
  auto plan =
    pulls ? plan_list("pr list", args, kPrListFlags, kPrFields, 30)
          : plan_list("issue list", args, kIssueListFlags, kIssueFields, 30);
  if (!plan) {
    return plan;
  }
  if (!plan->flags.positional.empty()) {
    return std::unexpected(
      unsupported(plan->command + " " + plan->flags.positional[0]));
  }
  auto state = plan->flags.last("state").value_or("open");
  const bool ok = state == "open" || state == "closed" || state == "all" ||
                  (pulls && state == "merged");
  if (!ok) {
    return std::unexpected(unsupported(plan->command + " --state " + state));
  }
  auto repo = base_repo(call, plan->flags, plan->command);
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan->flags.positional = { repo->owner, repo->name };
  return plan;
}

Answer run_pr_issue(const Invocation& call, Listing listing, Args args) {
  auto plan = plan_pr_issue(call, listing, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool pulls = listing == Listing::pulls;
  const auto& owner = plan->flags.positional[0];
  const auto& name = plan->flags.positional[1];
  const auto state = plan->flags.last("state").value_or("open");
  json states;
  if (state == "open") {
    states = { "OPEN" };
  } else if (state == "closed") {
    states = pulls ? json{ "CLOSED", "MERGED" } : json{ "CLOSED" };
  } else if (state == "merged") {
    states = { "MERGED" };
  } else {
    states =
      pulls ? json{ "OPEN", "CLOSED", "MERGED" } : json{ "OPEN", "CLOSED" };
  }
  std::string query;
  json vars = { { "owner", owner }, { "repo", name } };
  if (pulls) {
    query =
      "fragment pr on PullRequest{" + selection(plan->fields) +
      "}\n\t\tquery PullRequestList(\n\t\t\t$owner: String!,\n\t\t\t$repo: "
      "String!,\n\t\t\t$limit: Int!,\n\t\t\t$endCursor: "
      "String,\n\t\t\t$baseBranch: "
      "String,\n\t\t\t$headBranch: String,\n\t\t\t$state: [PullRequestState!] "
      "= "
      "OPEN\n\t\t) {\n\t\t\trepository(owner: $owner, name: $repo) "
      "{\n\t\t\t\tpullRequests(\n\t\t\t\t\tstates: "
      "$state,\n\t\t\t\t\tbaseRefName: "
      "$baseBranch,\n\t\t\t\t\theadRefName: $headBranch,\n\t\t\t\t\tfirst: "
      "$limit,\n\t\t\t\t\tafter: $endCursor,\n\t\t\t\t\torderBy: {field: "
      "CREATED_AT, "
      "direction: DESC}\n\t\t\t\t) {\n\t\t\t\t\ttotalCount\n\t\t\t\t\tnodes "
      "{\n\t\t\t\t\t\t...pr\n\t\t\t\t\t}\n\t\t\t\t\tpageInfo "
      "{\n\t\t\t\t\t\thasNextPage\n\t\t\t\t\t\tendCursor\n\t\t\t\t\t}"
      "\n\t\t\t\t}\n\t\t\t}"
      "\n\t\t}";
    vars["state"] = states;
    if (auto b = plan->flags.last("base")) {
      vars["baseBranch"] = *b;
    }
    if (auto h = plan->flags.last("head")) {
      vars["headBranch"] = *h;
    }
  } else {
    query =
      "fragment issue on Issue {" + selection(plan->fields) +
      "}\n\tquery IssueList($owner: String!, $repo: String!, $limit: Int, "
      "$endCursor: "
      "String, $states: [IssueState!] = OPEN, $assignee: String, $author: "
      "String, "
      "$mention: String) {\n\t\trepository(owner: $owner, name: $repo) "
      "{\n\t\t\thasIssuesEnabled\n\t\t\tissues(first: $limit, after: "
      "$endCursor, "
      "orderBy: {field: CREATED_AT, direction: DESC}, states: $states, "
      "filterBy: "
      "{assignee: $assignee, createdBy: $author, mentioned: $mention}) "
      "{\n\t\t\t\ttotalCount\n\t\t\t\tnodes "
      "{\n\t\t\t\t\t...issue\n\t\t\t\t}\n\t\t\t\t"
      "pageInfo "
      "{\n\t\t\t\t\thasNextPage\n\t\t\t\t\tendCursor\n\t\t\t\t}\n\t\t\t}\n\t\t}"
      "\n\t}\n\t";
    vars["states"] = states;
    for (auto [flag, var] : { std::pair{ "author", "author" },
                              std::pair{ "assignee", "assignee" },
                              std::pair{ "mention", "mention" } }) {
      if (auto v = plan->flags.last(flag)) {
        vars[var] = *v;
      }
    }
  }
  auto nodes = graphql_pages(
    plan->limit,
    [&](const json* cursor, long long wanted) -> std::expected<json, Outcome> {
      if (cursor) {
        vars["endCursor"] = *cursor;
      }
      vars["limit"] = std::min<long long>(wanted, 100);
      auto data = graphql(client, query, vars);
      if (!data) {
        return std::unexpected(std::move(data.error()));
      }
      const auto& repository = member(*data, "repository");
      if (repository.is_null()) {
        return std::unexpected(
          failure("GraphQL: Could not resolve to a Repository with the name '" +
                    owner + "/" + name + "'. (repository)\n",
                  client.requests));
      }
      if (!pulls && member(repository, "hasIssuesEnabled").is_boolean() &&
          !member(repository, "hasIssuesEnabled").get<bool>()) {
        return std::unexpected(failure("the '" + owner + "/" + name +
                                         "' repository has disabled issues\n",
                                       client.requests));
      }
      return member(repository, pulls ? "pullRequests" : "issues");
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

} // namespace

Answer run_pr_list(const Invocation& call, Args args) {
  return run_pr_issue(call, Listing::pulls, args);
}

bool pr_list_identical(const Invocation& call, Args args) {
  return plan_pr_issue(call, Listing::pulls, args).has_value();
}

Answer run_issue_list(const Invocation& call, Args args) {
  return run_pr_issue(call, Listing::issues, args);
}

bool issue_list_identical(const Invocation& call, Args args) {
  return plan_pr_issue(call, Listing::issues, args).has_value();
}

} // namespace ipfsacc::sdk::gh
