#pragma once

#include "core/cid.hpp"
#include "util/fs.hpp"

#include <filesystem>
#include <optional>

namespace ipfsacc::storage {

// An exclusive lock on one request key, shared by every process using the
// cache directory: the single-flight that makes identical concurrent misses
// run the tool once. Released (and its file removed) on destruction; the
// kernel releases it if the process dies.
class KeyLock {
public:
  enum class Wait { no, yes };

  // Takes the lock. With Wait::no returns nullopt at once when another
  // process holds it; with Wait::yes blocks until it is free. Also nullopt
  // when the lock file cannot be created (a read-only cache).
  static std::optional<KeyLock> acquire(const std::filesystem::path& cache_dir,
                                        const Digest& key,
                                        Wait wait);

  KeyLock(KeyLock&& other) noexcept;
  KeyLock& operator=(KeyLock&& other) noexcept;
  ~KeyLock();

private:
  void release();
  KeyLock(int fd, std::filesystem::path path)
    : fd_(fd)
    , path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

// The files that processes which died (kill -9) left in the cache directory:
// lock files of keys nobody holds (locks/) and spill files nobody uses
// (tmp/). Counted, or removed (each under its lock, so a live process never
// loses its file). Returns how many files and bytes there were.
util::Swept sweep_leftovers(const std::filesystem::path& cache_dir,
                            util::Sweep mode);

} // namespace ipfsacc::storage
