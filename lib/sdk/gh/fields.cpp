#include "sdk/gh/fields.hpp"

#include "sdk/gh/client.hpp"
#include "sdk/gh/go_json.hpp"

#include <algorithm>
#include <array>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::array kRepoTable{
  Field{ "createdAt", "", Kind::time },
  Field{ "defaultBranchRef", "defaultBranchRef{name}", Kind::branch_ref },
  Field{ "deleteBranchOnMerge", "", Kind::raw },
  Field{ "description", "", Kind::str },
  Field{ "diskUsage", "", Kind::raw },
  Field{ "forkCount", "", Kind::raw },
  Field{ "hasIssuesEnabled", "", Kind::raw },
  Field{ "hasProjectsEnabled", "", Kind::raw },
  Field{ "hasWikiEnabled", "", Kind::raw },
  Field{ "homepageUrl", "", Kind::str },
  Field{ "id", "", Kind::str },
  Field{ "isArchived", "", Kind::raw },
  Field{ "isEmpty", "", Kind::raw },
  Field{ "isFork", "", Kind::raw },
  Field{ "isPrivate", "", Kind::raw },
  Field{ "isTemplate", "", Kind::raw },
  Field{ "latestRelease",
         "latestRelease{publishedAt,tagName,name,url}",
         Kind::release },
  Field{ "licenseInfo", "licenseInfo{key,name,nickname}", Kind::license },
  Field{ "name", "", Kind::str },
  Field{ "nameWithOwner", "", Kind::str },
  Field{ "owner", "owner{id,login}", Kind::owner },
  Field{ "parent", "parent{id,name,owner{id,login}}", Kind::parent },
  Field{ "primaryLanguage", "primaryLanguage{name}", Kind::language },
  Field{ "pushedAt", "", Kind::raw },
  Field{ "repositoryTopics",
         "repositoryTopics(first:100){nodes{topic{name}}}",
         Kind::topics },
  Field{ "sshUrl", "", Kind::str },
  Field{ "stargazerCount", "", Kind::raw },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

constexpr std::string_view kAssignees =
  "assignees(first:100){nodes{id,login,name},totalCount}";
constexpr std::string_view kAuthor = "author{login,...on User{id,name}}";
constexpr std::string_view kLabels =
  "labels(first:100){nodes{id,name,description,color},totalCount}";
constexpr std::string_view kMilestone =
  "milestone{number,title,description,dueOn}";

constexpr std::array kPrTable{
  Field{ "additions", "", Kind::raw },
  Field{ "assignees", kAssignees, Kind::users },
  Field{ "author", kAuthor, Kind::author },
  Field{ "baseRefName", "", Kind::str },
  Field{ "body", "", Kind::str },
  Field{ "changedFiles", "", Kind::raw },
  Field{ "closed", "", Kind::raw },
  Field{ "closedAt", "", Kind::raw },
  Field{ "createdAt", "", Kind::time },
  Field{ "deletions", "", Kind::raw },
  Field{ "headRefName", "", Kind::str },
  Field{ "headRefOid", "", Kind::str },
  Field{ "headRepositoryOwner",
         "headRepositoryOwner{id,login,...on User{name}}",
         Kind::head_owner },
  Field{ "id", "", Kind::str },
  Field{ "isCrossRepository", "", Kind::raw },
  Field{ "isDraft", "", Kind::raw },
  Field{ "labels", kLabels, Kind::labels },
  Field{ "mergeable", "", Kind::str },
  Field{ "mergedAt", "", Kind::raw },
  Field{ "mergedBy", "mergedBy{login,...on User{id,name}}", Kind::author_ptr },
  Field{ "milestone", kMilestone, Kind::milestone },
  Field{ "number", "", Kind::raw },
  Field{ "reviewDecision", "", Kind::str },
  Field{ "state", "", Kind::str },
  Field{ "title", "", Kind::str },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

constexpr std::array kIssueTable{
  Field{ "assignees", kAssignees, Kind::users },
  Field{ "author", kAuthor, Kind::author },
  Field{ "body", "", Kind::str },
  Field{ "closed", "", Kind::raw },
  Field{ "closedAt", "", Kind::raw },
  Field{ "createdAt", "", Kind::time },
  Field{ "id", "", Kind::str },
  Field{ "labels", kLabels, Kind::labels },
  Field{ "milestone", kMilestone, Kind::milestone },
  Field{ "number", "", Kind::raw },
  Field{ "state", "", Kind::str },
  Field{ "title", "", Kind::str },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

// Workflow runs come from REST: the REST name of each field, and its kind.
constexpr std::array kRunTable{
  Field{ "conclusion", "conclusion", Kind::str },
  Field{ "createdAt", "created_at", Kind::time },
  Field{ "databaseId", "id", Kind::raw },
  Field{ "displayTitle", "display_title", Kind::str },
  Field{ "event", "event", Kind::str },
  Field{ "headBranch", "head_branch", Kind::str },
  Field{ "headSha", "head_sha", Kind::str },
  Field{ "name", "name", Kind::str },
  Field{ "number", "run_number", Kind::raw },
  Field{ "startedAt", "run_started_at", Kind::time },
  Field{ "status", "status", Kind::str },
  Field{ "updatedAt", "updated_at", Kind::time },
  Field{ "url", "html_url", Kind::str },
  Field{ "workflowDatabaseId", "workflow_id", Kind::raw },
  Field{ "workflowName", "", Kind::str },
};

// gh 2.23 has no --json for release list; later versions add it with these
// seven fields.
constexpr std::array kReleaseTable{
  Field{ "createdAt", "", Kind::time }, Field{ "isDraft", "", Kind::raw },
  Field{ "isLatest", "", Kind::raw },   Field{ "isPrerelease", "", Kind::raw },
  Field{ "name", "", Kind::str },       Field{ "publishedAt", "", Kind::time },
  Field{ "tagName", "", Kind::str },
};

ojson raw(const json& v) {
  return ojson::parse(v.dump());
}

ojson author(const json& v) {
  const auto id = str(member(v, "id"));
  const auto login =
    member(v, "login").is_string() ? member(v, "login").get<std::string>() : "";
  ojson o = ojson::object();
  if (id.get<std::string>().empty()) {
    o["is_bot"] = true;
    o["login"] = "app/" + login;
    return o;
  }
  o["id"] = id;
  o["is_bot"] = false;
  o["login"] = login;
  o["name"] = str(member(v, "name"));
  return o;
}

ojson nodes(const json& v,
            const std::vector<std::string_view>& keys,
            const std::vector<Kind>& kinds);

ojson nodes(const json& v,
            const std::vector<std::string_view>& keys,
            const std::vector<Kind>& kinds) {
  ojson out = ojson::array();
  const auto& list = member(v, "nodes");
  if (!list.is_array()) {
    return out;
  }
  for (const auto& n : list) {
    ojson o = ojson::object();
    for (size_t i = 0; i < keys.size(); ++i) {
      o[std::string(keys[i])] = convert(member(n, keys[i]), kinds[i]);
    }
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace

const std::span<const Field> kRepoFields{ kRepoTable };
const std::span<const Field> kPrFields{ kPrTable };
const std::span<const Field> kIssueFields{ kIssueTable };
const std::span<const Field> kRunFields{ kRunTable };
const std::span<const Field> kReleaseFields{ kReleaseTable };

const json& member(const json& obj, std::string_view key) {
  static const json kNull = nullptr;
  if (!obj.is_object()) {
    return kNull;
  }
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

ojson str(const json& v) {
  return v.is_string() ? ojson(v.get<std::string>()) : ojson("");
}

ojson convert(const json& v, Kind kind) {
  switch (kind) {
    case Kind::raw:
      return raw(v);
    case Kind::str:
      return str(v);
    case Kind::time:
      return v.is_string() ? ojson(v.get<std::string>())
                           : ojson("0001-01-01T00:00:00Z");
    case Kind::branch_ref:
      return ojson{ { "name", str(member(v, "name")) } };
    case Kind::owner:
      return ojson{ { "id", str(member(v, "id")) },
                    { "login", str(member(v, "login")) } };
    case Kind::language:
      return v.is_null() ? ojson(nullptr)
                         : ojson{ { "name", str(member(v, "name")) } };
    case Kind::license:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "key", str(member(v, "key")) },
                    { "name", str(member(v, "name")) },
                    { "nickname", str(member(v, "nickname")) } };
    case Kind::release:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "name", str(member(v, "name")) },
                    { "tagName", str(member(v, "tagName")) },
                    { "url", str(member(v, "url")) },
                    { "publishedAt",
                      convert(member(v, "publishedAt"), Kind::time) } };
    case Kind::parent:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "id", str(member(v, "id")) },
                    { "name", str(member(v, "name")) },
                    { "owner", convert(member(v, "owner"), Kind::owner) } };
    case Kind::topics: {
      const auto& list = member(v, "nodes");
      if (!list.is_array() || list.empty()) {
        return nullptr;
      }
      ojson out = ojson::array();
      for (const auto& n : list) {
        out.push_back(
          ojson{ { "name", str(member(member(n, "topic"), "name")) } });
      }
      return out;
    }
    case Kind::author:
      return author(v);
    case Kind::author_ptr:
      return v.is_null() ? ojson(nullptr) : author(v);
    case Kind::users:
      return nodes(
        v, { "id", "login", "name" }, { Kind::str, Kind::str, Kind::str });
    case Kind::labels:
      return nodes(v,
                   { "id", "name", "description", "color" },
                   { Kind::str, Kind::str, Kind::str, Kind::str });
    case Kind::milestone:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "number", raw(member(v, "number")) },
                    { "title", str(member(v, "title")) },
                    { "description", str(member(v, "description")) },
                    { "dueOn", raw(member(v, "dueOn")) } };
    case Kind::head_owner: {
      ojson o = ojson::object();
      o["id"] = str(member(v, "id"));
      if (auto name = str(member(v, "name"));
          !name.get<std::string>().empty()) {
        o["name"] = name;
      }
      o["login"] = str(member(v, "login"));
      return o;
    }
  }
  return nullptr;
}

std::expected<std::vector<const Field*>, Unsupported> resolve_fields(
  std::string_view list,
  std::span<const Field> table,
  std::string_view command) {
  std::vector<const Field*> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    auto name = list.substr(
      pos,
      comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!name.empty() && name.front() == ' ') {
      name.remove_prefix(1);
    }
    while (!name.empty() && name.back() == ' ') {
      name.remove_suffix(1);
    }
    if (!name.empty()) {
      auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) {
        return f.name == name;
      });
      if (it == table.end()) {
        std::string known;
        for (const auto& f : table) {
          known += known.empty() ? "" : ",";
          known += f.name;
        }
        return std::unexpected(
          Unsupported{ "gh: command not found, and the HTTP path of `gh " +
                       std::string(command) + " --json` has no field \"" +
                       std::string(name) + "\" (it has " + known + "); " +
                       std::string(kInstall) });
      }
      out.push_back(&*it);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  if (out.empty()) {
    return std::unexpected(
      unsupported(std::string(command) + " --json without fields"));
  }
  return out;
}

std::string selection(const std::vector<const Field*>& fields) {
  std::string out;
  for (const auto* f : fields) {
    if (!out.empty()) {
      out += ',';
    }
    out += f->selection.empty() ? f->name : f->selection;
  }
  return out;
}

ojson export_item(
  const json& item,
  const std::vector<const Field*>& fields,
  const std::function<ojson(const json&, const Field&)>& value) {
  std::vector<const Field*> sorted = fields;
  std::sort(sorted.begin(), sorted.end(), [](const Field* a, const Field* b) {
    return a->name < b->name;
  });
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  ojson o = ojson::object();
  for (const auto* f : sorted) {
    o[std::string(f->name)] = value(item, *f);
  }
  return o;
}

ojson graphql_value(const json& item, const Field& f) {
  return convert(member(item, f.name), f.kind);
}

std::string print(const ojson& doc) {
  std::string out;
  go_json(out, doc, EscapeHtml::no);
  out += '\n';
  return out;
}

} // namespace ipfsacc::sdk::gh
