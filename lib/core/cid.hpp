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

// Returns the sha2-256 digest of data: libsodium's, or on CPUs with the SHA
// extensions the same function computed with them (the hit path hashes every
// byte it serves, and this makes that cheaper than copying them).
Digest sha256(std::span<const uint8_t> data);
Digest sha256(std::string_view data);

// Incremental sha2-256, for outputs that stream through.
class Sha256 {
public:
  Sha256();
  void update(const void* data, size_t size);
  Digest finish();

  // Forces libsodium's implementation (for tests that compare the two).
  static void use_hardware(bool enabled);

private:
  bool hardware_;
  crypto_hash_sha256_state sodium_;
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

// Multibase base32 (lower case, no padding, "b" prefix) of any bytes.
std::string multibase32(std::span<const uint8_t> bytes);

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
