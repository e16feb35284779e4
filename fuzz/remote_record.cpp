// Fuzz target: what a remote tier answers (lib/remote). The input is read
// as each of the remote's encodings in turn, as a lookup reads them: an
// entry record (remote/record: unseal, with and without
// remote_trusted_keys, then the entry it holds decoded), an IPFS chunk
// manifest (remote/ipfs: decode_manifest), a blob root's CID text as the
// node's files API returns it (parse_cid), the remote_trusted_keys
// setting (parse_public_keys), an S3 answer (remote/s3_location: a
// ListObjectsV2 page, an error document), a shared credentials file
// (remote/s3_credentials) and a Redis Cluster's slot map as the cache
// directory keeps it (remote/redis_slot_file).
#include "core/cid.hpp"
#include "fuzz.hpp"
#include "remote/ipfs.hpp"
#include "remote/record.hpp"
#include "remote/redis_slot_file.hpp"
#include "remote/s3_credentials.hpp"
#include "remote/s3_location.hpp"
#include "storage/entry.hpp"

#include <cstring>

using namespace ipfsacc;

namespace {

// The record's magic is followed by the key it is
// bound to: the input names its own key, so the binding is passed and the
// signature and the entry are reached.
Digest bound_key(std::string_view record, size_t magic) {
  Digest key{};
  if (record.size() >= magic + key.size()) {
    std::memcpy(key.data(), record.data() + magic, key.size());
  }
  return key;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = fuzz::text(data, size);

  // A record sealed for an empty entry tells where the key sits.
  static const size_t kMagic =
    remote::seal(Digest{}, "", nullptr).size() - Digest{}.size() - 1;
  static const secrets::PublicKey kTrusted = [] {
    secrets::PublicKey key{};
    key.fill(0x42);
    return key;
  }();
  Digest key = bound_key(input, kMagic);
  for (auto trusted : { std::span<const secrets::PublicKey>(),
                        std::span<const secrets::PublicKey>(&kTrusted, 1) }) {
    if (auto entry = remote::unseal(key, input, trusted)) {
      if (auto decoded = storage::decode_entry(*entry)) {
        fuzz::check_segments(*decoded);
      }
    }
  }

  if (auto manifest = remote::ipfs::decode_manifest(input)) {
    auto again =
      remote::ipfs::decode_manifest(remote::ipfs::encode_manifest(*manifest));
    fuzz::check(again && again->size == manifest->size &&
                  again->chunks == manifest->chunks,
                "a decoded manifest, encoded again, is the same manifest");
  }

  if (auto page = remote::s3::parse_list(input)) {
    for (const auto& name : page->keys) {
      fuzz::check(name.size() <= input.size(),
                  "a listed name is no longer than the page");
    }
  }
  remote::s3::error_code(input);
  remote::s3::read_credentials_file(input, "default");

  // The seed's label (fuzz/corpus/remote_record/redis_slots.txt).
  constexpr std::string_view kSlotsLabel = "redis://127.0.0.1:7000";
  if (auto ranges = remote::redis::parse_slot_map(input, kSlotsLabel)) {
    auto again = remote::redis::parse_slot_map(
      remote::redis::encode_slot_map(kSlotsLabel, *ranges), kSlotsLabel);
    fuzz::check(again && *again == *ranges,
                "a slot map read, written again, reads the same");
  }

  parse_cid(input);
  secrets::parse_public_keys(input);
  return 0;
}
