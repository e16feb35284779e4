#include "progress_flags.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

// The delay before a progress line is drawn: IPFSACC_PROGRESS_DELAY (tests
// set 0 to see the line without waiting), else a second.
int64_t progress_delay_ms() {
  constexpr int64_t kDefault = 1000;
  const char* text = std::getenv("IPFSACC_PROGRESS_DELAY");
  if (!text) {
    return kDefault;
  }
  auto delay = util::parse_duration(text);
  if (!delay) {
    fmt::print(stderr,
               "ipfsacc: warning: IPFSACC_PROGRESS_DELAY: {}; using 1s\n",
               delay.error());
    return kDefault;
  }
  return delay->count();
}

} // namespace

void add_progress_flags(CLI::App* cmd, ProgressWhen& when) {
  auto* on = cmd->add_flag_callback(
    "--progress",
    [&when] { when = ProgressWhen::always; },
    "show progress on stderr even when it is not a terminal");
  cmd
    ->add_flag_callback(
      "--no-progress",
      [&when] { when = ProgressWhen::never; },
      "show no progress, even on a terminal")
    ->excludes(on);
}

std::unique_ptr<util::Progress> make_progress(ProgressWhen when,
                                              DataOnStdout data) {
  bool draw = when == ProgressWhen::always ||
              (when == ProgressWhen::terminal && ::isatty(STDERR_FILENO) == 1 &&
               (data == DataOnStdout::no || ::isatty(STDOUT_FILENO) != 1));
  util::ProgressTiming timing;
  if (draw) {
    timing.delay_ms = progress_delay_ms();
  }
  return std::make_unique<util::Progress>(util::fd_output(STDERR_FILENO),
                                          timing,
                                          draw ? util::ProgressDraw::yes
                                               : util::ProgressDraw::no);
}

} // namespace ipfsacc::app
