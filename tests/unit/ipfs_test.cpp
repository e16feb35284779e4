#include "remote/ipfs.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "storage/car.hpp"

#include <doctest/doctest.h>

using namespace ipfsacc;
using namespace ipfsacc::remote::ipfs;

TEST_CASE("ipfs manifest: round trip, links tagged 42 over raw CIDs") {
  Manifest m;
  m.size = 2 * kChunkSize + 5;
  m.chunks = { sha256("a"), sha256("b"), sha256("c") };
  auto block = encode_manifest(m);
  // A map of three keys, canonical order: size, chunks, format.
  CHECK(static_cast<uint8_t>(block[0]) == 0xa3);
  CHECK(block.substr(1, 5) == "\x64size");
  auto link = std::string("\xd8\x2a\x58\x25\x00", 5) +
              storage::BlockId{ storage::kCodecRaw, sha256("b") }.bytes();
  CHECK(block.find(link) != std::string::npos);
  auto back = decode_manifest(block);
  REQUIRE(back);
  CHECK(back->size == m.size);
  CHECK(back->chunks == m.chunks);
}

TEST_CASE("ipfs manifest: a large size is encoded with a long head") {
  Manifest m;
  m.size = 5'000'000'000ULL;
  m.chunks.assign((m.size + kChunkSize - 1) / kChunkSize, sha256("x"));
  auto back = decode_manifest(encode_manifest(m));
  REQUIRE(back);
  CHECK(back->size == m.size);
  CHECK(back->chunks.size() == 5000);
}

TEST_CASE("ipfs manifest: malformed or inconsistent blocks are rejected") {
  Manifest m;
  m.size = kChunkSize + 1;
  m.chunks = { sha256("a"), sha256("b") };
  auto block = encode_manifest(m);
  CHECK(decode_manifest(block));
  CHECK_FALSE(decode_manifest(""));
  CHECK_FALSE(decode_manifest(block.substr(0, block.size() - 1)));
  CHECK_FALSE(decode_manifest(block + "x"));
  // The chunk count must fit the size.
  Manifest short_one = m;
  short_one.chunks.pop_back();
  CHECK_FALSE(decode_manifest(encode_manifest(short_one)));
  // A link to a DAG-CBOR block is not a chunk.
  auto raw_link = storage::BlockId{ storage::kCodecRaw, sha256("a") }.bytes();
  auto cbor_link =
    storage::BlockId{ storage::kCodecDagCbor, sha256("a") }.bytes();
  auto changed = block;
  changed.replace(changed.find(raw_link), raw_link.size(), cbor_link);
  CHECK_FALSE(decode_manifest(changed));
}

TEST_CASE("ipfs tier: ipfs:// and http://…|type=kubo make a tier") {
  auto ipfs = remote::parse_remote("ipfs://127.0.0.1:5001|timeout=2s");
  REQUIRE(ipfs);
  CHECK(ipfs->label() == "ipfs://127.0.0.1:5001");
  CHECK(remote::make_tier(*ipfs)); // connects on first use, not here
  auto kubo = remote::parse_remote("http://node:5001/api/v0|type=kubo");
  REQUIRE(kubo);
  CHECK(kubo->path == "/api/v0");
  CHECK(remote::make_tier(*kubo));
  // http:// alone says nothing of what answers there.
  auto plain = remote::parse_remote("http://node:5001/api/v0");
  REQUIRE(plain);
  auto refused = remote::make_tier(*plain);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("type=kubo") != std::string::npos);
  CHECK(remote::known_schemes().find("ipfs://") != std::string::npos);
}
