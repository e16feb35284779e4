#include "util/fs.hpp"

#include "util/linking.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/kcmp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ipfsacc::util {

std::expected<std::string, std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(
      fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  std::string data;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return std::unexpected(
        fmt::format("cannot read {}: {}", path.string(), std::strerror(saved)));
    }
    if (n == 0) {
      break;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

bool write_all(int fd, const void* data, size_t size) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

namespace {

// The name of the temporary file write_file_atomic() renames over path.
std::string atomic_tmp_name(const fs::path& path) {
  return path.string() + fmt::format(".tmp.{}", ::getpid());
}

// Writes data to fd (mode applied, synced). Returns false with errno set.
bool write_synced(int fd, std::string_view data, mode_t mode) {
  return ::fchmod(fd, mode) == 0 && write_all(fd, data.data(), data.size()) &&
         ::fsync(fd) == 0;
}

// Writes data to an unnamed file in path's directory and gives it the
// temporary name only once it is complete. Returns false when the file
// system cannot make unnamed files (the caller then writes a named one);
// a message when the write failed.
std::expected<bool, std::string> write_unnamed(const fs::path& path,
                                               const std::string& tmp,
                                               std::string_view data,
                                               mode_t mode) {
  auto dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) {
    return false;
  }
  auto fail = [&](std::string_view what) {
    std::string message = fmt::format(
      "cannot {} {}: {}", what, path.string(), std::strerror(errno));
    ::close(fd);
    return std::unexpected(message);
  };
  if (!write_synced(fd, data, mode)) {
    return fail("write");
  }
  // linkat() does not replace: a leftover of an earlier process of the same
  // id goes first.
  ::unlink(tmp.c_str());
  auto self = fmt::format("/proc/self/fd/{}", fd);
  if (::linkat(
        AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) !=
      0) {
    if (errno == ENOENT || errno == EPERM || errno == EXDEV) {
      ::close(fd);
      return false; // No /proc: write a named file.
    }
    return fail("create");
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(
      fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return true;
}

} // namespace

std::expected<void, std::string> write_file_atomic(const fs::path& path,
                                                   std::string_view data,
                                                   mode_t mode) {
  std::string tmp = atomic_tmp_name(path);
  auto unnamed = write_unnamed(path, tmp, data, mode);
  if (!unnamed) {
    return std::unexpected(unnamed.error());
  }
  if (*unnamed) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      std::string message = fmt::format(
        "cannot replace {}: {}", path.string(), std::strerror(errno));
      ::unlink(tmp.c_str());
      return std::unexpected(message);
    }
    return {};
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  auto fail = [&](std::string_view what) {
    std::string message = fmt::format(
      "cannot {} {}: {}", what, path.string(), std::strerror(errno));
    if (fd >= 0) {
      ::close(fd);
    }
    ::unlink(tmp.c_str());
    return std::unexpected(message);
  };
  if (fd < 0) {
    return fail("create");
  }
  if (::fchmod(fd, mode) != 0 || !write_all(fd, data.data(), data.size())) {
    return fail("write");
  }
  if (::fsync(fd) != 0) {
    return fail("sync");
  }
  if (::close(fd) != 0) {
    fd = -1;
    return fail("write");
  }
  fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("replace");
  }
  return {};
}

std::expected<void, std::string> make_dirs(const fs::path& dir, mode_t mode) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return std::unexpected(
        fmt::format("{} exists and is not a directory", dir.string()));
    }
    return {};
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    auto parent = make_dirs(dir.parent_path(), mode);
    if (!parent) {
      return parent;
    }
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return std::unexpected(
      fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
  }
  return {};
}

fs::path home_dir() {
  const char* home = std::getenv("HOME");
  return home && *home ? fs::path(home) : fs::path("/");
}

std::string expand_path(std::string_view path) {
  std::string out;
  size_t i = 0;
  if (path.starts_with("~/")) {
    out = home_dir().string();
    i = 1;
  }
  while (i < path.size()) {
    if (path[i] != '$') {
      out += path[i++];
      continue;
    }
    size_t start = i + 1;
    bool braced = start < path.size() && path[start] == '{';
    if (braced) {
      ++start;
    }
    size_t end = start;
    while (end < path.size() &&
           (std::isalnum(static_cast<unsigned char>(path[end])) ||
            path[end] == '_')) {
      ++end;
    }
    std::string name(path.substr(start, end - start));
    const char* value = std::getenv(name.c_str());
    if (!value || !*value) {
      return {};
    }
    out += value;
    i = braced && end < path.size() ? end + 1 : end;
  }
  return out;
}

fs::path self_exe() {
  if (const auto& front = handing_front(); !front.empty()) {
    return front;
  }
  return running_exe();
}

fs::path running_exe() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : path;
}

std::string find_executable(std::string_view name,
                            std::string_view search_path,
                            const fs::path& skip) {
  if (name.find('/') != std::string_view::npos) {
    // As a shell does: a path is run as given; exec reports why it can't.
    std::string path(name);
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? path : std::string();
  }
  struct stat skip_st {};
  bool have_skip = !skip.empty() && ::stat(skip.c_str(), &skip_st) == 0;
  size_t pos = 0;
  while (pos <= search_path.size()) {
    size_t colon = search_path.find(':', pos);
    if (colon == std::string_view::npos) {
      colon = search_path.size();
    }
    std::string_view dir = search_path.substr(pos, colon - pos);
    pos = colon + 1;
    std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::access(candidate.c_str(), X_OK) != 0) {
      continue;
    }
    if (have_skip && st.st_dev == skip_st.st_dev &&
        st.st_ino == skip_st.st_ino) {
      continue;
    }
    return candidate;
  }
  return {};
}

bool same_open_file(int a, int b) {
  pid_t self = ::getpid();
  long same = ::syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
  if (same == 0 || same == 1 || same == 2) {
    return same == 0;
  }
  struct stat sa;
  struct stat sb;
  if (::fstat(a, &sa) != 0 || ::fstat(b, &sb) != 0) {
    return false;
  }
  int fa = ::fcntl(a, F_GETFL);
  int fb = ::fcntl(b, F_GETFL);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && fa >= 0 &&
         fa == fb;
}

void set_close_on_exec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0 && !(flags & FD_CLOEXEC)) {
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

int next_fd() {
  for (int fd : { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO }) {
    int probe = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (probe >= 0) {
      ::close(probe);
      return probe;
    }
  }
  return 0;
}

void close_on_exec_since(int first, const fs::path& dir) {
  // Four free numbers in a row end the scan (a library that closed a file
  // it opened on the way leaves a gap).
  constexpr int kFreeRun = 4;
  std::string prefix;
  for (int fd = std::max(first, 0), free = 0; free < kFreeRun; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) {
      ++free;
      continue;
    }
    free = 0;
    if (flags & FD_CLOEXEC) {
      continue;
    }
    if (prefix.empty()) {
      // The links name files by their real path.
      std::error_code ec;
      auto real = fs::canonical(dir, ec);
      prefix = (ec ? dir : real).string();
      if (!prefix.ends_with('/')) {
        prefix += '/';
      }
    }
    char target[4096];
    auto link = fmt::format("/proc/self/fd/{}", fd);
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n > 0 && std::string_view(target, size_t(n)).starts_with(prefix)) {
      ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

namespace {

// Whether fd is the file name refers to (relative to dir_fd).
bool path_names_fd(int dir_fd, const char* name, int fd) {
  struct stat held;
  struct stat named;
  return ::fstat(fd, &held) == 0 &&
         ::fstatat(dir_fd, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
         held.st_ino == named.st_ino && held.st_dev == named.st_dev;
}

} // namespace

Fd create_held(std::string& path) {
  const std::string pattern = path;
  // A sweeper may remove the file between its creation and our lock; then
  // the lock is on a file that has no name any more, and a new one is made.
  for (int attempt = 0; attempt < 100; ++attempt) {
    path = pattern;
    Fd fd(::mkostemp(path.data(), O_CLOEXEC));
    if (!fd) {
      return {};
    }
    int rc;
    while ((rc = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      int saved = errno;
      ::unlink(path.c_str());
      errno = saved;
      return {};
    }
    if (path_names_fd(AT_FDCWD, path.c_str(), fd.get())) {
      return fd;
    }
  }
  errno = EEXIST;
  return {};
}

Swept sweep_unheld(const fs::path& dir, Sweep mode) {
  Swept swept;
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return swept;
  }
  DIR* d = ::fdopendir(dir_fd);
  if (!d) {
    ::close(dir_fd);
    return swept;
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") {
      continue;
    }
    Fd fd(::openat(
      dir_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
      continue;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      continue; // Not a file, or in use.
    }
    // The name may have gone, or been made again, since it was opened.
    if (!path_names_fd(dir_fd, e->d_name, fd.get())) {
      continue;
    }
    if (mode == Sweep::remove && ::unlinkat(dir_fd, e->d_name, 0) != 0) {
      continue;
    }
    ++swept.files;
    swept.bytes += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(d);
  return swept;
}

} // namespace ipfsacc::util
