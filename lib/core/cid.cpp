#include "core/cid.hpp"

#include "util/sha256_hw.hpp"

#include <cstring>

namespace ipfsacc {

namespace {

// The multiformat prefix of a CIDv1 with codec raw and a sha2-256 multihash.
constexpr uint8_t kCidPrefix[] = { 0x01, 0x55, 0x12, 0x20 };
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";

bool g_hardware_allowed = true;

} // namespace

void Sha256::use_hardware(bool enabled) {
  g_hardware_allowed = enabled;
}

Digest sha256(std::span<const uint8_t> data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

Digest sha256(std::string_view data) {
  return sha256(
    std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Sha256::Sha256()
  : hardware_(g_hardware_allowed && util::sha256_hw_available()) {
  if (!hardware_) {
    crypto_hash_sha256_init(&sodium_);
    return;
  }
  static const uint32_t initial[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                       0xa54ff53a, 0x510e527f, 0x9b05688c,
                                       0x1f83d9ab, 0x5be0cd19 };
  std::memcpy(state_, initial, sizeof(state_));
}

void Sha256::update(const void* data, size_t size) {
  if (size == 0) {
    return; // data may be null
  }
  auto p = static_cast<const uint8_t*>(data);
  if (!hardware_) {
    crypto_hash_sha256_update(&sodium_, p, size);
    return;
  }
  total_ += size;
  if (buffered_ > 0) {
    size_t take = std::min(size, sizeof(buffer_) - buffered_);
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < sizeof(buffer_)) {
      return;
    }
    util::sha256_hw_blocks(state_, buffer_, 1);
    buffered_ = 0;
  }
  if (size >= 64) {
    util::sha256_hw_blocks(state_, p, size / 64);
    p += size / 64 * 64;
    size %= 64;
  }
  std::memcpy(buffer_, p, size);
  buffered_ = size;
}

Digest Sha256::finish() {
  Digest digest;
  if (!hardware_) {
    crypto_hash_sha256_final(&sodium_, digest.data());
    return digest;
  }
  uint64_t bits = total_ * 8;
  uint8_t pad[72] = { 0x80 };
  size_t pad_size = (buffered_ < 56 ? 56 : 120) - buffered_;
  for (int i = 0; i < 8; ++i) {
    pad[pad_size + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  }
  uint64_t saved = total_;
  update(pad, pad_size + 8);
  total_ = saved;
  for (int i = 0; i < 8; ++i) {
    digest[4 * i] = static_cast<uint8_t>(state_[i] >> 24);
    digest[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
    digest[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
    digest[4 * i + 3] = static_cast<uint8_t>(state_[i]);
  }
  return digest;
}

std::string multibase32(std::span<const uint8_t> bytes) {
  std::string out = "b";
  out.reserve(1 + (bytes.size() * 8 + 4) / 5);
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

std::string cid_string(const Digest& digest) {
  uint8_t bytes[sizeof(kCidPrefix) + 32];
  std::copy(std::begin(kCidPrefix), std::end(kCidPrefix), bytes);
  std::copy(digest.begin(), digest.end(), bytes + sizeof(kCidPrefix));
  return multibase32(bytes);
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
