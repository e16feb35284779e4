#include "util/base64.hpp"

#include <array>

namespace ipfsacc::util {

namespace {

constexpr char kAlphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) {
    v = kInvalid;
  }
  for (uint8_t i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = i;
  }
  return table;
}

constexpr auto kDecode = make_decode_table();

} // namespace

void base64_append(std::string& out, std::span<const uint8_t> bytes) {
  size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* p = out.data() + start;
  const uint8_t* in = bytes.data();
  size_t n = bytes.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8) |
                 uint32_t(in[i + 2]);
    p[0] = kAlphabet[v >> 18];
    p[1] = kAlphabet[(v >> 12) & 63];
    p[2] = kAlphabet[(v >> 6) & 63];
    p[3] = kAlphabet[v & 63];
    p += 4;
  }
  if (i < n) {
    uint32_t v = uint32_t(in[i]) << 16;
    if (i + 1 < n) {
      v |= uint32_t(in[i + 1]) << 8;
    }
    p[0] = kAlphabet[v >> 18];
    p[1] = kAlphabet[(v >> 12) & 63];
    p[2] = i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    p[3] = '=';
  }
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) {
    return false;
  }
  if (text.empty()) {
    return true;
  }
  size_t padding = text.ends_with("==") ? 2 : (text.ends_with('=') ? 1 : 0);
  out.resize(text.size() / 4 * 3 - padding);
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  size_t full = text.size() / 4 - (padding > 0 ? 1 : 0);
  uint8_t bad = 0;
  for (size_t q = 0; q < full; ++q, in += 4, o += 3) {
    uint8_t a = kDecode[in[0]];
    uint8_t b = kDecode[in[1]];
    uint8_t c = kDecode[in[2]];
    uint8_t d = kDecode[in[3]];
    bad |= a | b | c | d;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) |
                 (uint32_t(c) << 6) | uint32_t(d);
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
  }
  // Every valid value is below 64: an invalid character sets the top bits.
  if (bad & 0xc0) {
    return false;
  }
  if (padding > 0) {
    uint8_t a = kDecode[in[0]];
    uint8_t b = kDecode[in[1]];
    uint8_t c = padding == 1 ? kDecode[in[2]] : 0;
    if ((a | b | c) & 0xc0) {
      return false;
    }
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    o[0] = static_cast<uint8_t>(v >> 16);
    if (padding == 1) {
      o[1] = static_cast<uint8_t>(v >> 8);
    }
    // Canonical: the bits the padding drops are zero.
    if ((padding == 2 && (b & 15) != 0) || (padding == 1 && (c & 3) != 0)) {
      return false;
    }
  }
  return true;
}

} // namespace ipfsacc::util
