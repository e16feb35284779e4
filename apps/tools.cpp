// Helpers shared by `shell-init` and `shims`: which wrapped tools this
// machine has, and how a shell should call ipfsacc.

#include "commands.hpp"
#include "core/call.hpp"
#include "core/policy.hpp"
#include "util/fs.hpp"

#include <cstdlib>
#include <sys/stat.h>

namespace ipfsacc::app {

namespace {

// Names that are safe as a file name, an alias and a function name in bash,
// zsh and fish without quoting.
bool is_safe_name(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.front() == '.') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '+';
  });
}

} // namespace

std::vector<ToolBinary> tool_binaries(const Config& config) {
  std::vector<ToolBinary> tools;
  for (const auto& name : known_binaries()) {
    ToolBinary tool;
    tool.name = name;
    tool.safe_name = is_safe_name(name);
    tool.excluded = config.excludes(name);
    if (!tool.excluded) {
      // `exclude = hf` leaves out huggingface-cli too: same rule file.
      if (auto policy = find_policy(name); policy && *policy) {
        tool.excluded = config.excludes((*policy)->tool);
      }
    }
    if (tool.safe_name) {
      tool.path = find_tool(name);
    }
    tools.push_back(std::move(tool));
  }
  return tools;
}

std::string ipfsacc_command() {
  auto self = util::self_exe();
  const char* path = std::getenv("PATH");
  auto found = util::find_executable("ipfsacc", path ? path : "");
  struct stat a;
  struct stat b;
  if (!found.empty() && ::stat(found.c_str(), &a) == 0 &&
      ::stat(self.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    return "ipfsacc";
  }
  return self.string();
}

} // namespace ipfsacc::app
