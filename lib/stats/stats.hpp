#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc {

namespace storage {
class StoreWriter;
}

// Counters. The numbers are stable: they never change meaning.
enum class Statistic {
  hits = 0,
  misses = 1,
  bypasses = 2,
  errors = 3,
  evictions = 4,
  time_saved_ms = 5,
  stores = 6,
  uncached_failures = 7,
  invalidated = 8,
  offline_misses = 9,
  waited = 10,
  stale_hits = 11,
  input_tokens_saved = 12,
  output_tokens_saved = 13,
  cost_saved_micro_usd = 14,
};

struct StatisticInfo {
  Statistic id;
  std::string_view name; // the key in JSON and in the store
  std::string_view description;
};

std::span<const StatisticInfo> statistics();
std::string_view statistic_name(Statistic s);

// Increments collected in memory during a call and written once, at the end,
// in the same transaction as the call's other writes. Each increment counts
// for the total, the tool ("hits@gh") and the operation ("hits@gh/pr-list").
class StatsDelta {
public:
  void add(Statistic s,
           std::string_view tool,
           std::string_view operation,
           int64_t n = 1);
  // Adds n to a counter by its full key (per-remote statistics:
  // "remote.hits.redis://cache:6379").
  void add_counter(std::string key, int64_t n) { deltas_[std::move(key)] += n; }
  bool empty() const { return deltas_.empty(); }
  void write_to(storage::StoreWriter& writer) const;
  // The counters' full keys and deltas.
  const std::map<std::string, int64_t>& deltas() const { return deltas_; }

private:
  std::map<std::string, int64_t> deltas_;
};

} // namespace ipfsacc
