#pragma once

#include "util/duration.hpp"

#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc {

// A Perl-compatible regex (PCRE2, on bytes), compiled the first time it is
// used: most calls never need it. PCRE2 compiles in microseconds and matches
// without deep recursion, so a 100 MB argument cannot crash the matcher.
class LazyRegex {
public:
  LazyRegex() = default;
  explicit LazyRegex(std::string pattern)
    : pattern_(std::move(pattern)) {}
  bool empty() const { return pattern_.empty(); }
  const std::string& pattern() const { return pattern_; }

  // True when the pattern matches somewhere in text. An invalid pattern, or
  // a match that exceeds PCRE2's work limit, also returns true: every use is
  // a "deny" or "needs context" test, where true is the safe answer.
  bool search(std::string_view text) const;

  // The first capture group of the first match, or nullopt.
  std::optional<std::string> capture(std::string_view text) const;

  // Compiles the pattern; returns the error message when it is invalid.
  std::optional<std::string> error() const;

private:
  void* code() const;
  std::string pattern_;
  mutable std::shared_ptr<void> code_;
  mutable bool invalid_ = false;
};

// A cacheable operation of a tool (see wrappers/README.md).
struct Rule {
  std::string id;
  std::vector<std::string> command;
  std::vector<std::string> require_any;
  std::vector<std::string> deny;
  std::map<std::string, std::vector<std::string>> deny_values;
  std::map<std::string, std::vector<std::string>> allow_values;
  LazyRegex deny_regex;
  LazyRegex require_regex;
  std::optional<util::Millis> ttl;
  std::vector<std::string> key_env;
  std::vector<std::string> key_files;
  std::vector<std::string> context;
  std::vector<std::string> context_unless;
  LazyRegex context_when;
  bool stdin_key = false;
  bool interactive = false;
  bool cache_failures = false;
  // How long a not-found answer of this rule is kept; nullopt: never
  // stored. On the HTTP path a not-found is an HTTP 404; on the CLI path, a
  // failed call whose stdout or stderr matches negative_match.
  std::optional<util::Millis> negative_ttl;
  LazyRegex negative_match;
  std::vector<std::string> tags;
};

struct Invalidation {
  std::vector<std::string> command;
  std::vector<std::string> tags;
};

struct AccountSource {
  std::string env;
  std::string file;
  LazyRegex regex;
};

struct ScopeSource {
  std::vector<std::string> flags;
  std::string env;
  LazyRegex arg_regex;
  bool git_remote = false;
};

struct SecretMapping {
  std::string name;
  std::string env;
};

// Everything ipfsacc knows about one tool, from its rule file.
struct ToolPolicy {
  std::string tool;
  std::string origin; // the file it came from, for messages
  std::vector<std::string> binaries;
  std::vector<std::string> version_args;
  std::vector<AccountSource> account;
  std::vector<std::string> key_env;
  std::vector<std::string> key_files;
  std::vector<SecretMapping> secrets;
  std::vector<ScopeSource> scope;
  std::vector<Rule> rules;
  std::vector<Invalidation> invalidate;
  // The tool's JSON outputs may carry token usage ("usage" in the rule
  // file): read when an answer is stored, counted as saved on each hit.
  bool usage = false;
  // Flags naming the model (--model, -m), for outputs that do not.
  std::vector<std::string> usage_model_flags;
  // A run that exits 0 but whose stdout or stderr matches is a failure all
  // the same, and is not stored (vast-cli prints "failed with error 401"
  // and exits 0).
  LazyRegex failure_match;
};

enum class Validate { no, yes };

// Parses a rule file. Returns "FILE:LINE: message" on any problem. With
// Validate::yes regexes are compiled too (slow; the build and doctor do it).
std::expected<ToolPolicy, std::string> parse_policy(
  std::string_view text,
  std::string_view origin,
  Validate validate = Validate::no);

// C++ code for a function that builds the same ToolPolicy: the build turns
// the built-in rule files into code with it, so a call parses no JSON.
std::string policy_to_cpp(const ToolPolicy& policy, std::string_view function);

// A built-in rule file, compiled in.
struct BuiltinPolicy {
  std::string_view file;     // "gh.json"
  std::string_view binaries; // " gh " (space-separated, padded)
  ToolPolicy (*build)();
};
std::span<const BuiltinPolicy> builtin_policies();

// Finds and parses the rule file of the tool invoked as name (a binary name
// such as "gh" or "huggingface-cli"): the user's wrappers/ directory first,
// then the built-in files. Returns nullopt when no file names that binary,
// and an error when the file that would (NAME.json, the user's file that
// replaces the built-in one naming it, or a file that mentions the name when
// no other names it) cannot be read or parsed.
std::optional<std::expected<ToolPolicy, std::string>> find_policy(
  std::string_view name);

// The rule file whose "tool" is tool (the name entries carry): the user's
// wrappers/ directory first, then the built-in files no user's file
// replaces. nullopt when none is, or when it cannot be read or parsed.
std::optional<ToolPolicy> find_tool_policy(std::string_view tool);

// Every binary name that has a rule file (for help and suggestions).
std::vector<std::string> known_binaries();

// What a call is, according to the tool's rules.
struct Match {
  enum class Kind { pass, cache, invalidate };
  Kind kind = Kind::pass;
  const Rule* rule = nullptr;
  std::vector<std::string> invalidate_tags;
  std::string why; // for --explain on a pass
};

// Decides what args (the arguments after the tool name) are.
Match match_call(const ToolPolicy& policy,
                 std::span<const std::string> args,
                 bool stdin_is_tty);

// Finds flag in args (see wrappers/README.md for the forms). Returns nullopt
// when absent; otherwise its value ("" for a flag given without one).
std::optional<std::string> flag_value(std::span<const std::string> args,
                                      std::string_view flag);
bool has_flag(std::span<const std::string> args, std::string_view flag);

} // namespace ipfsacc
