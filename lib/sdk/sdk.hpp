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
  // A TTL of the answer's own (a 404 with the rule's short negative TTL).
  std::optional<util::Millis> ttl;
  int requests = 0; // HTTP requests made (for --explain)
};

// This call cannot be made over HTTP the way the CLI would make it (gh api
// --jq, an interactive command, an unmapped --json field); message says
// which CLI to install.
struct Unsupported {
  std::string message;
};

using Answer = std::expected<Outcome, Unsupported>;

struct Tool {
  std::string_view name;
  // True when this call's HTTP answer is byte-identical to the CLI's, so
  // both share one cache entry (the key then leaves out the CLI's version).
  bool (*identical)(const Invocation&);
  Answer (*run)(const Invocation&);
};

// The tool's HTTP path; nullptr when it has none.
const Tool* find_tool(std::string_view name);

// One function pair per tool, each in its own file.
bool gh_identical(const Invocation& call);
Answer gh_run(const Invocation& call);

} // namespace ipfsacc::sdk
