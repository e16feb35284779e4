#include "storage/corruption.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::storage {

namespace {

sigjmp_buf* g_fault_jump = nullptr;

void on_fault(int signal) {
  if (g_fault_jump) {
    siglongjmp(*g_fault_jump, 1);
  }
  // A fault outside any guard is not the cache's: die of it as before.
  std::signal(signal, SIG_DFL);
}

// LMDB calls this for a failed assertion, then aborts; inside a guard the
// jump comes first, so the assertion is one more sign of a damaged file.
void on_assert(MDB_env*, const char*) {
  if (g_fault_jump) {
    siglongjmp(*g_fault_jump, 1);
  }
}

} // namespace

FaultGuard::FaultGuard(sigjmp_buf* jump)
  : previous_(g_fault_jump) {
  struct sigaction sa {};
  sa.sa_handler = on_fault;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, &old_segv_);
  sigaction(SIGBUS, &sa, &old_bus_);
  g_fault_jump = jump;
}

FaultGuard::~FaultGuard() {
  g_fault_jump = previous_;
  sigaction(SIGSEGV, &old_segv_, nullptr);
  sigaction(SIGBUS, &old_bus_, nullptr);
}

void catch_assertions(MDB_env* env) {
  // A no-op where LMDB was built without assertions.
  mdb_env_set_assert(env, on_assert);
}

bool is_corruption(int rc) {
  // MDB_INCOMPATIBLE: a table's record says it is something no ipfsacc
  // ever made it (the cache never changes a table's flags).
  return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
         rc == MDB_INCOMPATIBLE;
}

std::expected<fs::path, std::string> set_aside(const fs::path& dir, FileId id) {
  auto data = dir / "data.mdb";
  struct stat st;
  if (::stat(data.c_str(), &st) != 0) {
    return std::unexpected(
      fmt::format("{} is gone: {}", data.string(), std::strerror(errno)));
  }
  if (id.known() && (st.st_dev != id.dev || st.st_ino != id.ino)) {
    // Another process set it aside first, and a fresh cache took its place.
    return std::unexpected(
      fmt::format("{} has been replaced already", data.string()));
  }
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::string base = fmt::format("{}{}", kSetAsidePrefix, stamp);
  // Never over an earlier one; where the file system cannot promise that
  // (no RENAME_NOREPLACE), checked first.
  auto rename_new = [&](const fs::path& target) {
    if (::renameat2(
          AT_FDCWD, data.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) ==
        0) {
      return true;
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return false;
    }
    if (::access(target.c_str(), F_OK) == 0) {
      errno = EEXIST;
      return false;
    }
    return ::rename(data.c_str(), target.c_str()) == 0;
  };
  for (int n = 1;; ++n) {
    auto target = dir / (n == 1 ? base : fmt::format("{}-{}", base, n));
    if (rename_new(target)) {
      // A process that still has the old file open keeps its lock file;
      // a new one must not share that reader table with the fresh file.
      ::unlink((dir / "lock.mdb").c_str());
      return target;
    }
    if (errno != EEXIST || n >= 100) {
      return std::unexpected(fmt::format(
        "cannot rename {}: {}", data.string(), std::strerror(errno)));
    }
  }
}

std::vector<fs::path> set_aside_files(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().starts_with(kSetAsidePrefix)) {
      found.push_back(it->path());
    }
  }
  // The time stamp sorts as text.
  std::sort(found.begin(), found.end());
  return found;
}

} // namespace ipfsacc::storage
