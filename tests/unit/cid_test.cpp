#include "core/cid.hpp"

#include <doctest/doctest.h>

using namespace ipfsacc;

TEST_CASE("CID of published examples") {
  // `echo 'hello world' | ipfs block put` (Kubo) answers this CID.
  CHECK(cid_string(sha256("hello world\n")) ==
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  // The empty block, as Kubo reports it.
  CHECK(cid_string(empty_digest()) ==
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

TEST_CASE("CID text parses back to its digest") {
  auto digest = sha256("abc");
  auto text = cid_string(digest);
  CHECK(text.starts_with("bafkrei"));
  CHECK(text.size() == 59);
  auto parsed = parse_cid(text);
  REQUIRE(parsed);
  CHECK(*parsed == digest);
}

TEST_CASE("malformed CIDs are rejected") {
  auto text = cid_string(sha256("abc"));
  CHECK_FALSE(parse_cid(""));
  CHECK_FALSE(parse_cid(text.substr(1)));
  CHECK_FALSE(parse_cid("z" + text.substr(1)));
  CHECK_FALSE(parse_cid(text.substr(0, 58) + "1"));
  // A CIDv1 with another codec (dag-pb, 0x70) is not ours.
  CHECK_FALSE(
    parse_cid("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"));
}

TEST_CASE("incremental hashing equals one-shot") {
  Sha256 h;
  h.update("hello ", 6);
  h.update("world\n", 6);
  CHECK(h.finish() == sha256("hello world\n"));
}

TEST_CASE("hardware sha256 equals libsodium for every length and split") {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1103515245 + 12345;
    data += static_cast<char>(x >> 16);
  }
  for (size_t len :
       { 0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4999 }) {
    std::string_view part(data.data(), len);
    Digest reference;
    crypto_hash_sha256(reference.data(),
                       reinterpret_cast<const unsigned char*>(part.data()),
                       part.size());
    CAPTURE(len);
    CHECK(sha256(part) == reference);
    // In odd-sized pieces, crossing block boundaries.
    Sha256 h;
    for (size_t i = 0; i < len; i += 37) {
      h.update(part.data() + i, std::min<size_t>(37, len - i));
    }
    CHECK(h.finish() == reference);
    Sha256::use_hardware(false);
    CHECK(sha256(part) == reference);
    Sha256::use_hardware(true);
  }
}
