#pragma once
// What a remote holds under an entry's key: the encoded entry bound to that
// key, so that a copy under another key answers nothing, and signed when
// this machine holds the team's signing key. Outputs need no signature:
// the entry names them by the digest of their bytes.

#include "core/cid.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote {

// An Ed25519 public key, written as 64 hex digits in remote_trusted_keys.
using PublicKey = std::array<uint8_t, 32>;

// The name of the secret that holds the signing key's seed (hex).
inline constexpr std::string_view kSigningKeySecret = "remote_signing_key";

// The team's signing key (Ed25519), made from a 32-byte seed. Wiped when
// it goes.
class SigningKey {
public:
  // From the seed's 64 hex digits; nullopt when they are not that.
  static std::optional<SigningKey> from_hex_seed(std::string_view hex);
  // A new key from the system's random source; its seed in hex.
  static std::string new_hex_seed();

  SigningKey(const SigningKey& other) = default;
  SigningKey& operator=(const SigningKey& other) = default;
  ~SigningKey();

  const PublicKey& public_key() const { return public_; }
  // The detached signature of message.
  std::array<uint8_t, 64> sign(std::string_view message) const;

private:
  SigningKey() = default;
  std::array<uint8_t, 64> secret_{};
  PublicKey public_{};
};

// The record stored under key: the entry bound to it, signed by signer
// when there is one.
std::string seal(const Digest& key,
                 std::string_view entry,
                 const SigningKey* signer);

// The encoded entry of a record read under key, or why it is refused: not a
// record, bound to another key, a signature that does not verify, or (when
// trusted is not empty) not signed by one of the trusted keys.
std::expected<std::string_view, std::string> unseal(
  const Digest& key,
  std::string_view record,
  std::span<const PublicKey> trusted);

// The keys of the remote_trusted_keys setting: 64 hex digits each,
// separated by spaces or commas.
std::expected<std::vector<PublicKey>, std::string> parse_public_keys(
  std::string_view text);

} // namespace ipfsacc::remote
