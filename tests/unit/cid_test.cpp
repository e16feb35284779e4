#include <doctest/doctest.h>

#include "core/cid.hpp"

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
  CHECK_FALSE(parse_cid(
    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"));
}

TEST_CASE("incremental hashing equals one-shot") {
  Sha256 h;
  h.update("hello ", 6);
  h.update("world\n", 6);
  CHECK(h.finish() == sha256("hello world\n"));
}
