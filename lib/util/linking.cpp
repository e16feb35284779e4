#include "util/linking.hpp"

#include "util/fs.hpp"

#include <algorithm>
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

bool hosts_line_is_static(std::string_view nsswitch_conf) {
  std::string_view lines = nsswitch_conf;
  while (!lines.empty()) {
    auto line = lines.substr(0, lines.find('\n'));
    lines.remove_prefix(std::min(lines.size(), line.size() + 1));
    line = line.substr(0, line.find('#'));
    if (!line.starts_with("hosts:")) {
      continue;
    }
    // "hosts: files [NOTFOUND=return] dns": sources, and between brackets
    // what to do after one.
    line.remove_prefix(6);
    std::string_view word;
    bool in_action = false;
    for (size_t i = 0; i <= line.size(); ++i) {
      char c = i < line.size() ? line[i] : ' ';
      bool ends_word = c == ' ' || c == '\t' || c == '[';
      if (!in_action && ends_word && !word.empty()) {
        if (word != "files" && word != "dns") {
          return false;
        }
        word = {};
      }
      if (c == '[' || c == ']') {
        in_action = c == '[';
      } else if (!in_action && !ends_word) {
        word = line.substr(i - word.size(), word.size() + 1);
      }
    }
    return true;
  }
  return true; // no hosts line: glibc's default, dns then files
}

bool static_host_lookup_safe() {
  static const bool safe = [] {
    auto text = read_file("/etc/nsswitch.conf");
    return hosts_line_is_static(text ? *text : "");
  }();
  return safe;
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
