#include "sdk/sdk.hpp"

namespace ipfsacc::sdk {

bool gh_identical(const Invocation&) {
  return false;
}

Answer gh_run(const Invocation&) {
  return std::unexpected(Unsupported{
    "gh is not installed and this call has no HTTP path yet; install gh "
    "(https://cli.github.com)" });
}

} // namespace ipfsacc::sdk
