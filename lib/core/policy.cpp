#include "core/policy.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/embedded.hpp"
#include "util/fs.hpp"

namespace ipfsacc {

using json = nlohmann::json;

bool LazyRegex::search(std::string_view text) const {
  if (pattern_.empty()) {
    return false;
  }
  return std::regex_search(text.begin(), text.end(), get());
}

std::optional<std::string> LazyRegex::capture(std::string_view text) const {
  std::match_results<std::string_view::const_iterator> m;
  if (pattern_.empty() || !std::regex_search(text.begin(), text.end(), m, get())) {
    return std::nullopt;
  }
  return m.size() > 1 ? m[1].str() : m[0].str();
}

const std::regex& LazyRegex::get() const {
  if (!regex_) {
    regex_ = std::make_shared<std::regex>(pattern_, std::regex::ECMAScript);
  }
  return *regex_;
}

namespace {

int line_of(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(
               text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

// Reports errors as FILE:LINE, finding the line by the first occurrence of a
// field's text at or after a place in the file.
class Context {
public:
  Context(std::string_view text, std::string_view origin)
    : text_(text), origin_(origin) {}

  [[noreturn]] void fail(std::string_view needle,
                         std::string_view message) const {
    size_t at = text_.find(needle, anchor_);
    if (at == std::string_view::npos) {
      at = anchor_;
    }
    throw std::runtime_error(
      fmt::format("{}:{}: {}", origin_, line_of(text_, at), message));
  }
  void anchor(std::string_view needle) {
    size_t at = text_.find(needle, anchor_);
    if (at != std::string_view::npos) {
      anchor_ = at;
    }
  }

private:
  std::string_view text_;
  std::string_view origin_;
  size_t anchor_ = 0;
};

std::vector<std::string> strings(const json& j,
                                 std::string_view field,
                                 const Context& ctx) {
  if (!j.is_array()) {
    ctx.fail(fmt::format("\"{}\"", field),
             fmt::format("'{}' must be a list of strings", field));
  }
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) {
      ctx.fail(fmt::format("\"{}\"", field),
               fmt::format("'{}' must be a list of strings", field));
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const json& j,
                         std::string_view field,
                         const Context& ctx) {
  if (!j.is_string()) {
    ctx.fail(fmt::format("\"{}\"", field),
             fmt::format("'{}' must be a string", field));
  }
  return j.get<std::string>();
}

LazyRegex regex_field(const json& j,
                      std::string_view field,
                      const Context& ctx) {
  auto pattern = string_field(j, field, ctx);
  try {
    std::regex check(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    ctx.fail(fmt::format("\"{}\"", field),
             fmt::format("'{}' is not a valid regex: {}", field, e.what()));
  }
  return LazyRegex(pattern);
}

std::map<std::string, std::vector<std::string>>
flag_values(const json& j, std::string_view field, const Context& ctx) {
  if (!j.is_object()) {
    ctx.fail(fmt::format("\"{}\"", field),
             fmt::format("'{}' must be an object of flag → values", field));
  }
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [flag, values] : j.items()) {
    out[flag] = strings(values, field, ctx);
  }
  return out;
}

void check_fields(const json& j,
                  std::initializer_list<std::string_view> allowed,
                  std::string_view what,
                  const Context& ctx) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      ctx.fail(fmt::format("\"{}\"", key),
               fmt::format("unknown field '{}' in {}", key, what));
    }
  }
}

Rule parse_rule(const json& j, Context& ctx) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    ctx.fail("\"rules\"", "every rule needs an \"id\" string");
  }
  Rule rule;
  rule.id = j["id"].get<std::string>();
  ctx.anchor(fmt::format("\"{}\"", rule.id));
  check_fields(j,
               {"id",
                "command",
                "require_any",
                "deny",
                "deny_values",
                "allow_values",
                "deny_regex",
                "ttl",
                "key_env",
                "context",
                "context_unless",
                "context_when",
                "stdin",
                "interactive",
                "tags",
                "cache_failures",
                "comment"},
               fmt::format("rule '{}'", rule.id),
               ctx);
  for (const auto& [key, value] : j.items()) {
    if (key == "command") {
      rule.command = strings(value, key, ctx);
    } else if (key == "require_any") {
      rule.require_any = strings(value, key, ctx);
    } else if (key == "deny") {
      rule.deny = strings(value, key, ctx);
    } else if (key == "deny_values") {
      rule.deny_values = flag_values(value, key, ctx);
    } else if (key == "allow_values") {
      rule.allow_values = flag_values(value, key, ctx);
    } else if (key == "deny_regex") {
      rule.deny_regex = regex_field(value, key, ctx);
    } else if (key == "ttl") {
      auto ttl = util::parse_duration(string_field(value, key, ctx));
      if (!ttl) {
        ctx.fail("\"ttl\"", ttl.error());
      }
      rule.ttl = *ttl;
    } else if (key == "key_env") {
      rule.key_env = strings(value, key, ctx);
    } else if (key == "context") {
      rule.context = strings(value, key, ctx);
      for (const auto& c : rule.context) {
        if (c != "git_remote" && c != "cwd" && c != "git_state") {
          ctx.fail("\"context\"",
                   fmt::format("unknown context '{}' (known: git_remote, "
                               "cwd, git_state)",
                               c));
        }
      }
    } else if (key == "context_unless") {
      rule.context_unless = strings(value, key, ctx);
    } else if (key == "context_when") {
      rule.context_when = regex_field(value, key, ctx);
    } else if (key == "stdin") {
      if (string_field(value, key, ctx) != "key") {
        ctx.fail("\"stdin\"", "'stdin' can only be \"key\"");
      }
      rule.stdin_key = true;
    } else if (key == "interactive" || key == "cache_failures") {
      if (!value.is_boolean()) {
        ctx.fail(fmt::format("\"{}\"", key),
                 fmt::format("'{}' must be true or false", key));
      }
      (key == "interactive" ? rule.interactive : rule.cache_failures) =
        value.get<bool>();
    } else if (key == "tags") {
      rule.tags = strings(value, key, ctx);
    }
  }
  return rule;
}

ToolPolicy parse_policy_json(const json& j, Context& ctx) {
  if (!j.is_object()) {
    ctx.fail("{", "a rule file must hold a JSON object");
  }
  check_fields(j,
               {"tool",
                "binaries",
                "version",
                "account",
                "key_env",
                "secrets",
                "scope",
                "rules",
                "invalidate",
                "http",
                "comment"},
               "the file",
               ctx);
  ToolPolicy p;
  if (!j.contains("tool")) {
    ctx.fail("{", "missing \"tool\"");
  }
  p.tool = string_field(j["tool"], "tool", ctx);
  p.binaries = j.contains("binaries")
                 ? strings(j["binaries"], "binaries", ctx)
                 : std::vector<std::string>{p.tool};
  if (j.contains("version")) {
    const auto& v = j["version"];
    if (!v.is_object() || !v.contains("args")) {
      ctx.fail("\"version\"", "'version' must be {\"args\": [...]}");
    }
    p.version_args = strings(v["args"], "args", ctx);
  }
  if (j.contains("account")) {
    if (!j["account"].is_array()) {
      ctx.fail("\"account\"", "'account' must be a list of sources");
    }
    for (const auto& s : j["account"]) {
      check_fields(s, {"env", "file", "regex"}, "an account source", ctx);
      AccountSource source;
      if (s.contains("env")) {
        source.env = string_field(s["env"], "env", ctx);
      }
      if (s.contains("file")) {
        source.file = string_field(s["file"], "file", ctx);
      }
      if (s.contains("regex")) {
        source.regex = regex_field(s["regex"], "regex", ctx);
      }
      if (source.env.empty() == source.file.empty()) {
        ctx.fail("\"account\"",
                 "an account source needs exactly one of env or file");
      }
      p.account.push_back(std::move(source));
    }
  }
  if (j.contains("key_env")) {
    p.key_env = strings(j["key_env"], "key_env", ctx);
  }
  if (j.contains("secrets")) {
    for (const auto& s : j["secrets"]) {
      check_fields(s, {"name", "env"}, "a secret", ctx);
      if (!s.contains("name") || !s.contains("env")) {
        ctx.fail("\"secrets\"", "a secret needs a name and an env");
      }
      p.secrets.push_back({string_field(s["name"], "name", ctx),
                           string_field(s["env"], "env", ctx)});
    }
  }
  if (j.contains("scope")) {
    for (const auto& s : j["scope"]) {
      check_fields(
        s, {"flag", "env", "arg_regex", "git_remote"}, "a scope source", ctx);
      ScopeSource source;
      if (s.contains("flag")) {
        source.flags = strings(s["flag"], "flag", ctx);
      }
      if (s.contains("env")) {
        source.env = string_field(s["env"], "env", ctx);
      }
      if (s.contains("arg_regex")) {
        source.arg_regex = regex_field(s["arg_regex"], "arg_regex", ctx);
      }
      source.git_remote = s.value("git_remote", false);
      p.scope.push_back(std::move(source));
    }
  }
  if (j.contains("rules")) {
    if (!j["rules"].is_array()) {
      ctx.fail("\"rules\"", "'rules' must be a list");
    }
    for (const auto& r : j["rules"]) {
      p.rules.push_back(parse_rule(r, ctx));
    }
  }
  if (j.contains("invalidate")) {
    for (const auto& inv : j["invalidate"]) {
      check_fields(inv, {"command", "tags", "comment"}, "an invalidation", ctx);
      if (!inv.contains("command") || !inv.contains("tags")) {
        ctx.fail("\"invalidate\"", "an invalidation needs command and tags");
      }
      ctx.anchor("\"invalidate\"");
      p.invalidate.push_back({strings(inv["command"], "command", ctx),
                              strings(inv["tags"], "tags", ctx)});
    }
  }
  return p;
}

bool is_short(std::string_view flag) {
  return flag.size() == 2 && flag[0] == '-' && flag[1] != '-';
}

} // namespace

std::expected<ToolPolicy, std::string> parse_policy(std::string_view text,
                                                    std::string_view origin) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, true);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at ...".
    auto colon = what.find(": ", what.find("parse error"));
    return std::unexpected(fmt::format(
      "{}:{}: invalid JSON: {}",
      origin,
      line_of(text, e.byte > 0 ? e.byte - 1 : 0),
      colon == std::string::npos ? what : what.substr(colon + 2)));
  }
  Context ctx(text, origin);
  try {
    auto policy = parse_policy_json(j, ctx);
    policy.origin = origin;
    return policy;
  } catch (const std::runtime_error& e) {
    return std::unexpected(e.what());
  } catch (const json::exception& e) {
    return std::unexpected(fmt::format("{}: {}", origin, e.what()));
  }
}

namespace {

struct RuleFile {
  std::string origin;
  std::string text;
};

// The user's file of that name, else the built-in one.
std::optional<RuleFile> rule_file(std::string_view file_name) {
  auto user = Config::config_dir() / "wrappers" / file_name;
  if (auto text = util::read_file(user)) {
    return RuleFile{user.string(), std::move(*text)};
  }
  for (const auto& f : embedded_wrappers()) {
    if (f.name == file_name) {
      return RuleFile{fmt::format("wrappers/{}", f.name), std::string(f.text)};
    }
  }
  return std::nullopt;
}

std::vector<std::string> all_rule_file_names() {
  std::vector<std::string> names;
  for (const auto& f : embedded_wrappers()) {
    names.emplace_back(f.name);
  }
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(Config::config_dir() / "wrappers",
                                           ec)) {
    auto name = e.path().filename().string();
    if (name.ends_with(".json") &&
        std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  return names;
}

} // namespace

std::optional<std::expected<ToolPolicy, std::string>>
find_policy(std::string_view name) {
  // Fast path: the file named after the binary. Otherwise only files that
  // mention the name are parsed.
  auto names = all_rule_file_names();
  std::string direct = fmt::format("{}.json", name);
  std::stable_partition(names.begin(), names.end(), [&](const auto& n) {
    return n == direct;
  });
  std::string quoted = fmt::format("\"{}\"", name);
  for (const auto& file_name : names) {
    auto file = rule_file(file_name);
    if (!file || (file_name != direct &&
                  file->text.find(quoted) == std::string::npos)) {
      continue;
    }
    auto policy = parse_policy(file->text, file->origin);
    if (!policy) {
      if (file_name == direct) {
        return policy;
      }
      continue;
    }
    if (std::find(policy->binaries.begin(), policy->binaries.end(), name) !=
        policy->binaries.end()) {
      return policy;
    }
  }
  return std::nullopt;
}

std::vector<std::string> known_binaries() {
  std::vector<std::string> out;
  for (const auto& file_name : all_rule_file_names()) {
    if (auto file = rule_file(file_name)) {
      if (auto policy = parse_policy(file->text, file->origin)) {
        out.insert(out.end(), policy->binaries.begin(), policy->binaries.end());
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
      if (reason != "command" && reason != "require_any") {
        last_reason = fmt::format("{}/{}: {}", policy.tool, rule.id, reason);
      }
      continue;
    }
    if (rule.interactive && stdin_is_tty) {
      m.why = fmt::format("{}/{} is interactive on a terminal",
                          policy.tool,
                          rule.id);
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
