#pragma once
// The hits of the cache not yet written into it. A hit appends one record
// to `hits.log` beside the LMDB data file (one write(2), under a shared
// flock) instead of opening a write transaction: its entry's new hit count
// and last use, and the statistics the call counted. Every write
// transaction first takes what the log holds and applies it (Store::write),
// so the
// entries, the LRU order eviction walks and the statistics are up to date
// wherever they are written; readers that show them (stats, list, show,
// export) have the store fold the log when they open it.
//
// A record is framed (magic, length, checksum): a torn or damaged record is
// skipped, never applied, and the next good one is found again.

#include "core/cid.hpp"
#include "util/fs.hpp"
#include "util/trusted_dir.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipfsacc::storage {

namespace fs = std::filesystem;

// The log's name in the cache directory.
constexpr std::string_view kHitLogName = "hits.log";

// Past this size the process that appended folds the log itself (a cache
// that only ever hits would otherwise grow it without end).
constexpr uint64_t kHitLogFoldAt = 1 << 20;

struct HitRecord {
  Digest key{};
  int64_t now_ms = 0;
  // Statistics counters (full keys, as StatsDelta writes them) and deltas.
  std::vector<std::pair<std::string, int64_t>> counters;
};

// The bytes of one record, framed.
std::string encode_hit(const HitRecord& record);

// The good records in bytes, in order; damaged ones are skipped.
std::vector<HitRecord> decode_hits(std::string_view bytes);

enum class Appended {
  yes,
  // Appended, and the log is now over kHitLogFoldAt: fold it.
  fold_due,
  // Not appended (no room, no permission, a record too large): write the
  // hit in a transaction instead.
  no,
};

// Appends record to the log in dir (created with the cache's sharing).
Appended append_hit(const fs::path& dir,
                    util::Shared shared,
                    const HitRecord& record);

// The hits logged so far, taken out of the log for one write transaction:
// read and the log emptied under its exclusive lock, held only that long,
// so that hits go on being logged while the transaction runs. Should the
// transaction not be committed, restore() appends them again. Without a
// log (or when it cannot be opened) it holds nothing.
class HitLogFold {
public:
  HitLogFold(const fs::path& dir, util::Shared shared);
  const std::vector<HitRecord>& records() const { return records_; }
  // Puts the records back in the log (their transaction was not committed).
  void restore();

private:
  fs::path dir_;
  util::Shared shared_;
  std::vector<HitRecord> records_;
};

// Whether the log in dir holds anything.
bool hits_pending(const fs::path& dir);

} // namespace ipfsacc::storage
