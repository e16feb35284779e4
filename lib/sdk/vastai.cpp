#include "sdk/sdk.hpp"

namespace ipfsacc::sdk {

Answer vastai_run(const Invocation& call) {
  return std::unexpected(unsupported(call, "this call"));
}

} // namespace ipfsacc::sdk
