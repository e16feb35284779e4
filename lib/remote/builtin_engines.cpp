// The one place that names the built-in engines: adding one is its own file
// defining its Engine, its declaration in builtin_engines.hpp and its line
// here.
//
// A list called by the registry, not a registrar object in each engine's
// file: the library is a static archive, and the linker takes from it only
// the members something refers to, so an engine whose file nothing named
// would silently be missing from the binary and the tests (and the order of
// static initializers across files is unspecified besides).

#include "remote/builtin_engines.hpp"

namespace ipfsacc::remote {

std::vector<Engine> builtin_engines() {
  return { redis_engine(), ipfs_engine(), s3_engine() };
}

} // namespace ipfsacc::remote
