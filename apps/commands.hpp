#pragma once

#include "core/config.hpp"

#include <CLI/CLI.hpp>
#include <functional>

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

} // namespace ipfsacc::app
