#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc::util {

// Appends the standard base64 (RFC 4648, with padding) of bytes to out.
// Table-driven: several times faster than libsodium's constant-time coder,
// which export and import do not need (they handle no secrets).
void base64_append(std::string& out, std::span<const uint8_t> bytes);

// Decodes standard padded base64 into out (replacing its contents). Returns
// false when text is not such base64 (bad character, length or padding).
bool base64_decode(std::string_view text, std::string& out);

} // namespace ipfsacc::util
