#include "core/config_edit.hpp"

#include "util/text.hpp"

#include <fmt/format.h>

namespace ipfsacc {

using util::trim;

namespace {

// The key a config line sets, or "" for comments, blank and broken lines
// (parse_config_text's reading of a line).
std::string_view key_of(std::string_view line) {
  auto t = trim(line);
  if (t.empty() || t.front() == '#') {
    return {};
  }
  auto eq = t.find('=');
  return eq == std::string_view::npos ? std::string_view()
                                      : trim(t.substr(0, eq));
}

} // namespace

std::string edit_config_text(std::string_view text,
                             std::string_view key,
                             std::optional<std::string_view> value,
                             bool* changed) {
  std::string out;
  bool found = false;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    std::string_view newline = end == std::string_view::npos ? "" : "\n";
    text =
      end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (key_of(line) != key) {
      out += line;
      out += newline;
      continue;
    }
    if (value && !found) {
      out += fmt::format("{} = {}\n", key, *value);
    }
    found = true;
  }
  if (value && !found) {
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
    out += fmt::format("{} = {}\n", key, *value);
  }
  if (changed) {
    *changed = found || value;
  }
  return out;
}

} // namespace ipfsacc
