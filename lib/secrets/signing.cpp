#include "secrets/signing.hpp"

#include "secrets/store.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <sodium.h>

namespace ipfsacc::secrets {

namespace {

// What is signed: a context that no other message of ipfsacc starts with
// (one per medium), the key and the entry. The remote one is what records
// have always been signed with.
constexpr std::string_view kRemoteContext = "ipfsacc remote entry 1\n";
constexpr std::string_view kExportContext = "ipfsacc export entry 1\n";

std::string signed_message(SignedFor medium,
                           const Digest& key,
                           std::string_view entry) {
  std::string message(medium == SignedFor::remote_record ? kRemoteContext
                                                         : kExportContext);
  message.append(reinterpret_cast<const char*>(key.data()), key.size());
  message.append(entry);
  return message;
}

// Parses exactly out.size() bytes' worth of hex digits.
bool parse_hex(std::string_view hex, std::span<uint8_t> out) {
  size_t written = 0;
  return hex.size() == out.size() * 2 &&
         sodium_hex2bin(out.data(),
                        out.size(),
                        hex.data(),
                        hex.size(),
                        nullptr,
                        &written,
                        nullptr) == 0 &&
         written == out.size();
}

} // namespace

std::optional<SigningKey> SigningKey::from_hex_seed(std::string_view hex) {
  std::array<uint8_t, 32> seed{};
  if (sodium_init() < 0 || !parse_hex(hex, seed)) {
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

std::optional<SigningKey> load_signing_key() {
  auto location = Location::from_environment();
  if (!exists(location)) {
    return std::nullopt;
  }
  auto stored = load(location, passphrase_from_env());
  if (!stored) {
    return std::nullopt;
  }
  auto seed = stored->get(kSigningKeySecret);
  return seed ? SigningKey::from_hex_seed(*seed) : std::nullopt;
}

std::expected<std::vector<PublicKey>, std::string> parse_public_keys(
  std::string_view text) {
  std::vector<PublicKey> keys;
  for (auto word : util::split_list(text, " ,\t\n")) {
    PublicKey key{};
    if (!parse_hex(word, key)) {
      return std::unexpected(fmt::format(
        "'{}' is not a public key (64 hex digits, as `ipfsacc secrets "
        "signing-key` prints)",
        word.substr(0, 80)));
    }
    keys.push_back(key);
  }
  return keys;
}

std::optional<EntrySignature> entry_signature_from_hex(
  std::string_view signer,
  std::string_view signature) {
  EntrySignature parsed;
  if (!parse_hex(signer, parsed.signer) ||
      !parse_hex(signature, parsed.signature)) {
    return std::nullopt;
  }
  return parsed;
}

EntrySignature sign_entry(SignedFor medium,
                          const Digest& key,
                          std::string_view entry,
                          const SigningKey& signer) {
  return { signer.public_key(),
           signer.sign(signed_message(medium, key, entry)) };
}

std::expected<void, SignatureProblem> check_entry_signature(
  SignedFor medium,
  const Digest& key,
  std::string_view entry,
  const std::optional<EntrySignature>& signature,
  std::span<const PublicKey> trusted) {
  using Kind = SignatureProblem::Kind;
  if (!signature) {
    if (trusted.empty()) {
      return {};
    }
    return std::unexpected(SignatureProblem{
      Kind::unsigned_entry,
      "is not signed, and remote_trusted_keys asks for a signature" });
  }
  if (!trusted.empty() &&
      std::find(trusted.begin(), trusted.end(), signature->signer) ==
        trusted.end()) {
    return std::unexpected(SignatureProblem{
      Kind::untrusted_signer,
      fmt::format("is signed by {}, which is not in remote_trusted_keys",
                  to_hex(signature->signer)) });
  }
  auto message = signed_message(medium, key, entry);
  if (sodium_init() < 0 || crypto_sign_verify_detached(
                             signature->signature.data(),
                             reinterpret_cast<const uint8_t*>(message.data()),
                             message.size(),
                             signature->signer.data()) != 0) {
    return std::unexpected(SignatureProblem{
      Kind::mismatch, "has a signature that does not verify" });
  }
  return {};
}

} // namespace ipfsacc::secrets
