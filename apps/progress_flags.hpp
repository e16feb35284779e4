#pragma once

// --progress and --no-progress, shared by the commands that can run long
// (import, export, purge), and the progress line they make of them.

#include "util/progress.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace ipfsacc::app {

// When the progress line is drawn on stderr.
enum class ProgressWhen {
  terminal, // when stderr is a terminal (the default)
  always,   // --progress: whatever stderr is
  never,    // --no-progress
};

// Whether the command writes its data to stdout: on a terminal, a progress
// line there would be drawn over it.
enum class DataOnStdout { no, yes };

// Adds --progress and --no-progress to cmd, setting when.
void add_progress_flags(CLI::App* cmd, ProgressWhen& when);

// A progress line on stderr, drawn as when says (never over data written to
// a terminal on stdout unless --progress), after the delay
// IPFSACC_PROGRESS_DELAY gives (a duration; 1s when unset; a value that is
// not a duration is warned about and the default used).
std::unique_ptr<util::Progress> make_progress(ProgressWhen when,
                                              DataOnStdout data);

} // namespace ipfsacc::app
