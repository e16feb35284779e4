#pragma once

#include "core/config.hpp"
#include "core/policy.hpp"
#include "util/duration.hpp"

#include <functional>
#include <optional>
#include <span>
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
  // A static front's own argv (main sets it only in a static program): the
  // command line its dynamic twin gets when the call is handed over. Borrowed
  // from main, so a hit copies nothing.
  std::span<char* const> front_argv;
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

// How a call ends. The call returns it and only main leaves the process:
// with an exit code, like the tool did (its status, or its signal raised
// again), or by exec'ing the tool in its place once the call is destroyed.
struct CallEnd {
  enum class Kind { exit_code, wait_status, exec };
  Kind kind = Kind::exit_code;
  int value = 0; // the exit code, or the wait status
  // Kind::exec: the tool, its argv and the "NAME=value" added to our
  // environment (secrets: to be wiped when the exec fails).
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  // Kind::exec: how the call ends when the exec fails with this errno (the
  // HTTP path, or the shell's message); unset: the shell's message.
  std::function<CallEnd(int)> exec_failed;

  static CallEnd code(int code) {
    CallEnd end;
    end.value = code;
    return end;
  }
  static CallEnd status(int wait_status) {
    CallEnd end;
    end.kind = Kind::wait_status;
    end.value = wait_status;
    return end;
  }
  static CallEnd exec(std::string path,
                      std::vector<std::string> argv,
                      std::vector<std::string> env) {
    CallEnd end;
    end.kind = Kind::exec;
    end.path = std::move(path);
    end.argv = std::move(argv);
    end.env = std::move(env);
    return end;
  }
};

// Runs a wrapped tool through the cache and says how to exit as the tool
// did (status or signal). name is the tool as invoked ("gh",
// "huggingface-cli"). policy is what find_policy(name) found: a rule file, or
// its parse error (the tool then runs uncached, with a warning); it must
// outlive the returned CallEnd.
CallEnd call_tool(const std::string& name,
                  const std::expected<ToolPolicy, std::string>& policy,
                  const std::vector<std::string>& args,
                  const CallOptions& options,
                  const Config& config);

// `ipfsacc run -- COMMAND…`: any command, keyed by its argv (bkt's use).
CallEnd call_command(const std::vector<std::string>& command,
                     const CallOptions& options,
                     const Config& config);

} // namespace ipfsacc
