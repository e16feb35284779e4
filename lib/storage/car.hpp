#pragma once

#include "core/cid.hpp"
#include "secrets/signing.hpp"
#include "storage/entry.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// CARv1 archives of cache entries (`ipfsacc export --format car`), which an
// IPFS node loads with `ipfs dag import`:
//
// - every output is a raw block (codec 0x55, sha2-256) holding the output's
//   own bytes, so its CID is exactly the blob CID ipfsacc uses;
// - every entry is a DAG-CBOR block (codec 0x71) with the entry's metadata
//   and links (CBOR tag 42) to its stdout and stderr blocks; the request
//   key is a CID string, not a link (the request document is not exported);
//   when the exporting machine holds the signing key, the block carries
//   "signer" and "signature" (bytes), as an export line does (see
//   storage/exchange.hpp);
// - the header's roots are the entry blocks, so pinning the roots pins the
//   outputs too.
namespace ipfsacc::storage {

constexpr std::string_view kCarEntryFormat = "ipfsacc-entry/1";

// Multicodec codes of the blocks we write.
constexpr uint64_t kCodecRaw = 0x55;
constexpr uint64_t kCodecDagCbor = 0x71;

// A CIDv1 with a sha2-256 multihash, the only kind we write or accept.
struct BlockId {
  uint64_t codec = kCodecRaw;
  Digest digest{};

  // The binary CID: 0x01, codec, 0x12, 0x20, digest.
  std::string bytes() const;
  // The base32 text form ("bafy…" for DAG-CBOR, "bafkrei…" for raw).
  std::string text() const;
};

// The DAG-CBOR block of an entry (canonical: map keys sorted by length,
// then bytes), signed by signer when there is one. entry.display must be
// redacted first.
std::string encode_car_entry(const Digest& key,
                             const Entry& entry,
                             const secrets::SigningKey* signer = nullptr);

// An entry decoded from its block, with the CIDs of its outputs' blocks
// and its signature when it carries one (not yet checked).
struct CarEntry {
  Digest key{};
  Entry entry;
  std::optional<secrets::EntrySignature> signature;
};
std::expected<CarEntry, std::string> decode_car_entry(std::string_view block);

// Writes a CARv1 archive: the header with roots, then each block as
// varint(length) CID data.
class CarWriter {
public:
  // sink receives the archive's bytes in order; it returns false when it
  // cannot write (the writer then stops).
  explicit CarWriter(std::function<bool(std::string_view)> sink)
    : sink_(std::move(sink)) {}
  bool header(std::span<const BlockId> roots);
  bool block(const BlockId& id, std::span<const uint8_t> data);

private:
  std::function<bool(std::string_view)> sink_;
};

// One block read back from an archive; data points into the archive.
struct CarBlock {
  BlockId id;
  std::span<const uint8_t> data;
};

struct CarContents {
  std::vector<BlockId> roots;
  std::vector<CarBlock> blocks;
  // Blocks that were rejected (a CID we do not read, or bytes that do not
  // hash to their CID), each "block N at byte OFFSET: why".
  std::vector<std::string> rejected;
};

// Reads a whole CARv1 archive, verifying every block against its CID.
// Returns an error when the archive itself is malformed (bad header,
// truncated section); a single bad block is listed in rejected instead.
std::expected<CarContents, std::string> read_car(
  std::span<const uint8_t> archive);

// True when bytes start like a CARv1 archive (a varint, then a CBOR map).
bool looks_like_car(std::span<const uint8_t> start);

} // namespace ipfsacc::storage
