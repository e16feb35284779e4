#include "util/linking.hpp"

#include "util/fs.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <sys/auxv.h>
#include <unistd.h>

namespace ipfsacc::util {

namespace {

constexpr const char* kFrontVariable = "IPFSACC_FRONT";
constexpr const char* kTwinName = "ipfsacc-dynamic";

} // namespace

bool statically_linked() {
  static const bool is_static = ::getauxval(AT_BASE) == 0;
  return is_static;
}

std::string static_load_refusal(std::string_view library,
                                std::string_view needed_for) {
  if (!statically_linked()) {
    return "";
  }
  return fmt::format("this ipfsacc is linked statically, and a static program "
                     "cannot run {}'s threads; {} needs ipfsacc-dynamic beside "
                     "it (the package installs both) or a build without "
                     "IPFSACC_STATIC",
                     library,
                     needed_for);
}

const std::string& dynamic_twin() {
  static const std::string twin = [] {
    if (!statically_linked()) {
      return std::string();
    }
    auto dir = running_exe().parent_path();
    for (const auto& candidate :
         { dir / kTwinName, dir / "../libexec/ipfsacc" / kTwinName }) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate.string();
      }
    }
    return std::string();
  }();
  return twin;
}

std::string front_marker() {
  return fmt::format("{}={}", kFrontVariable, running_exe().string());
}

const std::string& handing_front() {
  static const std::string front = [] {
    const char* value = std::getenv(kFrontVariable);
    std::string path = value ? value : "";
    ::unsetenv(kFrontVariable);
    return path;
  }();
  return front;
}

} // namespace ipfsacc::util
