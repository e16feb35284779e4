#pragma once

// The proxy's counters since it started, per route, in the Prometheus text
// exposition format (version 0.0.4) for `GET /metrics`. The store's
// statistics (`ipfsacc stats`) are the lasting record; these are the live
// view a scraper turns into rates. packaging/grafana/ipfsacc-serve.json
// queries these names: a name changed here is changed there.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::serve {

// How a request was answered, as its x-ipfsacc-cache header says.
enum class Served { hit, miss, bypass };

// Seconds an upstream took, in the buckets of the histogram.
inline constexpr std::array<double, 11> kUpstreamBuckets = {
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120
};

// The metric names, as exposed (without a histogram's _bucket/_sum/_count).
inline constexpr std::string_view kMetricNames[] = {
  "ipfsacc_serve_requests_total",     "ipfsacc_serve_upstream_errors_total",
  "ipfsacc_serve_bytes_total",        "ipfsacc_serve_upstream_seconds",
  "ipfsacc_serve_tokens_saved_total",
};

// Thread-safe: every connection's thread counts, behind one mutex held for
// a few additions (nothing waits on the network under it).
class Metrics {
public:
  // Every route is shown from the start, at zero, so that a rate has a
  // first sample before the route's first request.
  Metrics();

  // One request answered; a hit's bytes came from the cache.
  void served(std::string_view route, Served how, uint64_t cache_bytes = 0);
  // One upstream transfer ended after seconds, with bytes of body received;
  // failed: it gave no whole answer or answered 5xx.
  void upstream(std::string_view route,
                double seconds,
                uint64_t bytes,
                bool failed);
  // The tokens a hit did not spend, as its stored answer's usage says.
  void tokens_saved(std::string_view route, uint64_t input, uint64_t output);

  // Every counter in the text exposition format.
  std::string exposition();

private:
  struct Route {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t bypasses = 0;
    uint64_t upstream_errors = 0;
    uint64_t cache_bytes = 0;
    uint64_t upstream_bytes = 0;
    std::array<uint64_t, kUpstreamBuckets.size()> buckets{};
    uint64_t upstream_count = 0;
    double upstream_seconds = 0;
    uint64_t input_tokens = 0;
    uint64_t output_tokens = 0;
  };
  Route& route(std::string_view name); // mutex held

  std::mutex mutex_;
  std::map<std::string, Route, std::less<>> routes_;
};

} // namespace ipfsacc::serve
