#include "remote/record.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <sodium.h>

namespace ipfsacc::remote {

namespace {

// Layout: magic, the key, a flags byte, then (when signed) the signer's
// public key and the signature, then the entry.
constexpr std::string_view kMagic = "IAR1";
constexpr uint8_t kSigned = 1;
constexpr size_t kHeader = kMagic.size() + 32 + 1;
constexpr size_t kSignature = 32 + crypto_sign_BYTES;
// What is signed: a context that no other message of ipfsacc starts with,
// the key and the entry.
constexpr std::string_view kContext = "ipfsacc remote entry 1\n";

std::string signed_message(const Digest& key, std::string_view entry) {
  std::string message(kContext);
  message.append(reinterpret_cast<const char*>(key.data()), key.size());
  message.append(entry);
  return message;
}

bool parse_hex32(std::string_view hex, std::array<uint8_t, 32>& out) {
  size_t written = 0;
  return hex.size() == 64 &&
         sodium_hex2bin(out.data(),
                        out.size(),
                        hex.data(),
                        hex.size(),
                        nullptr,
                        &written,
                        nullptr) == 0 &&
         written == 32;
}

} // namespace

std::optional<SigningKey> SigningKey::from_hex_seed(std::string_view hex) {
  std::array<uint8_t, 32> seed{};
  if (sodium_init() < 0 || !parse_hex32(hex, seed)) {
    return std::nullopt;
  }
  SigningKey key;
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  return key;
}

std::string SigningKey::new_hex_seed() {
  std::array<uint8_t, 32> seed{};
  if (sodium_init() < 0) {
    return {};
  }
  randombytes_buf(seed.data(), seed.size());
  std::string hex = to_hex(seed);
  sodium_memzero(seed.data(), seed.size());
  return hex;
}

SigningKey::~SigningKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

std::array<uint8_t, 64> SigningKey::sign(std::string_view message) const {
  std::array<uint8_t, 64> signature{};
  crypto_sign_detached(signature.data(),
                       nullptr,
                       reinterpret_cast<const uint8_t*>(message.data()),
                       message.size(),
                       secret_.data());
  return signature;
}

std::string seal(const Digest& key,
                 std::string_view entry,
                 const SigningKey* signer) {
  std::string record(kMagic);
  record.append(reinterpret_cast<const char*>(key.data()), key.size());
  record.push_back(static_cast<char>(signer ? kSigned : 0));
  if (signer) {
    auto signature = signer->sign(signed_message(key, entry));
    const auto& pk = signer->public_key();
    record.append(reinterpret_cast<const char*>(pk.data()), pk.size());
    record.append(reinterpret_cast<const char*>(signature.data()),
                  signature.size());
  }
  record.append(entry);
  return record;
}

std::expected<std::string_view, std::string> unseal(
  const Digest& key,
  std::string_view record,
  std::span<const PublicKey> trusted) {
  if (record.size() < kHeader || !record.starts_with(kMagic)) {
    return std::unexpected(
      "is not an entry record of this version (stored by an older ipfsacc?)");
  }
  Digest bound{};
  std::memcpy(bound.data(), record.data() + kMagic.size(), bound.size());
  if (bound != key) {
    return std::unexpected(
      fmt::format("is the entry of another request ({}), copied under this "
                  "key",
                  cid_string(bound)));
  }
  uint8_t flags = static_cast<uint8_t>(record[kHeader - 1]);
  std::string_view rest = record.substr(kHeader);
  if (flags & ~kSigned) {
    return std::unexpected("has unknown flags");
  }
  if (!(flags & kSigned)) {
    if (!trusted.empty()) {
      return std::unexpected(
        "is not signed, and remote_trusted_keys asks for a signature");
    }
    return rest;
  }
  if (rest.size() < kSignature) {
    return std::unexpected("is cut short in its signature");
  }
  PublicKey signer{};
  std::memcpy(signer.data(), rest.data(), signer.size());
  const auto* signature = reinterpret_cast<const uint8_t*>(rest.data() + 32);
  std::string_view entry = rest.substr(kSignature);
  if (!trusted.empty() &&
      std::find(trusted.begin(), trusted.end(), signer) == trusted.end()) {
    return std::unexpected(fmt::format(
      "is signed by {}, which is not in remote_trusted_keys", to_hex(signer)));
  }
  auto message = signed_message(key, entry);
  if (sodium_init() < 0 || crypto_sign_verify_detached(
                             signature,
                             reinterpret_cast<const uint8_t*>(message.data()),
                             message.size(),
                             signer.data()) != 0) {
    return std::unexpected("has a signature that does not verify");
  }
  return entry;
}

std::expected<std::vector<PublicKey>, std::string> parse_public_keys(
  std::string_view text) {
  std::vector<PublicKey> keys;
  for (auto word : util::split_list(text, " ,\t\n")) {
    PublicKey key{};
    if (!parse_hex32(word, key)) {
      return std::unexpected(fmt::format(
        "'{}' is not a public key (64 hex digits, as `ipfsacc secrets "
        "signing-key` prints)",
        word.substr(0, 80)));
    }
    keys.push_back(key);
  }
  return keys;
}

} // namespace ipfsacc::remote
