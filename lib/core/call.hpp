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
  // --prefer cli|sdk ("" when not given); applied to the Config.
  std::string prefer;
  // `ipfsacc run` only.
  std::vector<std::string> key_env;
  bool key_cwd = false;
  bool no_stdin = false;
  // Invoked under the tool's name (a shim from `ipfsacc shims install`).
  bool as_shim = false;
};

// Exit code of --offline when nothing is cached (EX_TEMPFAIL).
constexpr int kOfflineMissExit = 75;

// The directories searched for a wrapped tool: IPFSACC_PATH when it is set
// (like ccache's CCACHE_PATH), else PATH.
std::string tool_search_path();

// Finds the real binary of a wrapped tool on tool_search_path(), skipping
// every entry that is ipfsacc itself (its shims, however many directories
// hold them and however often they are listed). Returns "" when there is
// none.
std::string find_tool(std::string_view name);

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
