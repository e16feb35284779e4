// gh run list --json: workflow runs from REST, each named after its
// workflow as gh names it.
#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::array kRunListFlags{ kJson,
                                    kRepoFlag,
                                    kLimit,
                                    kJq,
                                    kTemplate,
                                    Flag{ "branch", 'b', true },
                                    Flag{ "user", 'u', true } };

std::expected<ListPlan, Unsupported> plan_run_list(const Invocation& call,
                                                   Args args) {
  auto plan = plan_list("run list", args, kRunListFlags, kRunFields, 20);
  if (!plan) {
    return plan;
  }
  if (!plan->flags.positional.empty()) {
    return std::unexpected(
      unsupported("run list " + plan->flags.positional[0]));
  }
  auto repo = base_repo(call, plan->flags, "run list");
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan->flags.positional = { repo->owner, repo->name };
  return plan;
}

} // namespace

Answer run_run_list(const Invocation& call, Args args) {
  auto plan = plan_run_list(call, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const std::string full =
    plan->flags.positional[0] + "/" + plan->flags.positional[1];
  std::string url = client.ep.rest + "/repos/" + full +
                    "/actions/runs?per_page=" +
                    std::to_string(std::min<long long>(plan->limit, 100)) +
                    "&exclude_pull_requests=true";
  if (auto b = plan->flags.last("branch")) {
    url += "&branch=" + query_escape(*b);
  }
  if (auto u = plan->flags.last("user")) {
    url += "&actor=" + query_escape(*u);
  }
  std::vector<json> runs;
  while (!url.empty() && static_cast<long long>(runs.size()) < plan->limit) {
    auto res = rest_get(client, url, "failed to get runs: ");
    if (!res) {
      return res.error();
    }
    auto doc = json::parse(res->body, nullptr, false);
    for (const auto& r : member(doc, "workflow_runs")) {
      if (static_cast<long long>(runs.size()) < plan->limit) {
        runs.push_back(r);
      }
    }
    url = next_link(*res);
  }
  // gh names each run's workflow from the repository's workflow list.
  std::map<long long, std::string> workflow_names;
  for (int page = 1;; ++page) {
    auto res =
      rest_get(client,
               client.ep.rest + "/repos/" + full +
                 "/actions/workflows?per_page=100&page=" + std::to_string(page),
               "failed to get workflows: ");
    if (!res) {
      return res.error();
    }
    auto doc = json::parse(res->body, nullptr, false);
    const auto& list = member(doc, "workflows");
    for (const auto& w : list) {
      if (member(w, "id").is_number_integer() &&
          member(w, "name").is_string()) {
        workflow_names[w["id"].get<long long>()] = w["name"].get<std::string>();
      }
    }
    if (!list.is_array() || list.size() < 100) {
      break;
    }
  }
  ojson items = ojson::array();
  for (const auto& r : runs) {
    items.push_back(
      export_item(r, plan->fields, [&](const json& item, const Field& f) {
        if (f.name == "workflowName") {
          const auto& id = member(item, "workflow_id");
          auto it = id.is_number_integer()
                      ? workflow_names.find(id.get<long long>())
                      : workflow_names.end();
          return ojson(it == workflow_names.end() ? "" : it->second);
        }
        return convert(member(item, f.selection), f.kind);
      }));
  }
  return success(print(items), client.requests);
}

bool run_list_identical(const Invocation& call, Args args) {
  return plan_run_list(call, args).has_value();
}

} // namespace ipfsacc::sdk::gh
