// The team's signing key and its signatures of entries bound to their keys,
// as remote records and export files carry them.
#include "secrets/signing.hpp"

#include <doctest/doctest.h>
#include <string>

namespace sg = ipfsacc::secrets;

namespace {

sg::SigningKey signing_test_key(char c) {
  auto key = sg::SigningKey::from_hex_seed(std::string(64, c));
  REQUIRE(key);
  return *key;
}

} // namespace

TEST_CASE("signing: the same seed makes the same key; a new seed is random") {
  CHECK(signing_test_key('7').public_key() ==
        signing_test_key('7').public_key());
  auto a = sg::SigningKey::new_hex_seed();
  auto b = sg::SigningKey::new_hex_seed();
  CHECK(a.size() == 64);
  CHECK(a != b);
  CHECK(sg::SigningKey::from_hex_seed(a));
  CHECK_FALSE(sg::SigningKey::from_hex_seed("xyz"));
  CHECK_FALSE(sg::SigningKey::from_hex_seed(std::string(63, '0')));
}

TEST_CASE("signing: trusted keys parse from commas and spaces") {
  auto k1 = std::string(64, 'a');
  auto k2 = std::string(64, 'B');
  auto keys = sg::parse_public_keys(" " + k1 + ", " + k2 + "\n");
  REQUIRE(keys);
  CHECK(keys->size() == 2);
  CHECK(sg::parse_public_keys("")->empty());
  auto bad = sg::parse_public_keys(k1 + ",nope");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("'nope' is not a public key") != std::string::npos);
  CHECK_FALSE(sg::parse_public_keys(k1 + "0"));
}

TEST_CASE("signing: an entry's signature binds its key and every byte") {
  using Kind = sg::SignatureProblem::Kind;
  using sg::SignedFor;
  auto signer = signing_test_key('1');
  auto stranger = signing_test_key('2');
  std::vector<sg::PublicKey> trusted{ signer.public_key() };
  auto key = ipfsacc::sha256("a request");
  std::string entry = "the encoded entry";
  auto signature = sg::sign_entry(SignedFor::export_file, key, entry, signer);
  CHECK(signature.signer == signer.public_key());

  auto check = [&](SignedFor medium,
                   const ipfsacc::Digest& k,
                   std::string_view e,
                   const std::optional<sg::EntrySignature>& s,
                   std::span<const sg::PublicKey> keys) {
    return sg::check_entry_signature(medium, k, e, s, keys);
  };
  CHECK(check(SignedFor::export_file, key, entry, signature, trusted));
  // Without trusted keys a signature is still checked; no signature is
  // taken.
  CHECK(check(SignedFor::export_file, key, entry, signature, {}));
  CHECK(check(SignedFor::export_file, key, entry, std::nullopt, {}));

  auto refused =
    check(SignedFor::export_file, key, entry, std::nullopt, trusted);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == Kind::unsigned_entry);

  auto foreign = sg::sign_entry(SignedFor::export_file, key, entry, stranger);
  refused = check(SignedFor::export_file, key, entry, foreign, trusted);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == Kind::untrusted_signer);
  CHECK(check(SignedFor::export_file, key, entry, foreign, {}));

  // Another key, one byte of the entry, or the other medium: no longer the
  // message that was signed.
  refused = check(SignedFor::export_file,
                  ipfsacc::sha256("another request"),
                  entry,
                  signature,
                  trusted);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == Kind::mismatch);
  for (size_t i = 0; i < entry.size(); ++i) {
    auto changed = entry;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    CHECK_FALSE(check(SignedFor::export_file, key, changed, signature, {}));
  }
  CHECK_FALSE(check(SignedFor::remote_record, key, entry, signature, {}));
  // A key claimed by a signature it did not make.
  auto claimed = signature;
  claimed.signer = stranger.public_key();
  CHECK_FALSE(check(SignedFor::export_file, key, entry, claimed, {}));
}

TEST_CASE("signing: signatures in hex read back, and nothing else does") {
  auto signer = signing_test_key('3');
  auto s = sg::sign_entry(
    sg::SignedFor::export_file, ipfsacc::sha256("k"), "e", signer);
  auto back = sg::entry_signature_from_hex(ipfsacc::to_hex(s.signer),
                                           ipfsacc::to_hex(s.signature));
  REQUIRE(back);
  CHECK(back->signer == s.signer);
  CHECK(back->signature == s.signature);
  CHECK_FALSE(sg::entry_signature_from_hex(ipfsacc::to_hex(s.signer), "00"));
  CHECK_FALSE(sg::entry_signature_from_hex(std::string(64, 'g'),
                                           ipfsacc::to_hex(s.signature)));
  CHECK_FALSE(sg::entry_signature_from_hex(ipfsacc::to_hex(s.signature),
                                           ipfsacc::to_hex(s.signer)));
}
