#pragma once
// What a remote holds under an entry's key: the encoded entry bound to that
// key, so that a copy under another key answers nothing, and signed when
// this machine holds the team's signing key. Outputs need no signature:
// the entry names them by the digest of their bytes.

#include "core/cid.hpp"
#include "secrets/signing.hpp"

#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc::remote {

// The record stored under key: the entry bound to it, signed by signer
// when there is one.
std::string seal(const Digest& key,
                 std::string_view entry,
                 const secrets::SigningKey* signer);

// The encoded entry of a record read under key, or why it is refused: not a
// record, bound to another key, a signature that does not verify, or (when
// trusted is not empty) not signed by one of the trusted keys.
std::expected<std::string_view, std::string> unseal(
  const Digest& key,
  std::string_view record,
  std::span<const secrets::PublicKey> trusted);

} // namespace ipfsacc::remote
