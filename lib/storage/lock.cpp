#include "storage/lock.hpp"

#include "util/trusted_dir.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::storage {

std::optional<KeyLock> KeyLock::acquire(const std::filesystem::path& cache_dir,
                                        const Digest& key,
                                        Wait wait) {
  auto dir = cache_dir / "locks";
  // In a cache shared by a group, every member locks the same files.
  bool shared = util::group_shared_dir(cache_dir);
  ::mkdir(dir.c_str(), shared ? 02770 : 0700);
  auto path = dir / cid_string(key);
  while (true) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return std::nullopt;
    }
    if (shared) {
      ::fchmod(fd, 0660);
    }
    int op = LOCK_EX | (wait == Wait::no ? LOCK_NB : 0);
    int rc;
    while ((rc = ::flock(fd, op)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      ::close(fd);
      return std::nullopt;
    }
    // The holder before us may have removed the file after we opened it;
    // then our lock is on an orphan and we must lock the new file instead.
    struct stat held;
    struct stat named;
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      return KeyLock(fd, path);
    }
    ::close(fd);
  }
}

KeyLock::KeyLock(KeyLock&& other) noexcept
  : fd_(other.fd_)
  , path_(std::move(other.path_)) {
  other.fd_ = -1;
}

KeyLock& KeyLock::operator=(KeyLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

KeyLock::~KeyLock() {
  release();
}

void KeyLock::release() {
  if (fd_ >= 0) {
    // Unlink while still holding the lock: a waiter that then locks the
    // removed file sees the inode change and retries on a fresh one.
    ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
  }
}

util::Swept sweep_leftovers(const std::filesystem::path& cache_dir,
                            util::Sweep mode) {
  auto locks = util::sweep_unheld(cache_dir / "locks", mode);
  auto tmp = util::sweep_unheld(cache_dir / "tmp", mode);
  return { locks.files + tmp.files, locks.bytes + tmp.bytes };
}

} // namespace ipfsacc::storage
