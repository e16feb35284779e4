// The tables of a rule file's fields: one row per field (see
// rule_fields.hpp), and the reading, C++ and dump of a whole policy by them.

#include "core/rule_field_kinds.hpp"

namespace ipfsacc::rule_fields {

namespace {

// ---- the parts of a rule file -----------------------------------------------

const Table<AccountSource>& account_table() {
  static const Field<AccountSource> fields[] = {
    { "env", Need::optional, IPFSACC_MEMBER(AccountSource, env), "" },
    { "file", Need::optional, IPFSACC_MEMBER(AccountSource, file), "" },
    { "regex", Need::optional, IPFSACC_MEMBER(AccountSource, regex), "" },
  };
  static const Table<AccountSource> table{
    .fields = fields,
    .cpp_type = "AccountSource",
    .cpp_var = "a",
    .what = "an account source",
    .after_fields =
      [](const AccountSource& source, Reader& reader) {
        if (source.env.empty() == source.file.empty()) {
          reader.fail("\"account\"",
                      "an account source needs exactly one of env or file");
        }
      },
  };
  return table;
}

const Table<SecretMapping>& secret_table() {
  static const Field<SecretMapping> fields[] = {
    { "name", Need::required, IPFSACC_MEMBER(SecretMapping, name), "" },
    { "env", Need::required, IPFSACC_MEMBER(SecretMapping, env), "" },
  };
  static const Table<SecretMapping> table{
    .fields = fields,
    .cpp_type = "SecretMapping",
    .cpp_var = "s",
    .what = "a secret",
    .missing_needle = "\"secrets\"",
    .missing_message = "a secret needs a name and an env",
  };
  return table;
}

const Table<ScopeSource>& scope_table() {
  static const Field<ScopeSource> fields[] = {
    { "flag", Need::optional, plain<&ScopeSource::flags, "flags">(), "" },
    { "env", Need::optional, IPFSACC_MEMBER(ScopeSource, env), "" },
    { "arg_regex", Need::optional, IPFSACC_MEMBER(ScopeSource, arg_regex), "" },
    { "git_remote",
      Need::optional,
      IPFSACC_MEMBER(ScopeSource, git_remote),
      "" },
  };
  static const Table<ScopeSource> table{
    .fields = fields,
    .cpp_type = "ScopeSource",
    .cpp_var = "s",
    .what = "a scope source",
  };
  return table;
}

const Table<Invalidation>& invalidation_table() {
  static const Field<Invalidation> fields[] = {
    { "command", Need::required, IPFSACC_MEMBER(Invalidation, command), "" },
    { "tags", Need::required, IPFSACC_MEMBER(Invalidation, tags), "" },
    { "comment", Need::optional, ignored<Invalidation>(), "" },
  };
  static const Table<Invalidation> table{
    .fields = fields,
    .cpp_type = "Invalidation",
    .cpp_var = "inv",
    .what = "an invalidation",
    .missing_needle = "\"invalidate\"",
    .missing_message = "an invalidation needs command and tags",
    // Errors in this invalidation name the line of its command.
    .before_fields = [](Reader& reader) { reader.anchor("\"command\""); },
  };
  return table;
}

void read_context(const json& j,
                  std::string_view name,
                  Rule& rule,
                  Reader& reader) {
  read_value(j, name, rule.context, reader);
  for (const auto& c : rule.context) {
    if (c != "git_remote" && c != "cwd" && c != "git_state") {
      reader.fail("\"context\"",
                  fmt::format("unknown context '{}' (known: git_remote, "
                              "cwd, git_state)",
                              c));
    }
  }
}

// "stdin": "key" is Rule::stdin_key.
Access<Rule> stdin_key() {
  return {
    Kind::string,
    [](const json& j, std::string_view name, Rule& rule, Reader& reader) {
      std::string value;
      read_value(j, name, value, reader);
      if (value != "key") {
        reader.fail("\"stdin\"", "'stdin' can only be \"key\"");
      }
      rule.stdin_key = true;
    },
    [](const Rule& rule, std::string_view var, std::string_view indent) {
      return rule.stdin_key
               ? fmt::format("{}{}.stdin_key = true;\n", indent, var)
               : std::string();
    },
    [](const Rule& rule) { return rule.stdin_key ? json("key") : json(); },
  };
}

const Table<Rule>& rule_table() {
  static const Field<Rule> fields[] = {
    { "id",
      Need::required,
      IPFSACC_MEMBER(Rule, id),
      R"doc(short name, unique in the file (`pr-list`); shown as `gh/pr-list`)doc" },
    { "command",
      Need::optional,
      IPFSACC_MEMBER(Rule, command),
      R"doc(the arguments must start with these words (`["pr", "list"]`); may be empty)doc" },
    { "require_any",
      Need::optional,
      IPFSACC_MEMBER(Rule, require_any),
      R"doc(at least one of these flags must be present (`["-p", "--print"]`))doc" },
    { "deny",
      Need::optional,
      IPFSACC_MEMBER(Rule, deny),
      R"doc(if any of these flags is present, the rule does not match (`["--web"]`))doc" },
    { "deny_values",
      Need::optional,
      IPFSACC_MEMBER(Rule, deny_values),
      R"doc(`{"--permission-mode": ["acceptEdits", "bypassPermissions"]}`: the flag with one of these values makes the rule not match)doc" },
    { "allow_values",
      Need::optional,
      IPFSACC_MEMBER(Rule, allow_values),
      R"doc(`{"-X": ["GET", "HEAD"]}`: the flag with any other value makes the rule not match)doc" },
    { "deny_regex",
      Need::optional,
      IPFSACC_MEMBER(Rule, deny_regex),
      R"doc(a Perl-compatible regex (PCRE2); if any argument (or piped stdin that the rule reads) matches, the rule does not match)doc" },
    { "require_regex",
      Need::optional,
      IPFSACC_MEMBER(Rule, require_regex),
      R"doc(a regex at least one argument must match (`"^/?rate_limit(?:[?#]|$)"`))doc" },
    { "ttl",
      Need::optional,
      IPFSACC_MEMBER(Rule, ttl),
      R"doc(how long an entry lives: `30s`, `5m`, `1h`, `7d`)doc" },
    { "key_env",
      Need::optional,
      IPFSACC_MEMBER(Rule, key_env),
      R"doc(more environment variables for this rule's keys)doc" },
    { "key_files",
      Need::optional,
      IPFSACC_MEMBER(Rule, key_files),
      R"doc(more files for this rule's keys)doc" },
    { "context",
      Need::optional,
      read_with(IPFSACC_MEMBER(Rule, context), read_context),
      R"doc(`"git_remote"`: the remotes of the repository around the working directory (and gh's `gh-resolved` default); `"cwd"`: the working directory; `"git_state"`: HEAD and the status, size and mtime of every changed or untracked file. A call whose rule needs `git_state` outside a git repository passes through)doc" },
    { "context_unless",
      Need::optional,
      IPFSACC_MEMBER(Rule, context_unless),
      R"doc(flags that make `context` unnecessary (`["-R", "--repo"]`))doc" },
    { "context_when",
      Need::optional,
      IPFSACC_MEMBER(Rule, context_when),
      R"doc(regex: `context` applies only when an argument matches (`"\\{(owner|repo|branch)\\}"`))doc" },
    { "stdin",
      Need::optional,
      stdin_key(),
      R"doc(`"key"`: piped stdin is read, hashed into the key and fed to the tool. Without it stdin is left alone for the tool)doc" },
    { "interactive",
      Need::optional,
      IPFSACC_MEMBER(Rule, interactive),
      R"doc(`true`: when stdin is a terminal the call passes straight through)doc" },
    { "tags",
      Need::optional,
      IPFSACC_MEMBER(Rule, tags),
      R"doc(the entry is tagged `tool:TAG:SCOPE` for each scope found, for invalidation)doc" },
    { "cache_failures",
      Need::optional,
      IPFSACC_MEMBER(Rule, cache_failures),
      R"doc(`true`: non-zero exits are cached too)doc" },
    { "negative_ttl",
      Need::optional,
      IPFSACC_MEMBER(Rule, negative_ttl),
      R"doc(how long a not-found answer is kept (`"1m"`), which is otherwise never stored: on the HTTP path an HTTP 404 (`gh api`, `hf … info`, vastai's `failed with error 404`); on the CLI path a failed call whose stdout or stderr matches `negative_match`. `-v` says `stored as not found for 1m (rule TOOL/ID negative_ttl)`, or why it was not stored. An explicit shorter TTL (`--ttl`) still wins)doc" },
    { "negative_match",
      Need::optional,
      IPFSACC_MEMBER(Rule, negative_match),
      R"doc(a regex (PCRE2) for the CLI's not-found message (`"(?m)^gh: .*\\(HTTP 404\\)$"`), tested only when a call of the rule has failed and is about to be stored, never on a hit; needs `negative_ttl`)doc" },
    { "comment", Need::optional, ignored<Rule>(), "" },
  };
  static const Table<Rule> table{
    .fields = fields,
    .cpp_type = "Rule",
    .cpp_var = "r",
    .what = "a rule",
    .missing_needle = "\"rules\"",
    .missing_message = "every rule needs an \"id\" string",
    .after_fields =
      [](const Rule& rule, Reader& reader) {
        if (!rule.negative_match.empty() && !rule.negative_ttl) {
          reader.fail(
            "\"negative_match\"",
            "'negative_match' needs a 'negative_ttl' (how long to keep it)");
        }
      },
  };
  return table;
}

// "rules": each rule's errors name its line, and ids are unique in a file.
void read_rules(const json& j,
                std::string_view /*name*/,
                ToolPolicy& policy,
                Reader& reader) {
  if (!j.is_array()) {
    reader.fail("\"rules\"", "'rules' must be a list");
  }
  for (const auto& r : j) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string()) {
      reader.fail("\"rules\"", "every rule needs an \"id\" string");
    }
    auto id = r["id"].get<std::string>();
    // Errors name the line of this rule: its "id" key, then its value.
    reader.anchor("\"id\"");
    reader.anchor(in_quotes(id));
    policy.rules.push_back(
      read_object(r, rule_table(), fmt::format("rule '{}'", id), reader));
    for (size_t i = 0; i + 1 < policy.rules.size(); ++i) {
      if (policy.rules[i].id == id) {
        reader.fail(in_quotes(id),
                    fmt::format("rule id '{}' is used twice", id));
      }
    }
  }
}

// "invalidate": errors in the list are looked up from its start.
void read_invalidations(const json& j,
                        std::string_view name,
                        ToolPolicy& policy,
                        Reader& reader) {
  reader.anchor("\"invalidate\"");
  objects<&ToolPolicy::invalidate, "invalidate", invalidation_table>().read(
    j, name, policy, reader);
}

// "version": {"args": [...]} is ToolPolicy::version_args.
Access<ToolPolicy> version_args() {
  return {
    Kind::object,
    [](const json& j, std::string_view, ToolPolicy& p, Reader& reader) {
      if (!j.is_object() || !j.contains("args")) {
        reader.fail("\"version\"", "'version' must be {\"args\": [...]}");
      }
      read_value(j["args"], "args", p.version_args, reader);
    },
    [](const ToolPolicy& p, std::string_view var, std::string_view indent) {
      return p.version_args.empty() ? std::string()
                                    : fmt::format("{}{}.version_args = {};\n",
                                                  indent,
                                                  var,
                                                  cpp_value(p.version_args));
    },
    [](const ToolPolicy& p) {
      return p.version_args.empty() ? json()
                                    : json{ { "args", p.version_args } };
    },
  };
}

// "usage": {"model_flags": [...]} sets ToolPolicy::usage and
// usage_model_flags.
Access<ToolPolicy> usage() {
  return {
    Kind::object,
    [](const json& j, std::string_view, ToolPolicy& p, Reader& reader) {
      if (!j.is_object()) {
        reader.fail("\"usage\"", "'usage' must be {\"model_flags\": [...]}");
      }
      for (const auto& [key, value] : j.items()) {
        if (key != "model_flags") {
          reader.fail(in_quotes(key),
                      fmt::format("unknown field '{}' in 'usage'", key));
        }
      }
      p.usage = true;
      if (j.contains("model_flags")) {
        read_value(
          j["model_flags"], "model_flags", p.usage_model_flags, reader);
      }
    },
    [](const ToolPolicy& p, std::string_view var, std::string_view indent) {
      if (!p.usage) {
        return std::string();
      }
      return fmt::format(
        "{0}{1}.usage = true;\n{0}{1}.usage_model_flags = {2};\n",
        indent,
        var,
        cpp_value(p.usage_model_flags));
    },
    [](const ToolPolicy& p) {
      return p.usage ? json{ { "model_flags", p.usage_model_flags } } : json();
    },
  };
}

const Table<ToolPolicy>& policy_table() {
  static const Field<ToolPolicy> fields[] = {
    { "tool",
      Need::required,
      IPFSACC_MEMBER(ToolPolicy, tool),
      R"doc(canonical name, used in keys, stats and `--explain`)doc" },
    { "binaries",
      Need::optional,
      IPFSACC_MEMBER(ToolPolicy, binaries),
      R"doc(names accepted as `ipfsacc NAME …` and looked up on `PATH` (first is preferred))doc",
      [](ToolPolicy& p) { p.binaries = { p.tool }; } },
    { "version",
      Need::optional,
      version_args(),
      R"doc(`{"args": ["--version"]}`: the first line the tool prints is part of every key. Learned once per binary (path, inode, size, mtime, ctime) and remembered in the cache)doc" },
    { "account",
      Need::optional,
      objects<&ToolPolicy::account, "account", account_table>(),
      R"doc(list of sources, tried in order; the first one found is hashed (keyed BLAKE2b) into the key. `{"env": "GH_TOKEN"}`, or `{"file": "~/.config/gh/hosts.yml", "regex": "oauth_token:\\s*(\\S+)"}` (first capture group; whole file without `regex`). `$VAR` and `~` expand in `file`; a source whose variable is unset is skipped. `IPFSACC_ACCOUNT` replaces all of them)doc" },
    { "key_env",
      Need::optional,
      IPFSACC_MEMBER(ToolPolicy, key_env),
      R"doc(environment variables whose values (or absence) go into every key)doc" },
    { "key_files",
      Need::optional,
      IPFSACC_MEMBER(ToolPolicy, key_files),
      R"doc(files whose content (or absence) goes into every key: settings that change answers without showing in argv (`~/.claude/settings.json`). `~` and `$VAR` expand (a path with an unset variable is skipped); a relative path is taken from the repository root, or the working directory outside one)doc" },
    { "secrets",
      Need::optional,
      objects<&ToolPolicy::secrets, "secrets", secret_table>(),
      R"doc(`[{"name": "github_token", "env": "GH_TOKEN"}]`: which stored secret is injected into which variable)doc" },
    { "scope",
      Need::optional,
      objects<&ToolPolicy::scope, "scope", scope_table>(),
      R"doc(how to find the scope that tags and invalidations use (for gh, the repository), tried in order: `{"flag": ["-R", "--repo"]}`, `{"env": "GH_REPO"}`, `{"arg_regex": "^/?repos/([^/]+/[^/?#]+)"}` (first capture of the first matching argument), `{"git_remote": true}` (owner/name of every remote of the repository around the working directory))doc" },
    { "usage",
      Need::optional,
      usage(),
      R"doc(`{"model_flags": ["-m", "--model"]}`: the tool's JSON outputs may carry token usage (claude, gemini and OpenAI-style shapes). It is read when an answer is stored, and each hit counts the tokens and cost it saved in `stats`; `model_flags` name the model for outputs that do not)doc" },
    { "failure_match", Need::optional, IPFSACC_MEMBER(ToolPolicy, failure_match), R"doc(a regex (PCRE2) for an error a tool reports with exit status 0 (vast-cli prints `failed with error 401: …` and exits 0): a run whose stdout or stderr matches is a failure, passed through as it was and not stored. Tested only after a run, never on a hit)doc" },
    { "rules",
      Need::optional,
      read_with(objects<&ToolPolicy::rules, "rules", rule_table>(), read_rules),
      R"doc(cacheable operations, tried in order; the first that matches decides)doc" },
    { "invalidate",
      Need::optional,
      read_with(
        objects<&ToolPolicy::invalidate, "invalidate", invalidation_table>(),
        read_invalidations),
      R"doc(writes that drop cached entries)doc" },
    // Accepted for rule files that describe their HTTP path; not read.
    { "http", Need::optional, ignored<ToolPolicy>(), "" },
    { "comment", Need::optional, ignored<ToolPolicy>(), "" },
  };
  static const Table<ToolPolicy> table{
    .fields = fields,
    .cpp_type = "ToolPolicy",
    .cpp_var = "p",
    .what = "the file",
    .missing_needle = "{",
    .missing_message = "missing \"tool\"",
  };
  return table;
}

} // namespace

std::span<const Field<ToolPolicy>> policy_fields() {
  return policy_table().fields;
}

std::span<const Field<Rule>> rule_fields() {
  return rule_table().fields;
}

ToolPolicy read_policy(const json& j, Reader& reader) {
  if (!j.is_object()) {
    reader.fail("{", "a rule file must hold a JSON object");
  }
  return read_object(j, policy_table(), "the file", reader);
}

std::string policy_statements(const ToolPolicy& policy) {
  return fmt::format("  p.origin = {};\n", literal(policy.origin)) +
         object_to_cpp(policy, policy_table(), "p", "  ");
}

json policy_to_json(const ToolPolicy& policy) {
  json out = object_to_json(policy, policy_table());
  out["(origin)"] = policy.origin;
  return out;
}

} // namespace ipfsacc::rule_fields
