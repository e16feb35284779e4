#include "stats/stats.hpp"

#include "storage/store.hpp"

#include <fmt/format.h>

namespace ipfsacc {

namespace {

const StatisticInfo kStatistics[] = {
  { Statistic::hits, "hits", "answered from the cache" },
  { Statistic::misses, "misses", "ran the tool and stored the answer" },
  { Statistic::bypasses,
    "bypasses",
    "passed straight through (not cacheable)" },
  { Statistic::errors,
    "errors",
    "cache errors (corrupt entries or blobs, I/O)" },
  { Statistic::evictions,
    "evictions",
    "entries evicted to stay under max_size" },
  { Statistic::time_saved_ms,
    "time_saved_ms",
    "time the hits would have taken to run" },
  { Statistic::stores, "stores", "entries written" },
  { Statistic::uncached_failures,
    "uncached_failures",
    "misses whose failed run was not cached" },
  { Statistic::invalidated, "invalidated", "entries dropped by writes" },
  { Statistic::offline_misses,
    "offline_misses",
    "--offline calls with nothing cached" },
  { Statistic::waited,
    "waited",
    "hits that waited for an identical call in flight" },
  { Statistic::stale_hits,
    "stale_hits",
    "hits served stale while a fresh answer was fetched" },
  { Statistic::input_tokens_saved,
    "input_tokens_saved",
    "LLM input tokens the hits did not spend" },
  { Statistic::output_tokens_saved,
    "output_tokens_saved",
    "LLM output tokens the hits did not spend" },
  { Statistic::cost_saved_micro_usd,
    "cost_saved_micro_usd",
    "estimated cost of the tokens saved, in millionths of a dollar" },
};

} // namespace

std::span<const StatisticInfo> statistics() {
  return kStatistics;
}

std::string_view statistic_name(Statistic s) {
  return kStatistics[static_cast<size_t>(s)].name;
}

void StatsDelta::add(Statistic s,
                     std::string_view tool,
                     std::string_view operation,
                     int64_t n) {
  auto name = statistic_name(s);
  deltas_[std::string(name)] += n;
  if (!tool.empty()) {
    deltas_[fmt::format("{}@{}", name, tool)] += n;
    if (!operation.empty()) {
      deltas_[fmt::format("{}@{}/{}", name, tool, operation)] += n;
    }
  }
}

void StatsDelta::write_to(storage::StoreWriter& writer) const {
  for (const auto& [key, delta] : deltas_) {
    writer.add_counter(key, delta);
  }
}

} // namespace ipfsacc
