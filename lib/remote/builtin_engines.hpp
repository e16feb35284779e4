#pragma once

#include "remote/tier.hpp"

#include <vector>

namespace ipfsacc::remote {

// The engines built into ipfsacc, for the registry in tier.cpp.
std::vector<Engine> builtin_engines();

// Each engine's own file defines its engine.
Engine redis_engine(); // redis:// and rediss://
Engine ipfs_engine();  // ipfs:// and http://…|type=kubo
Engine s3_engine();    // s3://BUCKET[/PREFIX]

} // namespace ipfsacc::remote
