#include "remote/record.hpp"

#include <doctest/doctest.h>
#include <string>

namespace rr = ipfsacc::remote;
namespace rs = ipfsacc::secrets;

namespace {

ipfsacc::Digest record_key(char c) {
  return ipfsacc::sha256(std::string_view(&c, 1));
}

rs::SigningKey record_signer(char c) {
  auto key = rs::SigningKey::from_hex_seed(std::string(64, c));
  REQUIRE(key);
  return *key;
}

} // namespace

TEST_CASE("record: an unsigned record opens under its own key only") {
  auto record = rr::seal(record_key('a'), "entry bytes", nullptr);
  auto opened = rr::unseal(record_key('a'), record, {});
  REQUIRE(opened);
  CHECK(*opened == "entry bytes");
  auto moved = rr::unseal(record_key('b'), record, {});
  REQUIRE_FALSE(moved);
  CHECK(moved.error().find("another request") != std::string::npos);
}

TEST_CASE("record: trusted keys ask for a signature by one of them") {
  auto signer = record_signer('1');
  auto other = record_signer('2');
  std::vector<rs::PublicKey> trusted{ signer.public_key() };
  auto key = record_key('a');

  auto signed_record = rr::seal(key, "entry", &signer);
  auto opened = rr::unseal(key, signed_record, trusted);
  REQUIRE(opened);
  CHECK(*opened == "entry");
  // Without trusted keys a signed record opens too (its signature checked).
  CHECK(rr::unseal(key, signed_record, {}));

  auto unsigned_record = rr::seal(key, "entry", nullptr);
  CHECK_FALSE(rr::unseal(key, unsigned_record, trusted));

  auto foreign = rr::seal(key, "entry", &other);
  auto refused = rr::unseal(key, foreign, trusted);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("not in remote_trusted_keys") !=
        std::string::npos);

  // Every byte of a signed record matters.
  for (size_t i = 0; i < signed_record.size(); ++i) {
    auto changed = signed_record;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    CHECK_FALSE(rr::unseal(key, changed, trusted));
  }
  // Cut anywhere, it is refused and never read past its end.
  for (size_t n = 0; n < signed_record.size(); ++n) {
    CHECK_FALSE(rr::unseal(key, signed_record.substr(0, n), trusted));
  }
  // The signature covers the key: a signed record moved is refused even by
  // a reader that does not check the key first.
  auto moved = rr::unseal(record_key('b'), signed_record, trusted);
  CHECK_FALSE(moved);
}

TEST_CASE("record: bytes that are not a record are refused") {
  CHECK_FALSE(rr::unseal(record_key('a'), "", {}));
  CHECK_FALSE(rr::unseal(record_key('a'), std::string(200, '\x01'), {}));
}
