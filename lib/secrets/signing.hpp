#pragma once
// The team's signing key (Ed25519, kept in the secrets store as
// remote_signing_key) and what it signs: a cache entry bound to the request
// key it answers. Remote records and export files carry such signatures;
// machines that set remote_trusted_keys take only entries signed by one of
// those keys.

#include "core/cid.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::secrets {

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

// The signing key of the secrets store (IPFSACC_SECRETS_DIR, unlocked with
// IPFSACC_PASSPHRASE when it needs one); nullopt when there is no store,
// it does not open without asking, or it holds no such key.
std::optional<SigningKey> load_signing_key();

// The keys of the remote_trusted_keys setting: 64 hex digits each,
// separated by spaces or commas.
std::expected<std::vector<PublicKey>, std::string> parse_public_keys(
  std::string_view text);

// Where a signed entry travels. Each has a context of its own in what is
// signed, so a signature made for one is never taken by the other.
enum class SignedFor : uint8_t { remote_record, export_file };

// A signature of an entry and the key that made it.
struct EntrySignature {
  PublicKey signer{};
  std::array<uint8_t, 64> signature{};
};

// The signature written as hex digits (64 for signer, 128 for signature),
// as export lines carry it; nullopt when they are not that.
std::optional<EntrySignature> entry_signature_from_hex(
  std::string_view signer,
  std::string_view signature);

// Signs entry (storage::encode_entry's bytes) as the answer to the request
// key: the signature covers the key and every byte of the entry.
EntrySignature sign_entry(SignedFor medium,
                          const Digest& key,
                          std::string_view entry,
                          const SigningKey& signer);

// Why an entry's signature is refused.
struct SignatureProblem {
  enum class Kind : uint8_t { unsigned_entry, untrusted_signer, mismatch };
  Kind kind;
  // Says what is wrong, without a subject: "is not signed, and …".
  std::string message;
};

// Checks the signature (nullopt: none) of entry under key. Refused: no
// signature while trusted is not empty; a signer not in trusted (when it is
// not empty); a signature that does not verify over this key and entry
// (whatever trusted holds).
std::expected<void, SignatureProblem> check_entry_signature(
  SignedFor medium,
  const Digest& key,
  std::string_view entry,
  const std::optional<EntrySignature>& signature,
  std::span<const PublicKey> trusted);

} // namespace ipfsacc::secrets
