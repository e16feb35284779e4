#pragma once

#include "core/cid.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

// The IPFS tier's own encodings, apart so that they can be tested alone.
namespace ipfsacc::remote::ipfs {

// The largest block the tier puts: nodes refuse blocks (and js-ipfs request
// bodies) over 1 MiB, and a multipart body adds a few hundred bytes.
constexpr size_t kChunkSize = 1'000'000;

// How a blob over kChunkSize is held: its chunks (raw blocks of kChunkSize
// bytes, the last one shorter), in order, listed by a manifest block.
struct Manifest {
  uint64_t size = 0;          // the blob's size
  std::vector<Digest> chunks; // the sha2-256 digests of the raw chunks
};

// The manifest as a DAG-CBOR block (canonical):
//   {"size": N, "chunks": [CID link…], "format": "ipfsacc-chunks/1"}
// where each link is CBOR tag 42 over 0x00 + the chunk's binary raw CID,
// so a node that pins the manifest pins its chunks too.
std::string encode_manifest(const Manifest& manifest);

// Decodes a manifest block; an error when it is not one (only raw sha2-256
// chunk links are accepted).
std::expected<Manifest, std::string> decode_manifest(std::string_view block);

} // namespace ipfsacc::remote::ipfs
