#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <sodium.h>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc {

// A sha2-256 digest. Every key and blob in ipfsacc is one of these, shown as
// a CIDv1 (codec raw, multibase base32 lower): "bafkrei…".
using Digest = std::array<uint8_t, 32>;

// Returns the sha2-256 digest of data (libsodium).
Digest sha256(std::span<const uint8_t> data);
Digest sha256(std::string_view data);

// Incremental sha2-256, for outputs that stream through.
class Sha256 {
public:
  Sha256();
  void update(const void* data, size_t size);
  Digest finish();

private:
  crypto_hash_sha256_state state_;
};

// Returns the CIDv1 text of a digest: "b" + base32(0x01 0x55 0x12 0x20 ‖ d).
std::string cid_string(const Digest& digest);

// Parses a CIDv1 raw sha2-256 text back to its digest; nullopt when the text
// is not such a CID.
std::optional<Digest> parse_cid(std::string_view text);

// The CID of the empty byte string, which is never stored.
const Digest& empty_digest();

// Lowercase hex of bytes.
std::string to_hex(std::span<const uint8_t> bytes);

} // namespace ipfsacc
