#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace ipfsacc::util {

namespace fs = std::filesystem;

// Returns the file's contents, or a message with the path and the reason.
std::expected<std::string, std::string> read_file(const fs::path& path);

// Writes data to path atomically: a temporary file in the same directory,
// fsync, rename. The file gets the given mode. Returns a message on failure.
std::expected<void, std::string> write_file_atomic(const fs::path& path,
                                                   std::string_view data,
                                                   mode_t mode);

// Creates dir and its parents; the ones it creates get mode.
std::expected<void, std::string> make_dirs(const fs::path& dir, mode_t mode);

// $HOME, or "/" when it is unset.
fs::path home_dir();

// Expands a leading "~/" and $VAR / ${VAR} references. Returns "" when a
// referenced variable is unset, so the caller can skip the source.
std::string expand_path(std::string_view path);

// Finds name on PATH (or the given search path), skipping entries that
// resolve to the file skip (used to avoid finding ourselves). Returns "" when
// not found. A name with a slash is returned as is when it exists, as a shell
// would run it (exec then reports why it cannot: 126).
std::string find_executable(std::string_view name,
                            std::string_view search_path,
                            const fs::path& skip = {});

// The running executable, symlinks resolved (/proc/self/exe), or "" when the
// kernel does not say.
fs::path self_exe();

// Writes all of data to fd, retrying on EINTR and short writes. Returns false
// with errno set on failure.
bool write_all(int fd, const void* data, size_t size);

// Whether descriptors a and b share one open file description (as `2>&1`
// makes stdout and stderr): kcmp where the kernel allows it, else the same
// file (device and inode) opened with the same flags.
bool same_open_file(int a, int b);

// Marks fd close-on-exec, so that no program this process runs inherits it.
void set_close_on_exec(int fd);

// The number the next descriptor this process opens gets: the lowest free
// one (0 when that cannot be found out).
int next_fd();

// Marks close-on-exec the descriptors open on a file under dir that were
// opened since next_fd() returned first, for files a library opened without
// O_CLOEXEC. New descriptors take the lowest free numbers, so only those
// from first up to a run of free numbers are looked at, and only one not
// marked yet is read (/proc/self/fd); one open elsewhere (inherited, for the
// tools) is left as it is.
void close_on_exec_since(int first, const fs::path& dir);

} // namespace ipfsacc::util
