#pragma once

#include "core/config.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ipfsacc::app {

// Each subcommand lives in its own file with a setup function that adds it to
// the app, with an options struct, and returns the function that runs it
// (CLI11's own pattern). All are registered in main.cpp.
struct Command {
  CLI::App* app;
  std::function<int(const Config&)> run;
  // How the config is loaded for this command: commands that inspect or fix
  // the configuration (config, doctor) must run when it has a problem.
  Strictness strictness = Strictness::error;
};

Command setup_stats(CLI::App& app);
Command setup_list(CLI::App& app);
Command setup_show(CLI::App& app);
Command setup_purge(CLI::App& app);
Command setup_export(CLI::App& app);
Command setup_import(CLI::App& app);
Command setup_config(CLI::App& app);
Command setup_doctor(CLI::App& app);
Command setup_secrets(CLI::App& app);
Command setup_shell_init(CLI::App& app);
Command setup_shims(CLI::App& app);
Command setup_serve(CLI::App& app);
// Generates the scripts from the whole command tree: main sets up every
// command when this one is called.
Command setup_completions(CLI::App& app);

// What `ipfsacc --version` prints: version, git revision, libraries, linking.
std::string version_text();

// Helpers shared by shell-init and shims (tools.cpp).

// A binary name that has a rule file, and what this machine has of it.
struct ToolBinary {
  std::string name;      // "gh", "huggingface-cli"
  std::string path;      // the real tool (find_tool), "" when not installed
  bool excluded = false; // by the config key `exclude`
  bool safe_name = true; // usable as a file and shell function name
};

// Every binary that has a rule file (built-in first, then the user's), with
// where the real tool is and whether `exclude` names it or its rule file.
std::vector<ToolBinary> tool_binaries(const Config& config);

// How a shell should run this ipfsacc: "ipfsacc" when PATH finds this very
// binary under that name, else its absolute path.
std::string ipfsacc_command();

} // namespace ipfsacc::app
