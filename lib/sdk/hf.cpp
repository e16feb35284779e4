#include "sdk/sdk.hpp"

namespace ipfsacc::sdk {

Answer hf_run(const Invocation& call) {
  return std::unexpected(unsupported(call, "this call"));
}

} // namespace ipfsacc::sdk
