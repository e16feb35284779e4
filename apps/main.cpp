// ipfsacc: answers repeated read-only calls of command-line tools from a
// content-addressed cache. This file parses the command line and dispatches;
// everything else lives in lib/.

#include "commands.hpp"
#include "core/call.hpp"
#include "core/config.hpp"
#include "core/policy.hpp"
#include "exec/runner.hpp"
#include "exec/stdio.hpp"
#include "util/linking.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <sodium.h>

namespace {

using namespace ipfsacc;

// The one place a wrapped call leaves the process, once everything the
// call held is destroyed: with its exit code, as the tool did (its status,
// or its signal raised again), or by exec'ing the tool in our place.
[[noreturn]] void end_call(CallEnd end) {
  while (end.kind == CallEnd::Kind::exec) {
    exec::exec_tool(end.path, end.argv, end.env);
    int error = errno;
    for (auto& entry : end.env) {
      sodium_memzero(entry.data(), entry.size());
    }
    auto failed = std::move(end.exec_failed);
    end = failed
            ? failed(error)
            : CallEnd::code(exec::report_spawn_failure(end.argv[0], error));
  }
  if (end.kind == CallEnd::Kind::wait_status) {
    exec::exit_like(end.value);
  }
  std::exit(end.value);
}

// Exit codes: 0 success, 1 error, 2 usage. Wrapped tools exit as they did.
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

std::optional<util::Millis> parse_ttl_option(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  auto ttl = util::parse_duration(text);
  if (!ttl) {
    throw CLI::ValidationError("--ttl", ttl.error());
  }
  return *ttl;
}

// ipfsacc's own commands, one file each, registered here.
struct CommandEntry {
  std::string_view name;
  app::Command (*setup)(CLI::App&);
};
const CommandEntry kCommands[] = {
  { "stats", app::setup_stats },     { "list", app::setup_list },
  { "show", app::setup_show },       { "purge", app::setup_purge },
  { "export", app::setup_export },   { "import", app::setup_import },
  { "config", app::setup_config },   { "doctor", app::setup_doctor },
  { "secrets", app::setup_secrets }, { "shell-init", app::setup_shell_init },
  { "shims", app::setup_shims },     { "completions", app::setup_completions },
  { "serve", app::setup_serve },
};

// The options of the prefix form, in one table: registered with CLI11 for
// help and errors, and read directly on the fast path below.
struct GlobalFlag {
  const char* names; // "-v,--explain"
  const char* help;
  bool CallOptions::*field;
};
const GlobalFlag kGlobalFlags[] = {
  { "--refresh",
    "run the tool and overwrite the entry",
    &CallOptions::refresh },
  { "--no-cache", "run the tool, touch no cache", &CallOptions::no_cache },
  { "--offline",
    "answer only from the cache (remotes too), expired entries too (exit "
    "75 if none)",
    &CallOptions::offline },
  { "-v,--explain",
    "say on stderr whether it was a HIT, MISS or BYPASS, and why",
    &CallOptions::explain },
  { "--cache-failures",
    "cache non-zero exits too",
    &CallOptions::cache_failures },
};
constexpr const char* kTtlHelp = "keep the answer this long (30s, 5m, 1h, 7d)";
constexpr const char* kPreferHelp =
  "cli: run the tool, over HTTP only when it is missing or crashes; sdk: "
  "make the call over HTTP first";

// Loads the configuration of a wrapped call, with --prefer on top; a bad
// --prefer is the error.
std::expected<Config, std::string> load_call_config(
  const CallOptions& options) {
  auto config = Config::load(Strictness::warn);
  if (config && !options.prefer.empty()) {
    if (auto ok = config->set("prefer", options.prefer, Origin::command_line);
        !ok) {
      return std::unexpected("--prefer: '" + options.prefer +
                             "' is not cli or sdk");
    }
  }
  return config;
}

bool is_command_name(std::string_view word) {
  return word == "run" ||
         std::any_of(std::begin(kCommands),
                     std::end(kCommands),
                     [&](const auto& c) { return c.name == word; });
}

// The fast path of a wrapped call, `ipfsacc [FLAGS] [--ttl D] TOOL ARGS…`,
// read without building the CLI11 app, which costs more than the rest of a
// hit. Sets tool_index to TOOL's place and returns true; returns false when
// the line needs the full parser (help, an unknown option, run, or one of
// ipfsacc's own commands).
bool parse_tool_call(int argc,
                     char** argv,
                     CallOptions& options,
                     std::string& ttl,
                     int& tool_index) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("-")) {
      tool_index = i;
      return !is_command_name(arg);
    }
    if (arg == "--ttl" && i + 1 < argc) {
      ttl = argv[++i];
      continue;
    }
    if (arg.starts_with("--ttl=")) {
      ttl = arg.substr(6);
      continue;
    }
    if (arg == "--prefer" && i + 1 < argc) {
      options.prefer = argv[++i];
      continue;
    }
    if (arg.starts_with("--prefer=")) {
      options.prefer = arg.substr(9);
      continue;
    }
    bool known = false;
    for (const auto& flag : kGlobalFlags) {
      std::string_view names = flag.names;
      while (!names.empty() && !known) {
        auto comma = names.find(',');
        known = names.substr(0, comma) == arg;
        names = comma == std::string_view::npos ? "" : names.substr(comma + 1);
      }
      if (known) {
        options.*flag.field = true;
        break;
      }
    }
    if (!known) {
      return false;
    }
  }
  return false;
}

// The fast path of `ipfsacc [FLAGS] run [RUN-OPTIONS] [--] COMMAND…`, after
// the word run at argv[run_index]. Fills command and returns true; false
// sends the line to the full parser (an unknown option, no command).
bool parse_run_call(int argc,
                    char** argv,
                    int run_index,
                    CallOptions& options,
                    std::string& ttl,
                    std::vector<std::string>& command) {
  int i = run_index + 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (!arg.starts_with("-")) {
      break;
    }
    if ((arg == "--ttl" || arg == "--key-env") && i + 1 < argc) {
      (arg == "--ttl" ? ttl : options.key_env.emplace_back()) = argv[++i];
    } else if (arg.starts_with("--ttl=")) {
      ttl = arg.substr(6);
    } else if (arg.starts_with("--key-env=")) {
      options.key_env.emplace_back(arg.substr(10));
    } else if (arg == "--key-cwd") {
      options.key_cwd = true;
    } else if (arg == "--no-stdin") {
      options.no_stdin = true;
    } else if (arg == "--cache-failures") {
      options.cache_failures = true;
    } else {
      return false;
    }
  }
  command.assign(argv + i, argv + argc);
  return !command.empty();
}

// The first word that is not an option of ipfsacc itself: a tool, "run" or
// one of our commands. "-h" counts as a command: help lists them all.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      return "--help";
    }
    if (arg == "--ttl" || arg == "--prefer") {
      ++i;
      continue;
    }
    if (!arg.starts_with("-")) {
      return std::string(arg);
    }
  }
  return {};
}

int unknown_command(const std::string& name,
                    const std::vector<std::string_view>& subcommands) {
  std::vector<std::string_view> candidates = subcommands;
  auto binaries = known_binaries();
  for (const auto& b : binaries) {
    candidates.push_back(b);
  }
  auto suggestion = util::closest(name, candidates);
  fmt::print(
    stderr,
    "ipfsacc: '{}' is not an ipfsacc command or a wrapped tool{}\n"
    "  wrapped tools: {}\n"
    "  any other command: ipfsacc run -- {} …\n",
    name,
    suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion),
    fmt::join(binaries, ", "),
    name);
  return kExitUsage;
}

// The name ipfsacc was invoked as: "gh" for a shim made by `ipfsacc shims
// install`, usually "ipfsacc".
std::string_view invoked_name(int argc, char** argv) {
  if (argc < 1 || argv[0] == nullptr) {
    return "ipfsacc";
  }
  std::string_view name = argv[0];
  return name.substr(name.rfind('/') + 1);
}

// A static front keeps its command line, to hand a call to its twin.
void keep_front_argv(CallOptions& options, int argc, char** argv) {
  if (util::statically_linked()) {
    options.front_argv = { argv, static_cast<size_t>(argc) };
  }
}

// Runs as `ipfsacc TOOL ARGS…` for a shim: every argument is the tool's (a
// `-v` is gh's, not ours), so only the IPFSACC_* variables and the config
// file configure the call. An excluded tool runs uncached.
[[noreturn]] void run_as_shim(const std::string& name,
                              std::expected<ToolPolicy, std::string> policy,
                              int argc,
                              char** argv) {
  auto config = Config::load(Strictness::warn);
  if (!config) {
    // Not reached (warnings only), but the tool must run whatever happens.
    fmt::print(stderr, "ipfsacc: warning: {}\n", config.error());
    config = Config();
  }
  CallOptions options;
  options.as_shim = true;
  keep_front_argv(options, argc, argv);
  options.no_cache =
    config->excludes(name) || (policy && config->excludes(policy->tool));
  std::vector<std::string> args(argv + 1, argv + argc);
  end_call(call_tool(name, policy, args, options, *config));
}

} // namespace

int main(int argc, char** argv) {
  // Before anything is opened: a closed stdout must not become a file of
  // ours, and must stay closed for the tool.
  exec::hold_closed_stdio();
  // The twin of a static front: the front's path is taken out of the
  // environment before any tool could inherit it.
  (void)util::handing_front();
  if (sodium_init() < 0) {
    fmt::print(stderr, "ipfsacc: error: libsodium failed to initialise\n");
    return kExitError;
  }

  // Invoked under a tool's name: a shim. The usual name costs one
  // comparison; only another one looks for a rule file.
  if (auto name = invoked_name(argc, argv); name != "ipfsacc") {
    if (auto policy = find_policy(name)) {
      run_as_shim(std::string(name), std::move(*policy), argc, argv);
    }
  }

  // A wrapped tool: straight to the call, unless the tool is unknown (the
  // full parser below then explains).
  {
    CallOptions options;
    keep_front_argv(options, argc, argv);
    std::string ttl_text;
    int tool_index = 0;
    bool tool_call = parse_tool_call(argc, argv, options, ttl_text, tool_index);
    std::vector<std::string> command;
    if (!tool_call && tool_index > 0 &&
        std::string_view(argv[tool_index]) == "run" &&
        parse_run_call(argc, argv, tool_index, options, ttl_text, command)) {
      if (!ttl_text.empty()) {
        auto parsed = util::parse_duration(ttl_text);
        if (!parsed) {
          fmt::print(stderr, "ipfsacc: --ttl: {}\n", parsed.error());
          return kExitUsage;
        }
        options.ttl = *parsed;
      }
      auto config = load_call_config(options);
      if (!config) {
        fmt::print(stderr, "ipfsacc: error: {}\n", config.error());
        return kExitUsage;
      }
      end_call(call_command(command, options, *config));
    }
    if (tool_call) {
      std::string tool = argv[tool_index];
      if (auto policy = find_policy(tool)) {
        if (!ttl_text.empty()) {
          auto ttl = util::parse_duration(ttl_text);
          if (!ttl) {
            fmt::print(stderr, "ipfsacc: --ttl: {}\n", ttl.error());
            return kExitUsage;
          }
          options.ttl = *ttl;
        }
        auto config = load_call_config(options);
        if (!config) {
          fmt::print(stderr, "ipfsacc: error: {}\n", config.error());
          return kExitUsage;
        }
        std::vector<std::string> args(argv + tool_index + 1, argv + argc);
        end_call(call_tool(tool, *policy, args, options, *config));
      }
    }
  }

  // A static front leaves everything else to its twin, which can load
  // libcurl and libmicrohttpd; if the twin cannot be run, on with it here.
  if (const auto& twin = util::dynamic_twin(); !twin.empty()) {
    exec::exec_tool(twin, { argv, argv + argc }, { util::front_marker() });
  }

  CLI::App app{
    "ipfsacc answers repeated read-only calls of gh, code, hf, vastai, "
    "claude,\n"
    "gemini and groq from a content-addressed cache.\n\n"
    "  ipfsacc [OPTIONS] TOOL [ARGS...]     e.g. ipfsacc gh pr list\n"
    "  ipfsacc [OPTIONS] run [RUN-OPTIONS] -- COMMAND [ARGS...]\n"
    "  ipfsacc COMMAND [OPTIONS]            manage the cache and the shell "
    "(below)\n"
    "  gh ARGS...                           through a shim (ipfsacc shims "
    "install)\n",
    "ipfsacc"
  };
  app.set_version_flag(
    "-V,--version",
    std::function<std::string()>(app::version_text),
    "print the version, git revision and what is compiled in");

  CallOptions options;
  std::string ttl_text;
  app.add_option("--ttl", ttl_text, kTtlHelp);
  app.add_option("--prefer", options.prefer, kPreferHelp)
    ->check(CLI::IsMember({ "cli", "sdk" }));
  for (const auto& flag : kGlobalFlags) {
    app.add_flag(flag.names, options.*flag.field, flag.help);
  }

  // The hit path pays only for what it parses: subcommands and their options
  // are set up only when the call is one of them (or asks for help).
  std::string word = first_word(argc, argv);
  // completions describes every command, so it needs them all.
  bool all = word == "--help" || word.empty() || word == "completions";
  CLI::App* run = nullptr;
  std::string run_ttl;
  if (all || word == "run") {
    run = app.add_subcommand("run",
                             "cache any command: run [OPTIONS] -- COMMAND...");
    run->prefix_command();
    run->add_option("--ttl", run_ttl, "keep the answer this long");
    run
      ->add_option(
        "--key-env", options.key_env, "put this variable's value in the key")
      ->allow_extra_args(false);
    run->add_flag(
      "--key-cwd", options.key_cwd, "put the working directory in the key");
    run->add_flag("--no-stdin",
                  options.no_stdin,
                  "leave stdin to the command, not in the key");
    run->add_flag(
      "--cache-failures", options.cache_failures, "cache non-zero exits too");
  }

  std::vector<app::Command> commands;
  for (const auto& entry : kCommands) {
    if (all || word == entry.name) {
      commands.push_back(entry.setup(app));
    }
  }
  // Set after the subcommands exist, so that they do not inherit these: a
  // tool's arguments pass through ipfsacc, ours are checked.
  app.prefix_command();
  app.footer(
    "Environment: IPFSACC_DIR (cache directory), IPFSACC_TTL, "
    "IPFSACC_DISABLE=1,\nIPFSACC_ACCOUNT, IPFSACC_MAX_SIZE, "
    "IPFSACC_CONFIG_DIR, IPFSACC_STATS,\nIPFSACC_STALE_WHILE_REVALIDATE, "
    "IPFSACC_SECRETS_DIR, IPFSACC_PASSPHRASE,\nIPFSACC_EXCLUDE, IPFSACC_PATH "
    "(where to find the tools instead of PATH),\nIPFSACC_PREFER (cli or sdk), "
    "IPFSACC_HTTP_TIMEOUT, IPFSACC_HTTP_CONNECT_TIMEOUT.\n"
    "A tool that is missing or crashes is called over HTTP where it can be.\n"
    "See man ipfsacc.\n"
    "Exit codes: the wrapped tool's; for ipfsacc's own commands 0 ok, 1 error, "
    "2 usage;\n75 when --offline finds nothing cached.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; CLI11's own codes for usage errors (105,
    // 106, …) become the documented 2.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  try {
    options.ttl = parse_ttl_option(ttl_text);
  } catch (const CLI::ValidationError& e) {
    fmt::print(stderr, "ipfsacc: {}\n", e.what());
    return kExitUsage;
  }

  for (const auto& command : commands) {
    if (command.app->parsed()) {
      auto config = Config::load(command.strictness);
      if (!config) {
        fmt::print(stderr, "ipfsacc: error: {}\n", config.error());
        return kExitUsage;
      }
      return command.run(*config);
    }
  }

  auto config = load_call_config(options);
  if (!config) {
    fmt::print(stderr, "ipfsacc: error: {}\n", config.error());
    return kExitUsage;
  }

  if (run && run->parsed()) {
    // CLI11 hands what follows "--" to the parent app.
    auto command = run->remaining();
    bool after_dashes = command.empty();
    if (command.empty()) {
      command = app.remaining();
    }
    if (!command.empty() && command.front() == "--") {
      command.erase(command.begin());
      after_dashes = true;
    }
    // An option of ours we do not know, not a command named "--bogus".
    if (!after_dashes && !command.empty() && command.front().starts_with("-")) {
      fmt::print(stderr,
                 "ipfsacc: run: unknown option '{}' (see ipfsacc run --help)\n",
                 command.front());
      return kExitUsage;
    }
    if (command.empty()) {
      fmt::print(
        stderr, "ipfsacc: run: no command given (ipfsacc run -- COMMAND...)\n");
      return kExitUsage;
    }
    try {
      if (auto ttl = parse_ttl_option(run_ttl)) {
        options.ttl = ttl;
      }
    } catch (const CLI::ValidationError& e) {
      fmt::print(stderr, "ipfsacc: {}\n", e.what());
      return kExitUsage;
    }
    end_call(call_command(command, options, *config));
  }

  auto rest = app.remaining();
  if (rest.empty()) {
    fmt::print("{}", app.help());
    return kExitUsage;
  }
  std::string tool = rest.front();
  rest.erase(rest.begin());
  if (tool.starts_with("-")) {
    fmt::print(
      stderr, "ipfsacc: unknown option '{}' (see ipfsacc --help)\n", tool);
    return kExitUsage;
  }
  auto policy = find_policy(tool);
  if (!policy) {
    std::vector<std::string_view> names{ "run" };
    for (const auto& entry : kCommands) {
      names.push_back(entry.name);
    }
    return unknown_command(tool, names);
  }
  end_call(call_tool(tool, *policy, rest, options, *config));
}
