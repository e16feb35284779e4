#pragma once

#include "secrets/secure_buffer.hpp"
#include "secrets/store.hpp"

#include <cstdint>
#include <expected>
#include <span>
#include <string>

namespace ipfsacc::secrets {

// Encrypted cache outputs (encrypt_cache = true): each stored blob is
// nonce ‖ XChaCha20-Poly1305 ciphertext ‖ tag, with the blob's digest (the
// CID of the plaintext) as associated data, so a blob cannot be passed off
// as another.
constexpr size_t kBlobKeySize = 32;
constexpr size_t kSealedBlobOverhead = 24 + 16;

// The name of the secret that holds the cache key (64 hex digits).
constexpr std::string_view kCacheKeyName = "cache_key";

// Encrypts plain into out, which holds plain.size() + kSealedBlobOverhead
// bytes, with a fresh nonce. key holds kBlobKeySize bytes.
void seal_blob(std::span<const uint8_t> key,
               std::span<const uint8_t> digest,
               std::span<const uint8_t> plain,
               uint8_t* out);

// Decrypts sealed into out, which holds sealed.size() - kSealedBlobOverhead
// bytes. Returns false when it does not authenticate (another key, another
// digest, modified bytes).
bool open_blob(std::span<const uint8_t> key,
               std::span<const uint8_t> digest,
               std::span<const uint8_t> sealed,
               uint8_t* out);

// Returns the cache key from the secrets store, creating the secret (and the
// store) when missing. Fails like the store does (wrong key, passphrase
// needed).
std::expected<SecureBuffer, std::string> cache_key(
  const Location& location,
  const PassphraseSource& passphrase);

} // namespace ipfsacc::secrets
