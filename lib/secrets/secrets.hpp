#pragma once

#include "secrets/secure_buffer.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::secrets {

// Limits that keep a mistaken paste of a whole file out of the store.
constexpr size_t kMaxNameSize = 64;
constexpr size_t kMaxValueSize = 64 * 1024;

// The name a secret is stored under: google_api_key is another name for
// gemini_api_key (Google's tools read either variable); every other name is
// its own.
std::string_view canonical_name(std::string_view name);

// Returns why name cannot name a secret: names are [a-z0-9_]+, at most
// kMaxNameSize characters.
std::expected<void, std::string> check_name(std::string_view name);

struct SecretInfo {
  std::string name;
  int64_t set_ms = 0; // when it was set, ms since the epoch
};

// The decrypted contents of a store: names, when each was set, and values
// held in SecureBuffers. Names are canonical (see canonical_name).
class Secrets {
public:
  // The value of name (or of its canonical name), viewing secure memory
  // owned by this object; nullopt when there is none.
  std::optional<std::string_view> get(std::string_view name) const;

  // Names and times, sorted by name. Never values.
  std::vector<SecretInfo> list() const;

  // Sets name to value (replacing an existing one). Returns a message when
  // the name is invalid, the value empty, too large or holding a NUL byte
  // (it could not be passed in an environment variable), or memory short.
  std::expected<void, std::string> set(std::string_view name,
                                       std::string_view value,
                                       int64_t set_ms);

  // Removes name. Returns false when there was no such secret.
  bool remove(std::string_view name);

  size_t size() const { return records_.size(); }

  // The plaintext that is encrypted into a file: a format byte, then per
  // secret a length-prefixed name, the time it was set and a
  // length-prefixed value. Returns a message when memory is short.
  std::expected<SecureBuffer, std::string> serialize() const;

  // Parses what serialize() wrote. Returns a message when it is malformed.
  static std::expected<Secrets, std::string> parse(
    std::span<const uint8_t> plain);

private:
  struct Record {
    std::string name;
    int64_t set_ms = 0;
    SecureBuffer value;
  };
  std::vector<Record> records_; // sorted by name
};

} // namespace ipfsacc::secrets
