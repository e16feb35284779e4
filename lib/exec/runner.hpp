#pragma once

#include "core/cid.hpp"
#include "exec/recorder.hpp"
#include "storage/entry.hpp"
#include "util/fs.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::exec {

namespace fs = std::filesystem;

struct Recording {
  RecordedStream out;
  RecordedStream err;
  std::vector<storage::Segment> segments;
  // False when something was not recorded (the reader of our stdout went
  // away, or a spill file could not be written): such a run is not cached.
  bool complete = true;
  // Removes the spill files (those not moved into the cache).
  void remove_files();
  Recording() = default;
  Recording(Recording&&) = default;
  Recording& operator=(Recording&&) = default;
  ~Recording() { remove_files(); }
};

// Where the child's stdin comes from.
struct StdinData {
  std::string memory; // fed to the child through a pipe
  fs::path file;      // or this file, opened as the child's stdin
};

struct RunOptions {
  std::string path;              // the executable
  std::vector<std::string> argv; // argv[0] is the name the tool sees
  // "NAME=value" for the child only (secrets: the copies made to spawn the
  // child are wiped once it runs).
  std::vector<std::string> extra_env;
  // Run the child on a pseudo-terminal for stdout (and stderr when ours is
  // a terminal too), so it formats as it would for the user.
  bool stdout_pty = false;
  bool stderr_pty = false;
  // stdout and stderr are one file (`2>&1`) or one terminal (see
  // TerminalMode::merged): the child gets one pipe, or one pty when
  // stdout_pty, for both, as it would get one file or terminal, and
  // everything is recorded as stdout, in the order it was written.
  bool merged = false;
  const StdinData* stdin_data = nullptr; // nullptr: inherit our stdin
  bool record = true;
  // False: capture only, nothing is copied to our stdout/stderr.
  bool forward = true;
  // True: the child gets our stdin, stdout and stderr as they are (a write
  // that may be interactive); nothing is captured, signals still forwarded.
  bool inherit_stdio = false;
  fs::path spill_dir; // where large outputs are spilled
};

struct RunResult {
  int wait_status = 0;
  bool started = false;
  int spawn_errno = 0;
  int64_t duration_ms = 0;
  Recording recording;

  bool exited_ok() const;
  // The code a shell would report: the exit status, or 128+N for signal N.
  int shell_code() const;
};

// Runs the tool, streaming its stdout and stderr to ours as it writes them
// and recording them. SIGINT, SIGTERM and SIGHUP sent to ipfsacc are
// forwarded to the child.
RunResult run(const RunOptions& options);

// Replaces this process with the tool (for calls that are not cached), with
// our environment plus extra_env ("NAME=value", replacing the same names).
// Returns only on failure, with errno set.
void exec_tool(const std::string& path,
               const std::vector<std::string>& argv,
               const std::vector<std::string>& extra_env = {});

// Exits the way the child did: the same exit status, or the same signal
// (re-raised without a core dump).
[[noreturn]] void exit_like(int wait_status);

// Prints a shell-like message for a failed spawn and returns 126 or 127.
int report_spawn_failure(std::string_view name, int error);

} // namespace ipfsacc::exec
