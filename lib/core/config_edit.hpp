#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc {

// Returns the config file text with key set to value (`ipfsacc config set`):
// the first line that sets key is rewritten in place and any later ones are
// dropped; when no line sets it, `key = value` is appended. Comments, blank
// lines, other keys and their order are kept byte for byte. With value
// nullopt (`ipfsacc config unset`), every line that sets key is dropped.
// *changed (when given) says whether any line was found or written.
std::string edit_config_text(std::string_view text,
                             std::string_view key,
                             std::optional<std::string_view> value,
                             bool* changed = nullptr);

} // namespace ipfsacc
