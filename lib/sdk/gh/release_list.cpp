// gh release list: gh 2.23's table (it has no --json), and the --json of
// later versions.
#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"
#include "sdk/gh/pager.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::array kReleaseListFlags{
  kJson,
  kRepoFlag,
  kLimit,
  kJq,
  kTemplate,
  Flag{ "exclude-drafts", 0, false },
  Flag{ "exclude-pre-releases", 0, false }
};

// The table form (gh 2.23 has no --json here; later versions add it with
// these seven fields).
std::expected<ListPlan, Unsupported> plan_release_list(const Invocation& call,
                                                       Args args) {
  auto parsed = parse_flags(args, kReleaseListFlags);
  if (!parsed) {
    return std::unexpected(unsupported("release list " + parsed.error()));
  }
  ListPlan plan;
  if (parsed->has("json")) {
    auto json_plan =
      plan_list("release list", args, kReleaseListFlags, kReleaseFields, 30);
    if (!json_plan) {
      return json_plan;
    }
    plan = std::move(*json_plan);
  } else {
    plan.command = "release list";
    plan.flags = std::move(*parsed);
    for (auto name : { "jq", "template" }) {
      if (plan.flags.has(name)) {
        return std::unexpected(
          unsupported(std::string("release list --") + name));
      }
    }
    if (auto l = plan.flags.last("limit")) {
      if (!parse_int(*l, plan.limit) || plan.limit <= 0) {
        return std::unexpected(unsupported("release list --limit " + *l));
      }
    }
  }
  if (!plan.flags.positional.empty()) {
    return std::unexpected(
      unsupported("release list " + plan.flags.positional[0]));
  }
  auto repo = base_repo(call, plan.flags, "release list");
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan.flags.positional = { repo->owner, repo->name };
  return plan;
}

// Go's text.RemoveExcessiveWhitespace: runs of \s as one space, trimmed.
std::string collapse_whitespace(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

} // namespace

Answer run_release_list(const Invocation& call, Args args) {
  auto plan = plan_release_list(call, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool drafts = !plan->flags.has("exclude-drafts");
  const bool prereleases = !plan->flags.has("exclude-pre-releases");
  json vars = { { "owner", plan->flags.positional[0] },
                { "name", plan->flags.positional[1] },
                { "perPage", std::min<long long>(plan->limit, 100) },
                { "endCursor", nullptr } };
  auto pages = graphql_pages(
    plan->limit,
    [&](const json* cursor, long long) -> std::expected<json, Outcome> {
      if (cursor) {
        vars["endCursor"] = str(*cursor).get<std::string>();
      }
      // The variable's type follows the Go value: a nil pointer first, a
      // string once there is a cursor.
      const std::string query =
        std::string("query RepositoryReleaseList($endCursor:String") +
        (vars["endCursor"].is_null() ? "" : "!") +
        "$name:String!$owner:String!$perPage:Int!){repository(owner: $owner, "
        "name: $name){releases(first: $perPage, orderBy: {field: CREATED_AT, "
        "direction: DESC}, after: "
        "$endCursor){nodes{name,tagName,isDraft,isLatest,isPrerelease,"
        "createdAt,publishedAt},pageInfo{hasNextPage,endCursor}}}}";
      auto data = graphql(client, query, vars, GraphqlClient::shurcool);
      if (!data) {
        return std::unexpected(std::move(data.error()));
      }
      return member(member(*data, "repository"), "releases");
    },
    [&](const json& r) {
      auto flag = [&](std::string_view k) {
        return member(r, k).is_boolean() && member(r, k).get<bool>();
      };
      return !((!drafts && flag("isDraft")) ||
               (!prereleases && flag("isPrerelease")));
    });
  if (!pages) {
    return pages.error();
  }
  const std::vector<json>& releases = *pages;
  if (!plan->fields.empty()) {
    ojson items = ojson::array();
    for (const auto& r : releases) {
      items.push_back(export_item(r, plan->fields, graphql_value));
    }
    return success(print(items), client.requests);
  }
  // gh's table when stdout is not a terminal: tab-separated, the date as
  // RFC 3339. No releases: nothing, exit 0.
  std::string out;
  for (const auto& r : releases) {
    auto text = [&](std::string_view k) {
      return str(member(r, k)).get<std::string>();
    };
    auto flag = [&](std::string_view k) {
      return member(r, k).is_boolean() && member(r, k).get<bool>();
    };
    std::string title = collapse_whitespace(text("name"));
    if (title.empty()) {
      title = text("tagName");
    }
    std::string badge = flag("isLatest")       ? "Latest"
                        : flag("isDraft")      ? "Draft"
                        : flag("isPrerelease") ? "Pre-release"
                                               : "";
    auto published = convert(member(r, "publishedAt"), Kind::time);
    std::string date = published.get<std::string>();
    if (date == "0001-01-01T00:00:00Z") {
      date = convert(member(r, "createdAt"), Kind::time).get<std::string>();
    }
    out += title + "\t" + badge + "\t" + text("tagName") + "\t" + date + "\n";
  }
  return success(out, client.requests);
}

bool release_list_identical(const Invocation& call, Args args) {
  // The table is gh 2.23's; --json only exists in later versions, whose
  // output the HTTP path follows but cannot be checked against 2.23.
  auto plan = plan_release_list(call, args);
  return plan && plan->fields.empty();
}

} // namespace ipfsacc::sdk::gh
