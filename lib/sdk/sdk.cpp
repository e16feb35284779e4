#include "sdk/sdk.hpp"

#include <array>

namespace ipfsacc::sdk {

const Tool* find_tool(std::string_view name) {
  static constexpr std::array kTools{
    Tool{ "gh", gh_identical, gh_run },
  };
  for (const auto& tool : kTools) {
    if (tool.name == name) {
      return &tool;
    }
  }
  return nullptr;
}

} // namespace ipfsacc::sdk
