#pragma once

#include "sdk/sdk.hpp"

#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// gh's command lines, read the way pflag reads them, and the repository a
// command works on.
namespace ipfsacc::sdk::gh {

struct Flag {
  std::string_view long_name;
  char short_name; // 0: none
  bool takes_value;
};

// The flags every mapped --json command shares.
inline constexpr Flag kJson{ "json", 0, true };
inline constexpr Flag kRepoFlag{ "repo", 'R', true };
inline constexpr Flag kLimit{ "limit", 'L', true };
inline constexpr Flag kJq{ "jq", 'q', true };
inline constexpr Flag kTemplate{ "template", 't', true };
inline constexpr Flag kWeb{ "web", 'w', false };

struct Parsed {
  std::vector<std::string> positional;
  // Long name → values in order (a bool flag has "true").
  std::map<std::string, std::vector<std::string>, std::less<>> values;

  bool has(std::string_view name) const { return values.contains(name); }
  std::optional<std::string> last(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second.back();
  }
};

// Parses args with the flags known; an unknown flag is an error naming it.
std::expected<Parsed, std::string> parse_flags(
  std::span<const std::string> args,
  std::span<const Flag> flags);

struct Repo {
  std::string owner;
  std::string name;
};

// OWNER/REPO; nullopt for other forms (HOST/OWNER/REPO, URLs), which the
// HTTP path leaves to gh.
std::optional<Repo> parse_repo(std::string_view s);

// The repository of -R, else GH_REPO; an error names what gh would need.
std::expected<Repo, Unsupported> base_repo(const Invocation& call,
                                           const Parsed& p,
                                           std::string_view what);

// Go's url.QueryEscape.
std::string query_escape(std::string_view s);

// s as a whole decimal integer.
bool parse_int(std::string_view s, long long& out);

} // namespace ipfsacc::sdk::gh
