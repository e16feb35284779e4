#pragma once

#include <cstdint>
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
// fsync, rename. The file gets the given mode. Where the file system allows
// it the bytes are written to an unnamed file (O_TMPFILE) that gets a name
// only just before the rename, so a process killed while writing leaves
// nothing behind. Returns a message on failure.
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

// ipfsacc as users run it: the static front that handed this call to its
// dynamic twin (util/linking.hpp), else running_exe(). Shims point at it, and
// a tool's search skips it.
fs::path self_exe();

// The running executable, symlinks resolved (/proc/self/exe), or "" when the
// kernel does not say.
fs::path running_exe();

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

// An open descriptor, closed when this goes (move-only).
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd)
    : fd_(fd) {}
  Fd(Fd&& other) noexcept
    : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up the descriptor without closing it.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor, if any.
  void reset();

private:
  int fd_ = -1;
};

// Creates a new file from path, a mkstemp template ending in "XXXXXX" that
// is replaced by the file's name, and takes an exclusive flock on it. The
// lock lasts as long as the returned descriptor (close-on-exec) stays open,
// and tells sweep_unheld() that a live process still uses the file. Returns
// an empty Fd with errno set when the file cannot be made.
Fd create_held(std::string& path);

// What sweep_unheld() found.
struct Swept {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

enum class Sweep { count, remove };

// The files directly in dir that no process holds an flock on: leftovers of
// processes that died (kill -9) while they used them, when every user of dir
// holds such a lock (create_held, storage::KeyLock). With Sweep::remove they
// are removed, each while locked, so that a process that locks the same name
// afterwards sees that its file went and makes a new one. A missing dir is
// empty.
Swept sweep_unheld(const fs::path& dir, Sweep mode);

} // namespace ipfsacc::util
