// Reading rule files (wrappers/*.json) into ToolPolicy, and writing a
// ToolPolicy back out as C++ for the built-in files.

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/policy.hpp"

#include <pcre2.h>

namespace ipfsacc {

using json = nlohmann::json;

namespace {

// Bounds the backtracking of one match (PCRE2's default is 10 million).
constexpr uint32_t kMatchLimit = 1'000'000;

} // namespace

void* LazyRegex::code() const {
  if (!code_ && !invalid_ && !pattern_.empty()) {
    int error;
    PCRE2_SIZE offset;
    pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()),
                    pattern_.size(),
                    0,
                    &error,
                    &offset,
                    nullptr);
    if (!compiled) {
      invalid_ = true;
      return nullptr;
    }
    code_ = std::shared_ptr<void>(
      compiled, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
  }
  return code_.get();
}

std::optional<std::string> LazyRegex::error() const {
  int error;
  PCRE2_SIZE offset;
  pcre2_code* compiled =
    pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()),
                  pattern_.size(),
                  0,
                  &error,
                  &offset,
                  nullptr);
  if (compiled) {
    pcre2_code_free(compiled);
    return std::nullopt;
  }
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(error, message, sizeof(message));
  return fmt::format(
    "{} at offset {}", reinterpret_cast<const char*>(message), offset);
}

namespace {

// Runs the regex; returns the match data (nullptr on no match) and whether
// matching failed (invalid pattern or work limit).
struct MatchResult {
  std::shared_ptr<pcre2_match_data> data;
  bool failed = false;
};

MatchResult run_match(pcre2_code* code, std::string_view text) {
  MatchResult result;
  if (!code) {
    result.failed = true;
    return result;
  }
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context, kMatchLimit);
  int rc = pcre2_match(code,
                       reinterpret_cast<PCRE2_SPTR>(text.data()),
                       text.size(),
                       0,
                       0,
                       data,
                       context);
  pcre2_match_context_free(context);
  if (rc >= 0) {
    result.data.reset(data, pcre2_match_data_free);
    return result;
  }
  pcre2_match_data_free(data);
  result.failed = rc != PCRE2_ERROR_NOMATCH;
  return result;
}

} // namespace

bool LazyRegex::search(std::string_view text) const {
  if (pattern_.empty()) {
    return false;
  }
  auto result = run_match(static_cast<pcre2_code*>(code()), text);
  return result.data || result.failed;
}

std::optional<std::string> LazyRegex::capture(std::string_view text) const {
  if (pattern_.empty()) {
    return std::nullopt;
  }
  auto result = run_match(static_cast<pcre2_code*>(code()), text);
  if (!result.data) {
    return std::nullopt;
  }
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(result.data.get());
  uint32_t pairs = pcre2_get_ovector_count(result.data.get());
  size_t group = pairs > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
  return std::string(
    text.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]));
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
  Context(std::string_view text, std::string_view origin, bool validate)
    : validate(validate)
    , text_(text)
    , origin_(origin) {}
  const bool validate;

  [[noreturn]] void fail(std::string_view needle,
                         std::string_view message) const {
    size_t at = text_.find(needle, anchor_);
    if (at == std::string_view::npos) {
      at = anchor_;
    }
    throw std::runtime_error(
      fmt::format("{}:{}: {}", origin_, line_of(text_, at), message));
  }
  // Moves the place errors are looked up from to the next occurrence of
  // needle after the current one.
  void anchor(std::string_view needle) {
    size_t at = text_.find(needle, anchor_ == 0 ? 0 : anchor_ + 1);
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
  // Only checked when asked (the build, the tests): a bad one found later
  // counts as matching, which makes a deny deny, so the call passes through.
  LazyRegex regex(pattern);
  if (ctx.validate) {
    if (auto error = regex.error()) {
      ctx.fail(fmt::format("\"{}\"", field),
               fmt::format("'{}' is not a valid regex: {}", field, *error));
    }
  }
  return regex;
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
  // Errors name the line of this rule: its "id" key, then its value.
  ctx.anchor("\"id\"");
  ctx.anchor(fmt::format("\"{}\"", rule.id));
  check_fields(j,
               { "id",
                 "command",
                 "require_any",
                 "deny",
                 "deny_values",
                 "allow_values",
                 "deny_regex",
                 "require_regex",
                 "ttl",
                 "key_env",
                 "key_files",
                 "context",
                 "context_unless",
                 "context_when",
                 "stdin",
                 "interactive",
                 "tags",
                 "cache_failures",
                 "negative_ttl",
                 "negative_match",
                 "comment" },
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
    } else if (key == "require_regex") {
      rule.require_regex = regex_field(value, key, ctx);
    } else if (key == "key_files") {
      rule.key_files = strings(value, key, ctx);
    } else if (key == "ttl") {
      auto ttl = util::parse_duration(string_field(value, key, ctx));
      if (!ttl) {
        ctx.fail("\"ttl\"", ttl.error());
      }
      rule.ttl = *ttl;
    } else if (key == "negative_ttl") {
      auto ttl = util::parse_duration(string_field(value, key, ctx));
      if (!ttl) {
        ctx.fail("\"negative_ttl\"", ttl.error());
      }
      rule.negative_ttl = *ttl;
    } else if (key == "negative_match") {
      rule.negative_match = regex_field(value, key, ctx);
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
  if (!rule.negative_match.empty() && !rule.negative_ttl) {
    ctx.fail("\"negative_match\"",
             "'negative_match' needs a 'negative_ttl' (how long to keep it)");
  }
  return rule;
}

ToolPolicy parse_policy_json(const json& j, Context& ctx) {
  if (!j.is_object()) {
    ctx.fail("{", "a rule file must hold a JSON object");
  }
  check_fields(j,
               { "tool",
                 "binaries",
                 "version",
                 "account",
                 "key_env",
                 "key_files",
                 "secrets",
                 "scope",
                 "rules",
                 "invalidate",
                 "http",
                 "usage",
                 "failure_match",
                 "comment" },
               "the file",
               ctx);
  ToolPolicy p;
  if (!j.contains("tool")) {
    ctx.fail("{", "missing \"tool\"");
  }
  p.tool = string_field(j["tool"], "tool", ctx);
  p.binaries = j.contains("binaries") ? strings(j["binaries"], "binaries", ctx)
                                      : std::vector<std::string>{ p.tool };
  if (j.contains("version")) {
    const auto& v = j["version"];
    if (!v.is_object() || !v.contains("args")) {
      ctx.fail("\"version\"", "'version' must be {\"args\": [...]}");
    }
    p.version_args = strings(v["args"], "args", ctx);
  }
  if (j.contains("usage")) {
    const auto& u = j["usage"];
    if (!u.is_object()) {
      ctx.fail("\"usage\"", "'usage' must be {\"model_flags\": [...]}");
    }
    check_fields(u, { "model_flags" }, "'usage'", ctx);
    p.usage = true;
    if (u.contains("model_flags")) {
      p.usage_model_flags = strings(u["model_flags"], "model_flags", ctx);
    }
  }
  if (j.contains("failure_match")) {
    p.failure_match = regex_field(j["failure_match"], "failure_match", ctx);
  }
  if (j.contains("account")) {
    if (!j["account"].is_array()) {
      ctx.fail("\"account\"", "'account' must be a list of sources");
    }
    for (const auto& s : j["account"]) {
      check_fields(s, { "env", "file", "regex" }, "an account source", ctx);
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
  if (j.contains("key_files")) {
    p.key_files = strings(j["key_files"], "key_files", ctx);
  }
  if (j.contains("secrets")) {
    for (const auto& s : j["secrets"]) {
      check_fields(s, { "name", "env" }, "a secret", ctx);
      if (!s.contains("name") || !s.contains("env")) {
        ctx.fail("\"secrets\"", "a secret needs a name and an env");
      }
      p.secrets.push_back({ string_field(s["name"], "name", ctx),
                            string_field(s["env"], "env", ctx) });
    }
  }
  if (j.contains("scope")) {
    for (const auto& s : j["scope"]) {
      check_fields(
        s, { "flag", "env", "arg_regex", "git_remote" }, "a scope source", ctx);
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
      for (size_t i = 0; i + 1 < p.rules.size(); ++i) {
        if (p.rules[i].id == p.rules.back().id) {
          ctx.fail(
            fmt::format("\"{}\"", p.rules.back().id),
            fmt::format("rule id '{}' is used twice", p.rules.back().id));
        }
      }
    }
  }
  if (j.contains("invalidate")) {
    ctx.anchor("\"invalidate\"");
    for (const auto& inv : j["invalidate"]) {
      check_fields(
        inv, { "command", "tags", "comment" }, "an invalidation", ctx);
      if (!inv.contains("command") || !inv.contains("tags")) {
        ctx.fail("\"invalidate\"", "an invalidation needs command and tags");
      }
      ctx.anchor("\"command\"");
      p.invalidate.push_back({ strings(inv["command"], "command", ctx),
                               strings(inv["tags"], "tags", ctx) });
    }
  }
  return p;
}

} // namespace

std::expected<ToolPolicy, std::string> parse_policy(std::string_view text,
                                                    std::string_view origin,
                                                    Validate validate) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, true);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at ...".
    auto colon = what.find(": ", what.find("parse error"));
    return std::unexpected(
      fmt::format("{}:{}: invalid JSON: {}",
                  origin,
                  line_of(text, e.byte > 0 ? e.byte - 1 : 0),
                  colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const json::exception& e) {
    // What the parser refuses beyond syntax: a number past a double's range
    // ("[json.exception.out_of_range.406] number overflow parsing '1e999'").
    std::string what = e.what();
    auto bracket = what.find("] ");
    what = bracket == std::string::npos ? what : what.substr(bracket + 2);
    size_t at = 0;
    auto open = what.find('\'');
    auto close = what.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      at = text.find(what.substr(open + 1, close - open - 1));
      at = at == std::string_view::npos ? 0 : at;
    }
    return std::unexpected(
      fmt::format("{}:{}: invalid JSON: {}", origin, line_of(text, at), what));
  }
  Context ctx(text, origin, validate == Validate::yes);
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

} // namespace ipfsacc

namespace ipfsacc {

namespace {

// A C++ string literal for any bytes (octal escapes never run into the
// characters that follow, unlike hex ones).
std::string literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      out += fmt::format("\\{:03o}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string list(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? ", " : "") + literal(v[i]);
  }
  return out + "}";
}

std::string flag_map(const std::map<std::string, std::vector<std::string>>& m) {
  std::string out = "{";
  for (const auto& [flag, values] : m) {
    out += fmt::format("{{{}, {}}}, ", literal(flag), list(values));
  }
  return out + "}";
}

} // namespace

std::string policy_to_cpp(const ToolPolicy& p, std::string_view function) {
  std::string out =
    fmt::format("ToolPolicy {}() {{\n  ToolPolicy p;\n", function);
  out += fmt::format("  p.tool = {};\n", literal(p.tool));
  out += fmt::format("  p.origin = {};\n", literal(p.origin));
  out += fmt::format("  p.binaries = {};\n", list(p.binaries));
  out += fmt::format("  p.version_args = {};\n", list(p.version_args));
  out += fmt::format("  p.key_env = {};\n", list(p.key_env));
  out += fmt::format("  p.key_files = {};\n", list(p.key_files));
  out += fmt::format("  p.usage = {};\n", p.usage);
  out +=
    fmt::format("  p.usage_model_flags = {};\n", list(p.usage_model_flags));
  if (!p.failure_match.empty()) {
    out += fmt::format("  p.failure_match = LazyRegex({});\n",
                       literal(p.failure_match.pattern()));
  }
  for (const auto& a : p.account) {
    out += fmt::format("  p.account.push_back({{{}, {}, LazyRegex({})}});\n",
                       literal(a.env),
                       literal(a.file),
                       literal(a.regex.pattern()));
  }
  for (const auto& s : p.secrets) {
    out += fmt::format(
      "  p.secrets.push_back({{{}, {}}});\n", literal(s.name), literal(s.env));
  }
  for (const auto& s : p.scope) {
    out += fmt::format("  p.scope.push_back({{{}, {}, LazyRegex({}), {}}});\n",
                       list(s.flags),
                       literal(s.env),
                       literal(s.arg_regex.pattern()),
                       s.git_remote);
  }
  for (const auto& r : p.rules) {
    out += "  {\n    Rule r;\n";
    out += fmt::format("    r.id = {};\n", literal(r.id));
    out += fmt::format("    r.command = {};\n", list(r.command));
    out += fmt::format("    r.require_any = {};\n", list(r.require_any));
    out += fmt::format("    r.deny = {};\n", list(r.deny));
    out += fmt::format("    r.deny_values = {};\n", flag_map(r.deny_values));
    out += fmt::format("    r.allow_values = {};\n", flag_map(r.allow_values));
    out += fmt::format("    r.deny_regex = LazyRegex({});\n",
                       literal(r.deny_regex.pattern()));
    if (r.ttl) {
      out += fmt::format("    r.ttl = util::Millis({});\n", r.ttl->count());
    }
    if (r.negative_ttl) {
      out += fmt::format("    r.negative_ttl = util::Millis({});\n",
                         r.negative_ttl->count());
    }
    if (!r.negative_match.empty()) {
      out += fmt::format("    r.negative_match = LazyRegex({});\n",
                         literal(r.negative_match.pattern()));
    }
    out += fmt::format("    r.require_regex = LazyRegex({});\n",
                       literal(r.require_regex.pattern()));
    out += fmt::format("    r.key_env = {};\n", list(r.key_env));
    out += fmt::format("    r.key_files = {};\n", list(r.key_files));
    out += fmt::format("    r.context = {};\n", list(r.context));
    out += fmt::format("    r.context_unless = {};\n", list(r.context_unless));
    out += fmt::format("    r.context_when = LazyRegex({});\n",
                       literal(r.context_when.pattern()));
    out += fmt::format("    r.stdin_key = {};\n", r.stdin_key);
    out += fmt::format("    r.interactive = {};\n", r.interactive);
    out += fmt::format("    r.cache_failures = {};\n", r.cache_failures);
    out += fmt::format("    r.tags = {};\n", list(r.tags));
    out += "    p.rules.push_back(std::move(r));\n  }\n";
  }
  for (const auto& inv : p.invalidate) {
    out += fmt::format("  p.invalidate.push_back({{{}, {}}});\n",
                       list(inv.command),
                       list(inv.tags));
  }
  return out + "  return p;\n}\n";
}

} // namespace ipfsacc
