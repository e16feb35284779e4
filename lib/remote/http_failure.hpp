#pragma once

// What a failed HTTP request to a remote is to the remote tiers that speak
// HTTP (IPFS, S3): a timeout, an answer refused for its size, or an error.

#include "http/http.hpp"
#include "remote/tier.hpp"

namespace ipfsacc::remote {

inline Failure http_failure(const http::Error& error) {
  auto kind = error.timeout     ? Failure::Kind::timeout
              : error.too_large ? Failure::Kind::rejected
                                : Failure::Kind::error;
  return Failure{ kind, error.message };
}

} // namespace ipfsacc::remote
