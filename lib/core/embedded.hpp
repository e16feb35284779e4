#pragma once

#include <span>
#include <string_view>

namespace ipfsacc {

// A file compiled into the binary.
struct EmbeddedFile {
  std::string_view name;
  std::string_view text;
};

// The rule files from wrappers/, generated at build time.
std::span<const EmbeddedFile> embedded_wrappers();

} // namespace ipfsacc
