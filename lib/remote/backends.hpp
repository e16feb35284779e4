#pragma once

// The built-in engines' factories, for the registry in tier.cpp.

#include "remote/tier.hpp"

namespace ipfsacc::remote {

// redis:// (and rediss://, which fails: hiredis here is built without TLS).
Result<std::unique_ptr<Tier>> make_redis_tier(const Spec& spec);

// ipfs:// and http://…|type=kubo: an IPFS node's RPC API.
Result<std::unique_ptr<Tier>> make_ipfs_tier(const Spec& spec);

} // namespace ipfsacc::remote
