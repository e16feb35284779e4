// Signed exports: an export line or a CAR entry block signed by the team's
// key reads back to an entry whose signature verifies, and no field can be
// changed, nor the entry moved to another key, without it failing.
#include "core/cid.hpp"
#include "secrets/signing.hpp"
#include "storage/car.hpp"
#include "storage/exchange.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace ipfsacc;
using namespace ipfsacc::storage;

namespace {

using SignatureKind = secrets::SignatureProblem::Kind;

secrets::SigningKey export_test_signer(char c) {
  auto key = secrets::SigningKey::from_hex_seed(std::string(64, c));
  REQUIRE(key);
  return *key;
}

std::span<const uint8_t> export_test_bytes(std::string_view s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

Entry export_test_entry(const std::string& out) {
  Entry e;
  e.exit_code = 0;
  e.created_ms = 1'700'000'000'000;
  e.expires_ms = 1'700'000'300'000;
  e.last_used_ms = 1'700'000'100'000;
  e.hits = 2;
  e.stdout_digest = sha256(out);
  e.stdout_size = out.size();
  e.stderr_digest = empty_digest();
  e.tool = "run";
  e.operation = "echo";
  e.display = "echo AAA";
  e.segments = { { Stream::out, out.size() } };
  e.tags = { "t" };
  return e;
}

// What check_exported_signature says of line, read back.
std::expected<void, secrets::SignatureProblem> check_line(
  const std::string& line,
  std::span<const secrets::PublicKey> trusted) {
  auto back = parse_export_line(line);
  REQUIRE_MESSAGE(back, back.error());
  return check_exported_signature(*back, trusted);
}

// line with the first occurrence of from replaced by to.
std::string replaced_in(std::string line,
                        std::string_view from,
                        std::string_view to) {
  auto at = line.find(from);
  REQUIRE(at != std::string::npos);
  return line.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("a signed export line verifies, and every edit is caught") {
  auto signer = export_test_signer('1');
  std::vector<secrets::PublicKey> trusted{ signer.public_key() };
  std::string out = "AAA\n";
  auto key = sha256("run echo AAA");
  Entry e = export_test_entry(out);
  auto line = export_line(key, e, export_test_bytes(out), {}, &signer);
  CHECK(line.find(R"("signer":")" + to_hex(signer.public_key()) + '"') !=
        std::string::npos);
  auto back = parse_export_line(line);
  REQUIRE_MESSAGE(back, back.error());
  REQUIRE(back->signature);
  CHECK(encode_entry(back->entry) == encode_entry(e));
  CHECK(check_exported_signature(*back, trusted));

  SUBCASE("the key moved to another request") {
    auto moved =
      replaced_in(line, cid_string(key), cid_string(sha256("run echo BBB")));
    auto r = check_line(moved, trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::mismatch);
    // Even where no key is trusted, a signature that fails is refused.
    CHECK_FALSE(check_line(moved, {}));
  }
  SUBCASE("the expiry pushed out") {
    auto r = check_line(replaced_in(line,
                                    "\"expires_ms\":1700000300000",
                                    "\"expires_ms\":253402300799000"),
                        trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::mismatch);
  }
  SUBCASE("another output, consistent with its own CID") {
    std::string other = "BBB\n";
    Entry forged = e;
    forged.stdout_digest = sha256(other);
    auto unsigned_line = export_line(key, forged, export_test_bytes(other), {});
    // The forged outputs with the original signature.
    auto sig_at = line.find(R"(,"signature":")");
    auto sig_end = line.find(R"(,"tags")");
    auto forged_line = unsigned_line;
    forged_line.insert(forged_line.find(R"(,"tags")"),
                       line.substr(sig_at, sig_end - sig_at));
    auto r = check_line(forged_line, trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::mismatch);
  }
  SUBCASE("the exit code, a tag, the command") {
    for (auto [from, to] :
         { std::pair{ "\"exit_code\":0", "\"exit_code\":1" },
           std::pair{ "\"tags\":[\"t\"]", "\"tags\":[\"u\"]" },
           std::pair{ "\"command\":\"echo AAA\"", "\"command\":\"echo BBB\"" },
           std::pair{ "\"hits\":2", "\"hits\":3" } }) {
      CAPTURE(from);
      CHECK_FALSE(check_line(replaced_in(line, from, to), trusted));
    }
  }
  SUBCASE("signed by a key not trusted, or not signed") {
    auto stranger = export_test_signer('2');
    auto foreign = export_line(key, e, export_test_bytes(out), {}, &stranger);
    auto r = check_line(foreign, trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::untrusted_signer);
    auto bare = export_line(key, e, export_test_bytes(out), {});
    CHECK(bare.find("signature") == std::string::npos);
    r = check_line(bare, trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::unsigned_entry);
    CHECK(check_line(bare, {}));
  }
  SUBCASE("a signature field that is not one") {
    CHECK_FALSE(
      parse_export_line(replaced_in(line, R"("signer":")", R"("signer":"0)")));
    auto half = replaced_in(line, R"("signature":")", R"("signatur":")");
    CHECK_FALSE(parse_export_line(half));
  }
}

TEST_CASE("a signed export line of a command that is not UTF-8 verifies") {
  auto signer = export_test_signer('3');
  std::vector<secrets::PublicKey> trusted{ signer.public_key() };
  std::string out = "x";
  Entry e = export_test_entry(out);
  // The line carries U+FFFD for the bytes that are not UTF-8: the
  // signature covers what the line reads back as.
  e.display = "tool\xff \xed\xa0\x80 caf\xc3\xa9";
  e.tool = "run\xfe";
  e.tags = { "t\xff" };
  e.usage = { { "m\xff", 1, 2 } };
  auto key = sha256("request");
  auto line = export_line(key, e, export_test_bytes(out), {}, &signer);
  auto back = parse_export_line(line);
  REQUIRE_MESSAGE(back, back.error());
  CHECK(back->entry.display != e.display);
  CHECK(check_exported_signature(*back, trusted));
}

TEST_CASE("a signed CAR entry block verifies, and an edit is caught") {
  auto signer = export_test_signer('4');
  std::vector<secrets::PublicKey> trusted{ signer.public_key() };
  std::string out = "AAA\n";
  auto key = sha256("run echo AAA");
  Entry e = export_test_entry(out);
  auto to_exported = [&](const std::string& block) {
    auto decoded = decode_car_entry(block);
    REQUIRE_MESSAGE(decoded, decoded.error());
    return ExportedEntry{
      decoded->key, decoded->entry, out, "", decoded->signature
    };
  };
  auto block = encode_car_entry(key, e, &signer);
  CHECK(check_exported_signature(to_exported(block), trusted));
  // Unsigned: taken only where no key is trusted.
  auto bare = encode_car_entry(key, e);
  CHECK(check_exported_signature(to_exported(bare), {}));
  CHECK_FALSE(check_exported_signature(to_exported(bare), trusted));
  // The same entry under another key, or with another expiry, and the
  // signature of the original.
  Entry later = e;
  later.expires_ms = 253'402'300'799'000;
  for (auto [k, changed] :
       { std::pair{ sha256("run echo BBB"), e }, std::pair{ key, later } }) {
    auto x = to_exported(encode_car_entry(k, changed));
    x.signature = to_exported(block).signature;
    auto r = check_exported_signature(x, trusted);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == SignatureKind::mismatch);
  }
}
