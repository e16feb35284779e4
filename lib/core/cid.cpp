#include "core/cid.hpp"

namespace ipfsacc {

namespace {

// The multiformat prefix of a CIDv1 with codec raw and a sha2-256 multihash.
constexpr uint8_t kCidPrefix[] = {0x01, 0x55, 0x12, 0x20};
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";

} // namespace

Digest sha256(std::span<const uint8_t> data) {
  Digest digest;
  crypto_hash_sha256(digest.data(), data.data(), data.size());
  return digest;
}

Digest sha256(std::string_view data) {
  return sha256(std::span(reinterpret_cast<const uint8_t*>(data.data()),
                          data.size()));
}

Sha256::Sha256() { crypto_hash_sha256_init(&state_); }

void Sha256::update(const void* data, size_t size) {
  crypto_hash_sha256_update(
    &state_, static_cast<const unsigned char*>(data), size);
}

Digest Sha256::finish() {
  Digest digest;
  crypto_hash_sha256_final(&state_, digest.data());
  return digest;
}

std::string cid_string(const Digest& digest) {
  uint8_t bytes[sizeof(kCidPrefix) + 32];
  std::copy(std::begin(kCidPrefix), std::end(kCidPrefix), bytes);
  std::copy(digest.begin(), digest.end(), bytes + sizeof(kCidPrefix));
  std::string out = "b";
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += kBase32[(buffer << (5 - bits)) & 31];
  }
  return out;
}

std::optional<Digest> parse_cid(std::string_view text) {
  if (text.size() != 59 || text[0] != 'b') {
    return std::nullopt;
  }
  uint8_t bytes[36];
  size_t n = 0;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text.substr(1)) {
    int value;
    if (c >= 'a' && c <= 'z') {
      value = c - 'a';
    } else if (c >= '2' && c <= '7') {
      value = c - '2' + 26;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      if (n == sizeof(bytes)) {
        return std::nullopt;
      }
      bytes[n++] = static_cast<uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  if (n != sizeof(bytes) ||
      !std::equal(std::begin(kCidPrefix), std::end(kCidPrefix), bytes)) {
    return std::nullopt;
  }
  Digest digest;
  std::copy(bytes + 4, bytes + 36, digest.begin());
  return digest;
}

const Digest& empty_digest() {
  static const Digest digest = sha256(std::string_view());
  return digest;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

} // namespace ipfsacc
