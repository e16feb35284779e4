#pragma once

#include "sdk/sdk.hpp"

#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// --json: the fields each command exports, what gh asks the API for each,
// and how gh's structs turn the answer into what it prints.
namespace ipfsacc::sdk::gh {

// How a field's value is printed: GraphQL nulls become what gh's structs
// turn them into.
enum class Kind {
  raw,        // as received
  str,        // a Go string: null → ""
  time,       // a Go time.Time: null → the zero time
  branch_ref, // {"name"}; null → {"name":""}
  owner,      // {"id","login"}
  language,   // {"name"} or null
  license,    // {"key","name","nickname"} or null
  release,    // {"name","tagName","url","publishedAt"} or null
  parent,     // {"id","name","owner":{"id","login"}} or null
  topics,     // [{"name"}], null when none
  author,     // gh's Author: {"id","is_bot","login","name"} or a bot
  author_ptr, // the same or null
  users,      // [{"id","login","name"}]
  labels,     // [{"id","name","description","color"}]
  milestone,  // {"number","title","description","dueOn"} or null
  head_owner, // {"id","name" when set,"login"}
};

struct Field {
  std::string_view name;
  // The GraphQL gh asks for ("" = name); for a REST command, the REST name.
  std::string_view selection;
  Kind kind;
};

// The fields of each command, sorted by name.
extern const std::span<const Field> kRepoFields;
extern const std::span<const Field> kPrFields;
extern const std::span<const Field> kIssueFields;
extern const std::span<const Field> kRunFields;
extern const std::span<const Field> kReleaseFields;

// The member key of obj, or null when obj is not an object or has no such
// member.
const nlohmann::json& member(const nlohmann::json& obj, std::string_view key);

// v as a Go string: "" unless v is a string.
nlohmann::ordered_json str(const nlohmann::json& v);

// v as gh prints a field of kind.
nlohmann::ordered_json convert(const nlohmann::json& v, Kind kind);

// The requested fields (a comma-separated list): in the order given (for
// the query) and resolved in table; an unknown one, or none, is Unsupported.
std::expected<std::vector<const Field*>, Unsupported> resolve_fields(
  std::string_view list,
  std::span<const Field> table,
  std::string_view command);

// The GraphQL selection of fields, in their order.
std::string selection(const std::vector<const Field*>& fields);

// One item: its fields in sorted order (gh exports a Go map), each
// converted by value.
nlohmann::ordered_json export_item(
  const nlohmann::json& item,
  const std::vector<const Field*>& fields,
  const std::function<nlohmann::ordered_json(const nlohmann::json&,
                                             const Field&)>& value);

// A field of a GraphQL node, converted.
nlohmann::ordered_json graphql_value(const nlohmann::json& item,
                                     const Field& f);

// doc as gh prints it: compact, Go's encoding without HTML escaping, and a
// newline.
std::string print(const nlohmann::ordered_json& doc);

} // namespace ipfsacc::sdk::gh
