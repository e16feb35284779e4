#pragma once

#include "core/config.hpp"
#include "core/policy.hpp"
#include "util/duration.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ipfsacc {

// Options of the prefix form: `ipfsacc [OPTIONS] TOOL ARGS…`.
struct CallOptions {
  std::optional<util::Millis> ttl;
  bool refresh = false;  // run and overwrite
  bool no_cache = false; // run, touch nothing
  bool offline = false;  // answer from the cache only, expired allowed
  bool explain = false;  // one line on stderr: HIT/MISS/BYPASS and why
  bool cache_failures = false;
  // `ipfsacc run` only.
  std::vector<std::string> key_env;
  bool key_cwd = false;
  bool no_stdin = false;
};

// Exit code of --offline when nothing is cached (EX_TEMPFAIL).
constexpr int kOfflineMissExit = 75;

// Runs a wrapped tool through the cache and exits as the tool did (status or
// signal). name is the tool as invoked ("gh", "huggingface-cli").
// policy is what find_policy(name) found: a rule file, or its parse error
// (the tool then runs uncached, with a warning).
[[noreturn]] void call_tool(const std::string& name,
                            std::expected<ToolPolicy, std::string> policy,
                            const std::vector<std::string>& args,
                            const CallOptions& options,
                            const Config& config);

// `ipfsacc run -- COMMAND…`: any command, keyed by its argv (bkt's use).
[[noreturn]] void call_command(const std::vector<std::string>& command,
                               const CallOptions& options,
                               const Config& config);

} // namespace ipfsacc
