#include "remote/record.hpp"

#include <cstring>
#include <fmt/format.h>

namespace ipfsacc::remote {

namespace {

// Layout: magic, the key, a flags byte, then (when signed) the signer's
// public key and the signature, then the entry.
constexpr std::string_view kMagic = "IAR1";
constexpr uint8_t kSigned = 1;
constexpr size_t kHeader = kMagic.size() + 32 + 1;
constexpr size_t kSignature = 32 + 64;

} // namespace

std::string seal(const Digest& key,
                 std::string_view entry,
                 const secrets::SigningKey* signer) {
  std::string record(kMagic);
  record.append(reinterpret_cast<const char*>(key.data()), key.size());
  record.push_back(static_cast<char>(signer ? kSigned : 0));
  if (signer) {
    auto signature = secrets::sign_entry(
      secrets::SignedFor::remote_record, key, entry, *signer);
    record.append(reinterpret_cast<const char*>(signature.signer.data()),
                  signature.signer.size());
    record.append(reinterpret_cast<const char*>(signature.signature.data()),
                  signature.signature.size());
  }
  record.append(entry);
  return record;
}

std::expected<std::string_view, std::string> unseal(
  const Digest& key,
  std::string_view record,
  std::span<const secrets::PublicKey> trusted) {
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
  std::optional<secrets::EntrySignature> signature;
  if (flags & kSigned) {
    if (rest.size() < kSignature) {
      return std::unexpected("is cut short in its signature");
    }
    signature.emplace();
    std::memcpy(signature->signer.data(), rest.data(), 32);
    std::memcpy(signature->signature.data(), rest.data() + 32, 64);
    rest = rest.substr(kSignature);
  }
  if (auto checked = secrets::check_entry_signature(
        secrets::SignedFor::remote_record, key, rest, signature, trusted);
      !checked) {
    return std::unexpected(checked.error().message);
  }
  return rest;
}

} // namespace ipfsacc::remote
