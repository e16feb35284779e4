#pragma once

// What a request asks of the cache (x-ipfsacc-cache, Cache-Control), and
// the validators of a conditional request that revalidates a stored
// answer: the parts of a proxied request's handling that are read off its
// headers.

#include "serve/answer_store.hpp"
#include "serve/request_key.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ipfsacc::serve {

// The request's cache control: x-ipfsacc-cache, else Cache-Control's
// no-store and no-cache; Cache-Control's max-age with either.
enum class Control { normal, refresh, off, only, no_store };

struct Controls {
  Control mode = Control::normal;
  std::string_view why; // the name of the control, for -v
  std::optional<int64_t> max_age_ms;
};

// The request's controls: x-ipfsacc-cache when it says refresh, off or
// only, else Cache-Control's no-store (off) or no-cache (refresh); a
// Cache-Control max-age=N counts with either.
Controls controls_of(const ProxyRequest& request);

// The headers of the conditional request that revalidates stored
// (If-None-Match from its ETag, If-Modified-Since from its Last-Modified);
// none when it is not a 200 or has neither.
std::vector<http::Header> validators(const AnswerStore::Stored& stored);

} // namespace ipfsacc::serve
