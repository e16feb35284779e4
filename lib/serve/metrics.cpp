#include "serve/metrics.hpp"

#include "serve/routes.hpp"

#include <fmt/format.h>

namespace ipfsacc::serve {

namespace {

// A label value as the format wants it: backslash, quote and newline
// escaped (route names are plain words; this keeps any other name valid).
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A float sample or bound: the shortest text that reads back the same.
std::string number(double v) {
  return fmt::format("{}", v);
}

} // namespace

Metrics::Metrics() {
  for (const auto& r : routes()) {
    routes_.try_emplace(std::string(r.name));
  }
}

Metrics::Route& Metrics::route(std::string_view name) {
  auto it = routes_.find(name);
  if (it == routes_.end()) {
    it = routes_.try_emplace(std::string(name)).first;
  }
  return it->second;
}

void Metrics::served(std::string_view name, Served how, uint64_t cache_bytes) {
  std::lock_guard lock(mutex_);
  auto& r = route(name);
  switch (how) {
    case Served::hit:
      ++r.hits;
      break;
    case Served::miss:
      ++r.misses;
      break;
    case Served::bypass:
      ++r.bypasses;
      break;
  }
  r.cache_bytes += cache_bytes;
}

void Metrics::upstream(std::string_view name,
                       double seconds,
                       uint64_t bytes,
                       bool failed) {
  std::lock_guard lock(mutex_);
  auto& r = route(name);
  r.upstream_bytes += bytes;
  r.upstream_errors += failed ? 1 : 0;
  ++r.upstream_count;
  r.upstream_seconds += seconds;
  for (size_t i = 0; i < kUpstreamBuckets.size(); ++i) {
    if (seconds <= kUpstreamBuckets[i]) {
      ++r.buckets[i];
    }
  }
}

void Metrics::tokens_saved(std::string_view name,
                           uint64_t input,
                           uint64_t output) {
  std::lock_guard lock(mutex_);
  auto& r = route(name);
  r.input_tokens += input;
  r.output_tokens += output;
}

std::string Metrics::exposition() {
  std::map<std::string, Route, std::less<>> routes;
  {
    std::lock_guard lock(mutex_);
    routes = routes_;
  }
  std::string out;
  auto family = [&](std::string_view name,
                    std::string_view type,
                    std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("ipfsacc_serve_requests_total",
         "counter",
         "Requests answered, by route and result (x-ipfsacc-cache).");
  for (const auto& [name, r] : routes) {
    auto n = label(name);
    out += fmt::format(
      "ipfsacc_serve_requests_total{{route=\"{}\",result=\"hit\"}} {}\n",
      n,
      r.hits);
    out += fmt::format(
      "ipfsacc_serve_requests_total{{route=\"{}\",result=\"miss\"}} {}\n",
      n,
      r.misses);
    out += fmt::format(
      "ipfsacc_serve_requests_total{{route=\"{}\",result=\"bypass\"}} {}\n",
      n,
      r.bypasses);
  }
  family("ipfsacc_serve_upstream_errors_total",
         "counter",
         "Upstream transfers that failed or answered 5xx.");
  for (const auto& [name, r] : routes) {
    out +=
      fmt::format("ipfsacc_serve_upstream_errors_total{{route=\"{}\"}} {}\n",
                  label(name),
                  r.upstream_errors);
  }
  family("ipfsacc_serve_bytes_total",
         "counter",
         "Body bytes served, by where they came from (cache or upstream).");
  for (const auto& [name, r] : routes) {
    auto n = label(name);
    out += fmt::format(
      "ipfsacc_serve_bytes_total{{route=\"{}\",source=\"cache\"}} {}\n",
      n,
      r.cache_bytes);
    out += fmt::format(
      "ipfsacc_serve_bytes_total{{route=\"{}\",source=\"upstream\"}} {}\n",
      n,
      r.upstream_bytes);
  }
  family("ipfsacc_serve_upstream_seconds",
         "histogram",
         "Seconds from a request sent upstream to the end of its answer.");
  for (const auto& [name, r] : routes) {
    auto n = label(name);
    for (size_t i = 0; i < kUpstreamBuckets.size(); ++i) {
      out += fmt::format(
        "ipfsacc_serve_upstream_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
        n,
        number(kUpstreamBuckets[i]),
        r.buckets[i]);
    }
    out += fmt::format(
      "ipfsacc_serve_upstream_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
      n,
      r.upstream_count);
    out +=
      fmt::format("ipfsacc_serve_upstream_seconds_sum{{route=\"{}\"}} {}\n",
                  n,
                  number(r.upstream_seconds));
    out +=
      fmt::format("ipfsacc_serve_upstream_seconds_count{{route=\"{}\"}} {}\n",
                  n,
                  r.upstream_count);
  }
  family("ipfsacc_serve_tokens_saved_total",
         "counter",
         "Tokens hits did not spend, as the stored answers' usage says.");
  for (const auto& [name, r] : routes) {
    auto n = label(name);
    out += fmt::format(
      "ipfsacc_serve_tokens_saved_total{{route=\"{}\",kind=\"input\"}} {}\n",
      n,
      r.input_tokens);
    out += fmt::format(
      "ipfsacc_serve_tokens_saved_total{{route=\"{}\",kind=\"output\"}} {}\n",
      n,
      r.output_tokens);
  }
  return out;
}

} // namespace ipfsacc::serve
