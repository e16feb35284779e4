#include "core/cid.hpp"
#include "storage/car.hpp"

#include <doctest/doctest.h>

using namespace ipfsacc;
using namespace ipfsacc::storage;

namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

Entry sample() {
  Entry e;
  e.exit_code = -3;
  e.created_ms = 1'700'000'000'000;
  e.expires_ms = 1'700'000'300'000;
  e.last_used_ms = 1'700'000'100'000;
  e.duration_ms = 70000;
  e.hits = 5;
  e.stdout_digest = sha256("out");
  e.stdout_size = 3;
  e.stderr_digest = sha256("er");
  e.stderr_size = 2;
  e.tool = "gh";
  e.operation = "pr-list";
  e.display = "gh pr list";
  e.segments = { { Stream::err, 1 }, { Stream::out, 3 }, { Stream::err, 1 } };
  e.tags = { "gh:pr:o/r" };
  e.usage = { { "m", 10, 20 } };
  e.reported_cost_micro_usd = 7;
  return e;
}

std::string archive(std::span<const BlockId> roots,
                    std::span<const std::pair<BlockId, std::string>> blocks) {
  std::string out;
  CarWriter car([&](std::string_view b) {
    out += b;
    return true;
  });
  REQUIRE(car.header(roots));
  for (const auto& [id, data] : blocks) {
    REQUIRE(car.block(id, bytes_of(data)));
  }
  return out;
}

} // namespace

TEST_CASE("a CAR header is canonical DAG-CBOR") {
  // {"roots": [], "version": 1}: keys by length, shortest first.
  auto empty = archive({}, {});
  CHECK(empty == std::string("\x11\xa2\x65roots\x80\x67version\x01", 18));
  auto contents = read_car(bytes_of(empty));
  REQUIRE(contents);
  CHECK(contents->roots.empty());
  CHECK(contents->blocks.empty());
  CHECK(looks_like_car(bytes_of(empty)));
  CHECK_FALSE(looks_like_car(bytes_of("{\"format\":1}")));
}

TEST_CASE("raw blocks keep the blob CID") {
  BlockId id{ kCodecRaw, sha256("hello world\n") };
  // The well-known CID of "hello world\n" as a raw block.
  CHECK(id.text() ==
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  CHECK(id.text() == cid_string(id.digest));
  BlockId cbor{ kCodecDagCbor, id.digest };
  CHECK(cbor.text().starts_with("bafyrei"));
}

TEST_CASE("an entry block decodes to what was encoded") {
  Digest key = sha256("request");
  Entry e = sample();
  auto block = encode_car_entry(key, e);
  auto back = decode_car_entry(block);
  REQUIRE(back);
  CHECK(back->key == key);
  const auto& d = back->entry;
  CHECK(d.exit_code == -3);
  CHECK(d.created_ms == e.created_ms);
  CHECK(d.expires_ms == e.expires_ms);
  CHECK(d.last_used_ms == e.last_used_ms);
  CHECK(d.duration_ms == 70000);
  CHECK(d.hits == 5);
  CHECK(d.stdout_digest == e.stdout_digest);
  CHECK(d.stderr_digest == e.stderr_digest);
  CHECK(d.tool == "gh");
  CHECK(d.operation == "pr-list");
  CHECK(d.display == "gh pr list");
  REQUIRE(d.segments.size() == 3);
  CHECK(d.segments[1].stream == Stream::out);
  CHECK(d.tags == e.tags);
  REQUIRE(d.usage.size() == 1);
  CHECK(d.usage[0].output == 20);
  CHECK(d.reported_cost_micro_usd == 7);
  // Deterministic.
  CHECK(encode_car_entry(key, d) == block);
}

TEST_CASE("bad entry blocks are refused") {
  Digest key = sha256("request");
  auto block = encode_car_entry(key, sample());
  for (size_t n = 0; n < block.size(); n += 7) {
    CAPTURE(n);
    CHECK_FALSE(decode_car_entry(std::string_view(block).substr(0, n)));
  }
  Entry short_segments = sample();
  short_segments.segments.pop_back();
  CHECK_FALSE(decode_car_entry(encode_car_entry(key, short_segments)));
  CHECK_FALSE(decode_car_entry("\xa0"));     // an empty map
  CHECK_FALSE(decode_car_entry("\x9f\xff")); // indefinite length
}

TEST_CASE("read_car verifies every block") {
  std::string out = "out";
  std::string entry = encode_car_entry(sha256("k"), sample());
  BlockId out_id{ kCodecRaw, sha256(out) };
  BlockId entry_id{ kCodecDagCbor, sha256(entry) };
  std::pair<BlockId, std::string> blocks[] = { { entry_id, entry },
                                               { out_id, out } };
  BlockId roots[] = { entry_id };
  auto car = archive(roots, blocks);
  auto contents = read_car(bytes_of(car));
  REQUIRE(contents);
  REQUIRE(contents->roots.size() == 1);
  CHECK(contents->roots[0].digest == entry_id.digest);
  CHECK(contents->roots[0].codec == kCodecDagCbor);
  REQUIRE(contents->blocks.size() == 2);
  CHECK(contents->rejected.empty());

  SUBCASE("a changed byte rejects that block only") {
    car[car.size() - 1] ^= 1;
    auto tampered = read_car(bytes_of(car));
    REQUIRE(tampered);
    CHECK(tampered->blocks.size() == 1);
    REQUIRE(tampered->rejected.size() == 1);
    CHECK(tampered->rejected[0].find("do not hash to its CID") !=
          std::string::npos);
  }
  SUBCASE("a truncated archive is an error") {
    CHECK_FALSE(
      read_car(bytes_of(std::string_view(car).substr(0, car.size() - 1))));
  }
  SUBCASE("not a CAR") {
    CHECK_FALSE(read_car(bytes_of("")));
    CHECK_FALSE(read_car(bytes_of("{\"format\":\"x\"}\n")));
  }
}
