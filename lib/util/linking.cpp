#include "util/linking.hpp"

#include <fmt/format.h>
#include <sys/auxv.h>

namespace ipfsacc::util {

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
                     "cannot run {}'s threads; {} needs the ipfsacc package "
                     "or a build without IPFSACC_STATIC",
                     library,
                     needed_for);
}

} // namespace ipfsacc::util
