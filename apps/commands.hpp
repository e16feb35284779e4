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
};

Command setup_stats(CLI::App& app);
Command setup_secrets(CLI::App& app);

} // namespace ipfsacc::app
