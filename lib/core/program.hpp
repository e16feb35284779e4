#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc {

// Files up to this size are identified by their contents; larger ones (the
// binaries) by their metadata, which a stat() gives for the cost of a
// microsecond on every hit where hashing them would cost tens of
// microseconds (coreutils' 40 KB) to milliseconds. Scripts are rarely larger.
inline constexpr size_t kProgramHashLimit = 16 * 1024;

// Which program a command runs: where it is and what it is.
struct ProgramIdentity {
  // The absolute path the command resolved to ("." components dropped,
  // symlinks kept: a program may look for files next to the name it was
  // run by).
  std::string path;
  // What the file is: "sha256 CID mode MODE" (its contents and permission
  // bits) when it is readable and at most kProgramHashLimit bytes (scripts:
  // an edit changes it however fast it follows the last one), otherwise
  // "stat INO SIZE MTIME CTIME" with times in nanoseconds (a reinstall or a
  // chmod changes the inode or the ctime, which nobody can set back).
  std::string what;
};

// Identifies the program at path (as found on PATH, or typed with a slash;
// a relative one is in the working directory). Symlinks are followed for
// what it is. Returns nullopt when the file cannot be stat()ed: it will not
// run either.
std::optional<ProgramIdentity> identify_program(std::string_view path);

} // namespace ipfsacc
