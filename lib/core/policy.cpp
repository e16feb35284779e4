#include "core/policy.hpp"

#include "core/config.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace ipfsacc {

namespace {

bool is_short(std::string_view flag) {
  return flag.size() == 2 && flag[0] == '-' && flag[1] != '-';
}

// The user's rule files: ~/.config/ipfsacc/wrappers/*.json.
std::filesystem::path user_rules_dir() {
  return Config::config_dir() / "wrappers";
}

std::vector<std::string> user_rule_files() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(user_rules_dir(), ec)) {
    auto name = e.path().filename().string();
    if (name.ends_with(".json")) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool names_binary(const ToolPolicy& policy, std::string_view name) {
  return std::find(policy.binaries.begin(), policy.binaries.end(), name) !=
         policy.binaries.end();
}

} // namespace

std::optional<std::expected<ToolPolicy, std::string>> find_policy(
  std::string_view name) {
  // A user's file replaces the built-in file of the same name; it is parsed
  // (the built-in ones are compiled in).
  std::string padded = fmt::format(" {} ", name);
  const BuiltinPolicy* builtin = nullptr;
  for (const auto& candidate : builtin_policies()) {
    if (candidate.binaries.find(padded) != std::string_view::npos) {
      builtin = &candidate;
      break;
    }
  }
  // Only files that mention the name are parsed, and those that stand for
  // it whatever they hold: NAME.json, and the file replacing the built-in
  // one that names it. When one of those cannot be read, the tool runs
  // uncached with that error; when another file that mentions the name is
  // broken, its error is the answer only if no file names the tool.
  auto user_files = user_rule_files();
  std::string quoted = fmt::format("\"{}\"", name);
  std::optional<std::string> broken;
  for (const auto& file_name : user_files) {
    auto path = user_rules_dir() / file_name;
    bool stands_for_name = file_name == fmt::format("{}.json", name) ||
                           (builtin && file_name == builtin->file);
    auto text = util::read_file(path);
    if (!text) {
      if (stands_for_name) {
        return std::unexpected(text.error());
      }
      continue;
    }
    if (!stands_for_name && text->find(quoted) == std::string::npos) {
      continue;
    }
    auto policy = parse_policy(*text, path.string());
    if (!policy) {
      if (stands_for_name) {
        return policy;
      }
      broken = broken.value_or(policy.error());
      continue;
    }
    if (names_binary(*policy, name)) {
      return policy;
    }
  }
  if (builtin &&
      std::find(user_files.begin(), user_files.end(), builtin->file) ==
        user_files.end()) {
    return builtin->build();
  }
  if (broken) {
    return std::unexpected(*broken);
  }
  return std::nullopt;
}

std::optional<ToolPolicy> find_tool_policy(std::string_view tool) {
  auto user_files = user_rule_files();
  std::string quoted = fmt::format("\"{}\"", tool);
  for (const auto& file_name : user_files) {
    auto path = user_rules_dir() / file_name;
    auto text = util::read_file(path);
    if (!text || text->find(quoted) == std::string::npos) {
      continue;
    }
    if (auto policy = parse_policy(*text, path.string());
        policy && policy->tool == tool) {
      return std::move(*policy);
    }
  }
  for (const auto& builtin : builtin_policies()) {
    if (std::find(user_files.begin(), user_files.end(), builtin.file) !=
        user_files.end()) {
      continue;
    }
    if (auto policy = builtin.build(); policy.tool == tool) {
      return policy;
    }
  }
  return std::nullopt;
}

std::vector<std::string> known_binaries() {
  std::vector<std::string> out;
  for (const auto& builtin : builtin_policies()) {
    auto p = builtin.build();
    out.insert(out.end(), p.binaries.begin(), p.binaries.end());
  }
  for (const auto& file_name : user_rule_files()) {
    auto path = user_rules_dir() / file_name;
    if (auto text = util::read_file(path)) {
      if (auto policy = parse_policy(*text, path.string())) {
        for (const auto& b : policy->binaries) {
          if (std::find(out.begin(), out.end(), b) == out.end()) {
            out.push_back(b);
          }
        }
      }
    }
  }
  return out;
}

std::optional<std::string> flag_value(std::span<const std::string> args,
                                      std::string_view flag) {
  bool short_flag = is_short(flag);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      break;
    }
    if (arg == flag) {
      return i + 1 < args.size() ? args[i + 1] : std::string();
    }
    if (!short_flag && arg.starts_with(flag) && arg.size() > flag.size() &&
        arg[flag.size()] == '=') {
      return std::string(arg.substr(flag.size() + 1));
    }
    if (short_flag && arg.starts_with(flag) && arg.size() > 2) {
      auto value = arg.substr(2);
      return std::string(value.starts_with('=') ? value.substr(1) : value);
    }
  }
  return std::nullopt;
}

bool has_flag(std::span<const std::string> args, std::string_view flag) {
  bool short_flag = is_short(flag);
  for (std::string_view arg : args) {
    if (arg == "--") {
      break;
    }
    if (arg == flag ||
        (!short_flag && arg.starts_with(flag) && arg.size() > flag.size() &&
         arg[flag.size()] == '=') ||
        (short_flag && arg.starts_with(flag) && !arg.starts_with("--"))) {
      return true;
    }
  }
  return false;
}

namespace {

bool starts_with_words(std::span<const std::string> args,
                       const std::vector<std::string>& words) {
  if (args.size() < words.size()) {
    return false;
  }
  return std::equal(words.begin(), words.end(), args.begin());
}

// Returns why the rule does not match, or "" when it does.
std::string rule_mismatch(const Rule& rule, std::span<const std::string> args) {
  if (!starts_with_words(args, rule.command)) {
    return "command";
  }
  if (!rule.require_any.empty() &&
      std::none_of(rule.require_any.begin(),
                   rule.require_any.end(),
                   [&](const auto& f) { return has_flag(args, f); })) {
    return "require_any";
  }
  for (const auto& f : rule.deny) {
    if (has_flag(args, f)) {
      return fmt::format("{} is not cached", f);
    }
  }
  for (const auto& [flag, values] : rule.deny_values) {
    if (auto v = flag_value(args, flag);
        v && std::find(values.begin(), values.end(), *v) != values.end()) {
      return fmt::format("{} {} is not cached", flag, *v);
    }
  }
  for (const auto& [flag, values] : rule.allow_values) {
    if (auto v = flag_value(args, flag);
        v && std::find(values.begin(), values.end(), *v) == values.end()) {
      return fmt::format("{} {} is not cached", flag, *v);
    }
  }
  if (!rule.require_regex.empty() &&
      std::none_of(args.begin(), args.end(), [&](const auto& arg) {
        return rule.require_regex.search(arg);
      })) {
    return "require_regex";
  }
  if (!rule.deny_regex.empty()) {
    for (const auto& arg : args) {
      if (rule.deny_regex.search(arg)) {
        return "an argument matches deny_regex";
      }
    }
  }
  return {};
}

} // namespace

Match match_call(const ToolPolicy& policy,
                 std::span<const std::string> args,
                 bool stdin_is_tty) {
  Match m;
  std::string last_reason;
  for (const auto& rule : policy.rules) {
    auto reason = rule_mismatch(rule, args);
    if (!reason.empty()) {
      if (reason != "command" && reason != "require_any" &&
          reason != "require_regex") {
        last_reason = fmt::format("{}/{}: {}", policy.tool, rule.id, reason);
      }
      continue;
    }
    if (rule.interactive && stdin_is_tty) {
      m.why =
        fmt::format("{}/{} is interactive on a terminal", policy.tool, rule.id);
      return m;
    }
    m.kind = Match::Kind::cache;
    m.rule = &rule;
    return m;
  }
  for (const auto& inv : policy.invalidate) {
    if (starts_with_words(args, inv.command)) {
      m.kind = Match::Kind::invalidate;
      for (const auto& tag : inv.tags) {
        if (std::find(m.invalidate_tags.begin(),
                      m.invalidate_tags.end(),
                      tag) == m.invalidate_tags.end()) {
          m.invalidate_tags.push_back(tag);
        }
      }
    }
  }
  if (m.kind == Match::Kind::invalidate) {
    std::sort(m.invalidate_tags.begin(), m.invalidate_tags.end());
    m.why = "a write";
  } else {
    m.why = last_reason.empty() ? "no rule matches" : last_reason;
  }
  return m;
}

} // namespace ipfsacc
