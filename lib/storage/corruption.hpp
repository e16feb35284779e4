#pragma once

// What the store does about a corrupt cache: LMDB has no checksums, so a
// damaged data file shows as a fault (a page pointer past the end of a
// truncated file), an assertion inside LMDB, an error code, or a record of
// ours that does not decode. Any of them means nothing in the file can be
// trusted, writes least of all (LMDB copies a damaged page by the sizes it
// holds), so the process stops using the cache for good and the file is set
// aside for the next call to start afresh.

#include <csetjmp>
#include <csignal>
#include <expected>
#include <filesystem>
#include <lmdb.h>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ipfsacc::storage {

namespace fs = std::filesystem;

// While a FaultGuard lives, SIGSEGV, SIGBUS and LMDB's assertions (in an
// environment given to catch_assertions) jump to jump, which the guarding
// function set with sigsetjmp. The process must never touch that LMDB
// environment again afterwards.
class FaultGuard {
public:
  explicit FaultGuard(sigjmp_buf* jump);
  ~FaultGuard();
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;

private:
  sigjmp_buf* previous_;
  struct sigaction old_segv_ {};
  struct sigaction old_bus_ {};
};

// Makes env's failed assertions jump like a fault inside a FaultGuard (LMDB
// aborts the process after an assertion it reports outside one).
void catch_assertions(MDB_env* env);

// Whether an LMDB return code says the data file is damaged (as opposed to
// full, busy or unreadable).
bool is_corruption(int rc);

// Which file the cache's data.mdb was when it was opened: only that one is
// set aside, never one a later call has already started afresh.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool known() const { return ino != 0; }
};

// The name a corrupt data file is kept under in the cache directory.
constexpr std::string_view kSetAsidePrefix = "data.mdb.corrupt-";

// Renames dir/data.mdb to data.mdb.corrupt-TIME (UTC, never replacing an
// earlier one) when it is still the file id names, and removes lock.mdb,
// whose reader table belongs to the old file: the next process then creates
// a fresh cache. Returns the new path; an error message when the file could
// not be renamed (a read-only directory) or is no longer the corrupt one.
std::expected<fs::path, std::string> set_aside(const fs::path& dir, FileId id);

// The corrupt data files set aside in dir, oldest first.
std::vector<fs::path> set_aside_files(const fs::path& dir);

} // namespace ipfsacc::storage
