#include "secrets/cache_cipher.hpp"

#include "util/duration.hpp"

#include <fmt/format.h>
#include <sodium.h>

namespace ipfsacc::secrets {

static_assert(kBlobKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kSealedBlobOverhead ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                crypto_aead_xchacha20poly1305_ietf_ABYTES);

namespace {

constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

// The key from its hex text, in secure memory; nullopt when malformed.
std::optional<SecureBuffer> decode_key(std::string_view hex) {
  if (hex.size() != 2 * kBlobKeySize) {
    return std::nullopt;
  }
  auto key = SecureBuffer::allocate(kBlobKeySize);
  size_t size = 0;
  if (!key ||
      sodium_hex2bin(key->data(),
                     key->size(),
                     hex.data(),
                     hex.size(),
                     nullptr,
                     &size,
                     nullptr) != 0 ||
      size != kBlobKeySize) {
    return std::nullopt;
  }
  return std::move(*key);
}

} // namespace

void seal_blob(std::span<const uint8_t> key,
               std::span<const uint8_t> digest,
               std::span<const uint8_t> plain,
               uint8_t* out) {
  randombytes_buf(out, kNonceSize);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + kNonceSize,
                                             nullptr,
                                             plain.data(),
                                             plain.size(),
                                             digest.data(),
                                             digest.size(),
                                             nullptr,
                                             out,
                                             key.data());
}

bool open_blob(std::span<const uint8_t> key,
               std::span<const uint8_t> digest,
               std::span<const uint8_t> sealed,
               uint8_t* out) {
  if (key.size() != kBlobKeySize || sealed.size() < kSealedBlobOverhead) {
    return false;
  }
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out,
                                                    nullptr,
                                                    nullptr,
                                                    sealed.data() + kNonceSize,
                                                    sealed.size() - kNonceSize,
                                                    digest.data(),
                                                    digest.size(),
                                                    sealed.data(),
                                                    key.data()) == 0;
}

std::expected<SecureBuffer, std::string> cache_key(
  const Location& location,
  const PassphraseSource& passphrase) {
  auto bad = [&] {
    return std::unexpected(fmt::format(
      "the secret {} is not a cache key (64 hex digits)", kCacheKeyName));
  };
  if (exists(location)) {
    auto secrets = load(location, passphrase);
    if (!secrets) {
      return std::unexpected(secrets.error());
    }
    if (auto hex = secrets->get(kCacheKeyName)) {
      if (auto key = decode_key(*hex)) {
        return std::move(*key);
      }
      return bad();
    }
  }
  // First use: create it under the store's lock (another process may be
  // doing the same; the first one wins and both use its key).
  std::optional<SecureBuffer> key;
  auto updated = update(
    location,
    passphrase,
    [&](Secrets& secrets) -> std::expected<void, std::string> {
      if (auto hex = secrets.get(kCacheKeyName)) {
        key = decode_key(*hex);
        return {};
      }
      auto fresh = SecureBuffer::allocate(kBlobKeySize);
      auto hex = SecureBuffer::allocate(2 * kBlobKeySize + 1);
      if (!fresh || !hex) {
        return std::unexpected(fresh ? hex.error() : fresh.error());
      }
      randombytes_buf(fresh->data(), fresh->size());
      sodium_bin2hex(reinterpret_cast<char*>(hex->data()),
                     hex->size(),
                     fresh->data(),
                     fresh->size());
      hex->truncate(2 * kBlobKeySize);
      key = std::move(*fresh);
      return secrets.set(kCacheKeyName, hex->view(), util::now_ms());
    },
    default_key_mode());
  if (!updated) {
    return std::unexpected(updated.error());
  }
  if (!key) {
    return bad();
  }
  return std::move(*key);
}

} // namespace ipfsacc::secrets
