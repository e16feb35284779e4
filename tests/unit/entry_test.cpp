#include "core/cid.hpp"
#include "storage/entry.hpp"

#include <doctest/doctest.h>
#include <limits>

using namespace ipfsacc;
using namespace ipfsacc::storage;

namespace {

Entry sample_entry() {
  Entry e;
  e.exit_code = 2;
  e.created_ms = 1'700'000'000'000;
  e.expires_ms = 1'700'000'300'000;
  e.duration_ms = 1234;
  e.hits = 99;
  e.last_used_ms = 1'700'000'100'000;
  e.stdout_digest = sha256("stdout bytes");
  e.stdout_size = 300;
  e.stderr_digest = sha256("stderr bytes");
  e.stderr_size = 50;
  e.tool = "gh";
  e.operation = "pr-list";
  e.display = "gh pr list --json 'title,number'";
  e.segments = { { Stream::out, 100 },
                 { Stream::err, 20 },
                 { Stream::out, 200 },
                 { Stream::err, 30 } };
  e.tags = { "gh:pr:cli/cli", "gh:pr:octo/cat" };
  e.usage = { { "claude-sonnet-4-5", 1100, 50 }, { "", 0, 1 } };
  e.reported_cost_micro_usd = 12300;
  return e;
}

void check_equal(const Entry& a, const Entry& b) {
  CHECK(a.exit_code == b.exit_code);
  CHECK(a.created_ms == b.created_ms);
  CHECK(a.expires_ms == b.expires_ms);
  CHECK(a.duration_ms == b.duration_ms);
  CHECK(a.hits == b.hits);
  CHECK(a.last_used_ms == b.last_used_ms);
  CHECK(a.stdout_digest == b.stdout_digest);
  CHECK(a.stdout_size == b.stdout_size);
  CHECK(a.stderr_digest == b.stderr_digest);
  CHECK(a.stderr_size == b.stderr_size);
  CHECK(a.tool == b.tool);
  CHECK(a.operation == b.operation);
  CHECK(a.display == b.display);
  REQUIRE(a.segments.size() == b.segments.size());
  for (size_t i = 0; i < a.segments.size(); ++i) {
    CAPTURE(i);
    CHECK(a.segments[i].stream == b.segments[i].stream);
    CHECK(a.segments[i].size == b.segments[i].size);
  }
  CHECK(a.tags == b.tags);
  REQUIRE(a.usage.size() == b.usage.size());
  for (size_t i = 0; i < a.usage.size(); ++i) {
    CHECK(a.usage[i].model == b.usage[i].model);
    CHECK(a.usage[i].input == b.usage[i].input);
    CHECK(a.usage[i].output == b.usage[i].output);
  }
  CHECK(a.reported_cost_micro_usd == b.reported_cost_micro_usd);
}

} // namespace

TEST_CASE("an entry decodes to what was encoded") {
  Entry e = sample_entry();
  auto bytes = encode_entry(e);
  auto back = decode_entry(bytes);
  REQUIRE(back);
  check_equal(*back, e);
  // Deterministic: the same entry, the same bytes.
  CHECK(encode_entry(*back) == bytes);
}

TEST_CASE("extreme values round trip") {
  Entry e;
  e.exit_code = -1;
  e.created_ms = std::numeric_limits<int64_t>::min();
  e.expires_ms = std::numeric_limits<int64_t>::max();
  e.duration_ms = std::numeric_limits<uint32_t>::max();
  e.hits = std::numeric_limits<uint64_t>::max();
  e.last_used_ms = -5;
  e.stdout_size = uint64_t{ 1 } << 40;
  e.segments = { { Stream::out, uint64_t{ 1 } << 40 } };
  e.tool = std::string("t\0ol", 4); // bytes, not C strings
  e.display = std::string(1000, 'x');
  e.tags = { "", "a" };
  auto back = decode_entry(encode_entry(e));
  REQUIRE(back);
  check_equal(*back, e);
}

TEST_CASE("an empty entry round trips") {
  Entry e;
  auto back = decode_entry(encode_entry(e));
  REQUIRE(back);
  check_equal(*back, e);
  CHECK(back->segments.empty());
  CHECK(back->tags.empty());
}

TEST_CASE("every truncation of an entry is rejected") {
  auto bytes = encode_entry(sample_entry());
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_entry(std::string_view(bytes).substr(0, n)));
  }
  // Trailing bytes are not an entry either.
  CHECK_FALSE(decode_entry(bytes + '\0'));
  CHECK_FALSE(decode_entry(bytes + "xyz"));
}

TEST_CASE("an unknown format version is rejected") {
  auto bytes = encode_entry(sample_entry());
  REQUIRE(decode_entry(bytes));
  for (int version : { 0, 4, 0x7f, 0xff }) {
    CAPTURE(version);
    auto other = bytes;
    other[0] = static_cast<char>(version);
    CHECK_FALSE(decode_entry(other));
  }
}

TEST_CASE("a version 1 record (before token usage) is still read") {
  Entry e = sample_entry();
  e.usage.clear();
  e.reported_cost_micro_usd = -1;
  auto bytes = encode_entry(e);
  // Version 1 is version 2 without the usage list and the reported cost
  // (one byte each when empty).
  auto v1 = bytes.substr(0, bytes.size() - 2);
  v1[0] = 1;
  auto back = decode_entry(v1);
  REQUIRE(back);
  check_equal(*back, e);
  // A version 1 record with the usage fields is not one.
  auto extra = bytes;
  extra[0] = 1;
  CHECK_FALSE(decode_entry(extra));
}

TEST_CASE("segments that do not account for every byte are rejected") {
  SUBCASE("stdout short") {
    Entry e = sample_entry();
    e.segments[2].size -= 1;
    CHECK_FALSE(decode_entry(encode_entry(e)));
  }
  SUBCASE("stderr long") {
    Entry e = sample_entry();
    e.segments[3].size += 1;
    CHECK_FALSE(decode_entry(encode_entry(e)));
  }
  SUBCASE("streams swapped") {
    Entry e = sample_entry();
    e.segments = { { Stream::err, 300 }, { Stream::out, 50 } };
    CHECK_FALSE(decode_entry(encode_entry(e)));
  }
  SUBCASE("no segments for a non-empty output") {
    Entry e = sample_entry();
    e.segments.clear();
    CHECK_FALSE(decode_entry(encode_entry(e)));
  }
  SUBCASE("the same sizes in other pieces are fine") {
    Entry e = sample_entry();
    e.segments = { { Stream::err, 50 },
                   { Stream::out, 1 },
                   { Stream::out, 299 } };
    auto back = decode_entry(encode_entry(e));
    REQUIRE(back);
    CHECK(back->segments.size() == 3);
  }
}

TEST_CASE("an entry naming the frames of its outputs (a remote's) round "
          "trips as version 3, which the decoders before it refuse") {
  Entry e = sample_entry();
  PackedBlob out{ sha256("a frame"), 120 };
  PackedBlob err{ sha256("another"), 20 };
  e.stdout_packed = out;
  e.stderr_packed = err;
  auto bytes = encode_entry(e);
  // Versions 1 and 2 are all an ipfsacc without compression reads: it
  // refuses this one, a miss, and never takes a frame for an output.
  REQUIRE(bytes[0] == 3);
  auto back = decode_entry(bytes);
  REQUIRE(back);
  check_equal(*back, e);
  CHECK(back->stdout_packed == out);
  CHECK(back->stderr_packed == err);
  CHECK(encode_entry(*back) == bytes);
  // Only one output framed.
  e.stderr_packed.reset();
  back = decode_entry(encode_entry(e));
  REQUIRE(back);
  CHECK(back->stdout_packed == out);
  CHECK_FALSE(back->stderr_packed);
  // Without frames the entry stays version 2, readable by every version.
  e.stdout_packed.reset();
  CHECK(encode_entry(e)[0] == 2);
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode_entry(std::string_view(bytes).substr(0, n)));
  }
}

TEST_CASE("a frame no smaller than its output, or empty, is refused") {
  Entry e = sample_entry();
  for (uint64_t size : { uint64_t{ 0 }, e.stdout_size, e.stdout_size + 1 }) {
    CAPTURE(size);
    e.stdout_packed = PackedBlob{ sha256("frame"), size };
    CHECK_FALSE(decode_entry(encode_entry(e)));
  }
  // A version 3 record that names no frame is not one this version wrote.
  e.stdout_packed.reset();
  auto bytes = encode_entry(e);
  bytes[0] = 3;
  CHECK_FALSE(decode_entry(bytes + '\0'));
}
