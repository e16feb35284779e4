#pragma once

#include "http/http.hpp"
#include "util/duration.hpp"

#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The HTTP path: a wrapped tool's call made by ipfsacc itself, against the
// API the tool would have called, printing what the tool would print when
// its stdout is not a terminal.
namespace ipfsacc::sdk {

struct Invocation {
  std::string tool;              // the rule file's tool ("hf")
  std::string binary;            // the name typed ("huggingface-cli")
  std::vector<std::string> args; // after the binary
  // Piped stdin, read only where the CLI reads it (claude -p, groq -);
  // nullopt when stdin is a terminal or not read.
  std::optional<std::string> stdin_data;
  // The call's environment: the user's variables, then the secrets the
  // store would inject into the CLI (GH_TOKEN, ANTHROPIC_API_KEY…).
  std::function<std::optional<std::string>(std::string_view)> env;
  http::Transport transport;
};

struct Outcome {
  int exit_code = 0;
  std::string out; // what the CLI prints on stdout
  std::string err; // and on stderr (an HTTP error the way the CLI says it)
  // False for failures and anything that must not be replayed.
  bool cacheable = true;
  // A TTL of the answer's own.
  std::optional<util::Millis> ttl;
  // The API said the thing asked for does not exist (HTTP 404). Such an
  // answer is not cacheable, except for the rule's negative_ttl when the
  // rule has one (see lib/core/call.cpp).
  bool not_found = false;
  int requests = 0; // HTTP requests made (for --explain)
};

// This call cannot be made over HTTP the way the CLI would make it (gh api
// --jq, an interactive command, an unmapped --json field); message says
// which CLI to install.
struct Unsupported {
  std::string message;
};

using Answer = std::expected<Outcome, Unsupported>;

// Which path a tool's call takes first.
enum class Path { cli, sdk };

struct Tool {
  std::string_view name;
  // True when this call's HTTP answer is byte-identical to the CLI's, so
  // both share one cache entry (the key then leaves out the CLI's version).
  bool (*identical)(const Invocation&);
  Answer (*run)(const Invocation&);
  // The HTTP path comes first for a tool without an official CLI (groq).
  Path first = Path::cli;
};

// The tool's HTTP path; nullptr when it has none.
const Tool* find_tool(std::string_view name);

// Runs tool's HTTP path for call. Whatever the API answers, nothing is
// thrown: an answer the tool could not read (an exception of the JSON
// library the tool's own checks missed) becomes the tool's failure on an
// unexpected answer (exit 1, not cached; see sdk/api_json.hpp).
Answer run_tool(const Tool& tool, const Invocation& call);

// The Unsupported of a call the HTTP path cannot make the way the CLI
// would: what cannot be done, and how to install the CLI that can.
Unsupported unsupported(const Invocation& call, std::string_view what);

// The variable's value from call.env; nullopt when it is unset or empty.
std::optional<std::string> env(const Invocation& call, std::string_view name);

// The variable's value from call.env, or fallback when it is unset or empty.
std::string env_or(const Invocation& call,
                   std::string_view name,
                   std::string_view fallback);

// base without a trailing slash, then path.
std::string join_url(std::string_view base, std::string_view path);

// Percent-encodes a URL path segment or query value (RFC 3986 unreserved
// characters stay).
std::string url_encode(std::string_view text);

// The message of a request that got no response ("groq: cannot reach the
// API: …"), as an uncached failure with exit code 1.
Outcome transport_failure(const Invocation& call, const http::Error& error);

// An option of a CLI, for parse_args: its spellings ("-m", "--model") and
// whether it takes a value.
struct OptionSpec {
  std::vector<std::string_view> names;
  bool takes_value = true;
};

// A command line read the way the CLI reads it: --name V, --name=V, -n V,
// -nV; "--" ends the options.
struct ParsedArgs {
  // By the option's first name; a flag's value is "".
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> positionals;

  bool has(std::string_view name) const;
  std::optional<std::string> value(std::string_view name) const;
};

// Parses args against specs; the message names an unknown option or a
// missing value.
std::expected<ParsedArgs, std::string> parse_args(
  std::span<const std::string> args,
  std::span<const OptionSpec> specs);

// A usage error of the CLI: message on stderr, exit 2, not cached.
Outcome usage_error(const Invocation& call, std::string_view message);

// One function pair per tool, each in its own file.
bool gh_identical(const Invocation& call);
Answer gh_run(const Invocation& call);
bool never_identical(const Invocation& call);
Answer groq_run(const Invocation& call);
Answer claude_run(const Invocation& call);
Answer gemini_run(const Invocation& call);
Answer hf_run(const Invocation& call);
Answer vastai_run(const Invocation& call);
Answer code_run(const Invocation& call);

} // namespace ipfsacc::sdk
