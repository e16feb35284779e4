// The library behind the management commands: the store's walks, dry-run
// transactions and eviction callback, secret redaction, the export format,
// base64 and config file editing.

#include "core/cid.hpp"
#include "core/config_edit.hpp"
#include "core/redact.hpp"
#include "storage/exchange.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

using namespace ipfsacc;
using namespace ipfsacc::storage;
using ipfsacc::test::TempDir;

namespace {

Entry entry_with(const std::string& out,
                 int64_t last_used,
                 int64_t expires,
                 std::string tool = "gh") {
  Entry e;
  e.created_ms = 1000;
  e.expires_ms = expires;
  e.last_used_ms = last_used;
  e.stdout_digest = sha256(out);
  e.stdout_size = out.size();
  e.stderr_digest = empty_digest();
  e.tool = std::move(tool);
  e.operation = "op";
  e.display = "gh pr list";
  if (!out.empty()) {
    e.segments.push_back({ Stream::out, out.size() });
  }
  return e;
}

void put(Store& store,
         const Digest& key,
         const Entry& e,
         const std::string& out) {
  BlobSource blob;
  blob.digest = sha256(out);
  blob.size = out.size();
  blob.memory = out;
  auto done = store.write(
    [&](StoreWriter& w) { w.put_entry(key, e, std::span(&blob, 1)); });
  REQUIRE_MESSAGE(done, done.error());
}

std::unique_ptr<Store> open_store(const TempDir& dir) {
  auto s = Store::open(dir.path(), Access::read_write);
  REQUIRE_MESSAGE(s, s.error());
  return std::move(*s);
}

} // namespace

TEST_CASE("the index walks give keys in order of last use and of expiry") {
  TempDir dir;
  auto store = open_store(dir);
  // Last use and expiry run in opposite orders.
  for (int i = 0; i < 5; ++i) {
    put(*store,
        sha256(std::to_string(i)),
        entry_with("out " + std::to_string(i), 100 + i, 900 - i),
        "out " + std::to_string(i));
  }
  std::vector<int64_t> oldest, newest, expiry;
  std::vector<Digest> by_expiry;
  auto read = store->read([&](StoreReader& r) {
    r.for_each_by_last_use(Order::oldest_first, [&](const Digest&, int64_t t) {
      oldest.push_back(t);
      return true;
    });
    r.for_each_by_last_use(Order::newest_first, [&](const Digest&, int64_t t) {
      newest.push_back(t);
      return newest.size() < 3; // stops when asked
    });
    r.for_each_by_expiry([&](const Digest& key, int64_t t) {
      expiry.push_back(t);
      by_expiry.push_back(key);
      return true;
    });
  });
  REQUIRE(read);
  CHECK(oldest == std::vector<int64_t>{ 100, 101, 102, 103, 104 });
  CHECK(newest == std::vector<int64_t>{ 104, 103, 102 });
  CHECK(expiry == std::vector<int64_t>{ 896, 897, 898, 899, 900 });
  CHECK(by_expiry.front() == sha256("4"));
}

TEST_CASE("for_each_key starts at the first key not below the one given") {
  TempDir dir;
  auto store = open_store(dir);
  std::vector<Digest> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(sha256("key " + std::to_string(i)));
    put(*store, keys.back(), entry_with("x", 1, 2), "x");
  }
  std::sort(keys.begin(), keys.end());
  std::vector<Digest> all, from_middle;
  (void)store->read([&](StoreReader& r) {
    r.for_each_key(Digest{}, [&](const Digest& k) {
      all.push_back(k);
      return true;
    });
    r.for_each_key(keys[10], [&](const Digest& k) {
      from_middle.push_back(k);
      return true;
    });
  });
  CHECK(all == keys);
  CHECK(from_middle == std::vector<Digest>(keys.begin() + 10, keys.end()));
}

TEST_CASE("table sizes, inline blobs and reference counts") {
  TempDir dir;
  auto store = open_store(dir);
  put(*store, sha256("a"), entry_with("shared", 1, 2), "shared");
  put(*store, sha256("b"), entry_with("shared", 2, 3), "shared");
  put(*store, sha256("c"), entry_with("own", 3, 4), "own");
  StoreReader::TableSizes sizes;
  std::map<Digest, int64_t> refs;
  std::map<Digest, std::string> blobs;
  (void)store->read([&](StoreReader& r) {
    sizes = r.table_sizes();
    r.for_each_blob_ref([&](const Digest& d, int64_t n) {
      refs[d] = n;
      return true;
    });
    r.for_each_inline_blob([&](const Digest& d, std::span<const uint8_t> b) {
      blobs[d] = std::string(b.begin(), b.end());
      return true;
    });
  });
  CHECK(sizes.entries == 3);
  CHECK(sizes.by_lru == 3);
  CHECK(sizes.by_expiry == 3);
  CHECK(sizes.blobs == 2);
  CHECK(sizes.refs == 2);
  CHECK(refs[sha256("shared")] == 2);
  CHECK(refs[sha256("own")] == 1);
  CHECK(blobs[sha256("shared")] == "shared");
}

TEST_CASE("a write with Commit::no sees its changes and leaves nothing") {
  TempDir dir;
  auto store = open_store(dir);
  put(*store, sha256("a"), entry_with("a", 1, 2), "a");
  bool gone_inside = false;
  auto done = store->write(
    [&](StoreWriter& w) {
      CHECK(w.remove_entry(sha256("a")));
      gone_inside = !w.entry(sha256("a"));
    },
    Commit::no);
  REQUIRE(done);
  CHECK(gone_inside);
  bool still_there = false;
  (void)store->read(
    [&](StoreReader& r) { still_there = r.entry(sha256("a")).has_value(); });
  CHECK(still_there);
}

TEST_CASE("evict_to shows each evicted entry to its callback") {
  TempDir dir;
  auto store = open_store(dir);
  std::string big(10000, 'x');
  for (int i = 0; i < 4; ++i) {
    auto out = big + std::to_string(i);
    put(*store,
        sha256(std::to_string(i)),
        entry_with(out, 10 + i, 99, i < 2 ? "old" : "new"),
        out);
  }
  std::vector<std::string> tools;
  size_t evicted = 0;
  (void)store->write([&](StoreWriter& w) {
    tools.clear();
    evicted =
      w.evict_to(25000, [&](const Entry& e) { tools.push_back(e.tool); });
  });
  CHECK(evicted == 2);
  CHECK(tools == std::vector<std::string>{ "old", "old" });
}

TEST_CASE("credentials in argv are redacted") {
  auto r = [](std::vector<std::string> args) { return redact_args(args); };
  using V = std::vector<std::string>;
  CHECK(r({ "gh", "--token", "abc", "pr" }) ==
        V{ "gh", "--token", "***", "pr" });
  CHECK(r({ "x", "--api-key=abc" }) == V{ "x", "--api-key=***" });
  CHECK(r({ "x", "--password", "p" }) == V{ "x", "--password", "***" });
  // --max-tokens is no secret.
  CHECK(r({ "groq", "--max-tokens", "100" }) ==
        V{ "groq", "--max-tokens", "100" });
  CHECK(r({ "curl", "-H", "Authorization: Bearer abc" }) ==
        V{ "curl", "-H", "Authorization: ***" });
  CHECK(r({ "curl", "--header=x-api-key: abc" }) ==
        V{ "curl", "--header=x-api-key: ***" });
  CHECK(r({ "curl", "https://me:pw@example.com/x" }) ==
        V{ "curl", "https://me:***@example.com/x" });
  CHECK(r({ "env", "GH_TOKEN=abc", "gh" }) == V{ "env", "GH_TOKEN=***", "gh" });
  CHECK(r({ "x", "ghp_0123456789abcdefghijABCDEFGHIJ" }) == V{ "x", "***" });
  CHECK(r({ "x", "key=hf_0123456789abcdefghijABCDEF!" }) ==
        V{ "x", "key=***!" });
  CHECK(r({ "x", "sk-ant-api03-0123456789abcdef" }) == V{ "x", "***" });
  // Short lookalikes stay.
  CHECK(r({ "pip", "install", "sk-learn", "hf_transfer" }) ==
        V{ "pip", "install", "sk-learn", "hf_transfer" });
}

TEST_CASE("a display splits back into the arguments join_args quoted") {
  std::vector<std::string> args{ "gh", "api",  "it's",          "a b",
                                 "",   "x\ny", "--jq=.[] | .x", "\x01" };
  auto display = util::join_args(args);
  auto back = split_display(display);
  // Control bytes stay escaped as text; everything else round-trips.
  CHECK(util::join_args(back) == display);
  CHECK(back[2] == "it's");
  CHECK(back[3] == "a b");
  CHECK(back[4] == "");
  CHECK(redact_display("curl -H 'Authorization: token abc' u") ==
        "curl -H 'Authorization: ***' u");
  CHECK(redact_display("gh pr list") == "gh pr list");
}

TEST_CASE("base64 matches libsodium's and rejects what is not base64") {
  for (size_t n : { 0, 1, 2, 3, 4, 5, 57, 1000, 1001, 1002 }) {
    std::string bytes(n, '\0');
    randombytes_buf(bytes.data(), n);
    std::string ours;
    util::base64_append(
      ours, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), n));
    std::string theirs(
      sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(theirs.data(),
                      theirs.size(),
                      reinterpret_cast<const unsigned char*>(bytes.data()),
                      n,
                      sodium_base64_VARIANT_ORIGINAL);
    theirs.pop_back();
    CAPTURE(n);
    CHECK(ours == theirs);
    std::string decoded;
    CHECK(util::base64_decode(ours, decoded));
    CHECK(decoded == bytes);
  }
  std::string out;
  CHECK_FALSE(util::base64_decode("abc", out));
  CHECK_FALSE(util::base64_decode("ab!d", out));
  CHECK_FALSE(util::base64_decode("====", out));
  CHECK_FALSE(util::base64_decode("ab=d", out));
  CHECK_FALSE(util::base64_decode("QR==", out)); // non-zero dropped bits
  CHECK(util::base64_decode("QQ==", out));
  CHECK(out == "A");
}

TEST_CASE("an export line reads back verified, and tampering is caught") {
  std::string out = "hello\n";
  std::string err = "warn\n";
  Entry e = entry_with(out, 5, 6);
  e.stderr_digest = sha256(err);
  e.stderr_size = err.size();
  e.segments = { { Stream::out, 3 }, { Stream::err, 5 }, { Stream::out, 3 } };
  e.tags = { "gh:pr:o/r" };
  e.exit_code = 3;
  e.hits = 7;
  auto key = sha256("request");
  auto line = export_line(
    key,
    e,
    std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()),
    std::span(reinterpret_cast<const uint8_t*>(err.data()), err.size()));
  CHECK(line.find('\n') == std::string::npos);
  auto back = parse_export_line(line);
  REQUIRE_MESSAGE(back, back.error());
  CHECK(back->key == key);
  CHECK(back->out == out);
  CHECK(back->err == err);
  CHECK(back->entry.exit_code == 3);
  CHECK(back->entry.hits == 7);
  CHECK(back->entry.tags == e.tags);
  CHECK(back->entry.segments.size() == 3);
  CHECK(encode_entry(back->entry) == encode_entry(e));

  SUBCASE("changed output bytes") {
    // "hello\n" is aGVsbG8K; "jello\n" is amVsbG8K, of the same size.
    auto tampered = line;
    tampered.replace(tampered.find("aGVsbG8K"), 8, "amVsbG8K");
    auto r = parse_export_line(tampered);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("do not match their CID") != std::string::npos);
  }
  SUBCASE("a size that lies") {
    auto tampered = line;
    tampered.replace(tampered.find("\"size\":6"), 8, "\"size\":7");
    CHECK_FALSE(parse_export_line(tampered));
  }
  SUBCASE("segments that do not add up") {
    auto tampered = line;
    tampered.replace(tampered.find("[\"err\",5]"), 9, "[\"err\",4]");
    CHECK_FALSE(parse_export_line(tampered));
  }
  SUBCASE("not JSON, or another format") {
    CHECK_FALSE(parse_export_line("{"));
    CHECK_FALSE(parse_export_line("[]"));
    CHECK_FALSE(parse_export_line(R"({"format":"other"})"));
  }
  SUBCASE("reformatted JSON with escapes still reads") {
    // The same object as a JSON library would write it, spaces and all.
    auto j = nlohmann::json::parse(line);
    auto again = parse_export_line(j.dump(1));
    REQUIRE_MESSAGE(again, again.error());
    CHECK(again->out == out);
  }
}

TEST_CASE("an export line nested too deeply is rejected, not recursed into") {
  for (size_t depth : { size_t(40), size_t(20000), size_t(500000) }) {
    CAPTURE(depth);
    std::string nested(depth, '[');
    nested += std::string(depth, ']');
    for (const auto& line :
         { nested, R"({"format":"ipfsacc-export/1","x":)" + nested + "}" }) {
      auto r = parse_export_line(line);
      REQUIRE_FALSE(r);
      CHECK(r.error().starts_with("nested too deeply"));
    }
  }
  // As deep as the bound allows is read (and then found wanting).
  std::string ok = R"({"format":"ipfsacc-export/1","x":)" +
                   std::string(30, '[') + std::string(30, ']') + "}";
  auto r = parse_export_line(ok);
  REQUIRE_FALSE(r);
  CHECK_FALSE(r.error().starts_with("nested too deeply"));
}

TEST_CASE("an export line's metadata is what a JSON library writes") {
  std::string out = "x";
  Entry e = entry_with(out, 5, 6);
  e.display = "gh api \"q\" \\ \t\n\x01\x1f\x7f caf\u00e9 \xe2\x82\xac";
  e.display += "\xff"; // not UTF-8
  e.tags = { "gh:pr:o/r", "t\"ag" };
  e.exit_code = -3;
  e.hits = 12;
  e.segments = { { Stream::out, 1 } };
  e.usage = { { "claude-x", 10, 20 }, { "m\u00e9", 1, 2 } };
  e.reported_cost_micro_usd = 1234;
  auto key = sha256("request");
  auto line = export_line(
    key, e, std::span(reinterpret_cast<const uint8_t*>(out.data()), 1), {});

  using nlohmann::json;
  json usage = json::array();
  for (const auto& u : e.usage) {
    usage.push_back({ { "model", u.model },
                      { "input_tokens", u.input },
                      { "output_tokens", u.output } });
  }
  json meta = {
    { "format", "ipfsacc-export/1" },
    { "key", cid_string(key) },
    { "tool", e.tool },
    { "operation", e.operation },
    { "command", e.display },
    { "exit_code", e.exit_code },
    { "created_ms", e.created_ms },
    { "expires_ms", e.expires_ms },
    { "last_used_ms", e.last_used_ms },
    { "duration_ms", e.duration_ms },
    { "hits", e.hits },
    { "segments", json::array({ json::array({ "out", 1 }) }) },
    { "tags", e.tags },
    { "usage", usage },
    { "reported_cost_micro_usd", e.reported_cost_micro_usd },
  };
  auto expected = meta.dump(-1, ' ', false, json::error_handler_t::replace);
  expected.pop_back();
  CHECK(line.substr(0, expected.size() + 11) == expected + R"(,"stdout":{)");
  auto back = parse_export_line(line);
  REQUIRE_MESSAGE(back, back.error());
  CHECK(back->entry.usage.size() == 2);
  CHECK(back->entry.reported_cost_micro_usd == 1234);
  CHECK(back->entry.tags == e.tags);
}

TEST_CASE("an export line reads the same by the fast reader and by nlohmann") {
  std::string out = "h\u00e9llo\n";
  Entry e = entry_with(out, 5, 6);
  e.display = "gh api \"q\" \\ tab\t";
  e.tags = { "gh:pr:o/r", "x" };
  e.exit_code = -2;
  auto key = sha256("request");
  auto line = export_line(
    key,
    e,
    std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()),
    {});
  auto fast = parse_export_line(line);
  REQUIRE_MESSAGE(fast, fast.error());
  CHECK(encode_entry(fast->entry) == encode_entry(e));

  // The same object as another JSON writer may spell it: \u escapes and
  // UTF-8, which the fast reader hands to nlohmann.
  Entry accented = e;
  accented.display = "gh search issues caf\u00e9";
  auto j = nlohmann::json::parse(export_line(
    key,
    accented,
    std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()),
    {}));
  for (auto ensure_ascii : { false, true }) {
    CAPTURE(ensure_ascii);
    auto other = parse_export_line(
      j.dump(-1, ' ', ensure_ascii, nlohmann::json::error_handler_t::strict));
    REQUIRE_MESSAGE(other, other.error());
    CHECK(encode_entry(other->entry) == encode_entry(accented));
    CHECK(other->out == out);
  }
  SUBCASE("a duplicate field: the last one counts, as in nlohmann") {
    auto twice = line;
    twice.insert(1, R"("hits":99,)");
    twice.insert(twice.size() - 1, R"(,"hits":12)");
    auto r = parse_export_line(twice);
    REQUIRE_MESSAGE(r, r.error());
    CHECK(r->entry.hits == 12);
  }
  SUBCASE("numbers JSON does not allow, or of the wrong kind") {
    auto leading_zero = line;
    leading_zero.replace(leading_zero.find("\"hits\":0"), 8, "\"hits\":07");
    auto r = parse_export_line(leading_zero);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "not a JSON object");
    auto fraction = line;
    fraction.replace(fraction.find("\"hits\":0"), 8, "\"hits\":0.5");
    r = parse_export_line(fraction);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "\"hits\" has the wrong type");
    auto negative = line;
    negative.replace(negative.find("\"hits\":0"), 8, "\"hits\":-1");
    r = parse_export_line(negative);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "\"hits\" has the wrong type");
  }
  SUBCASE("a control byte or broken UTF-8 inside a string") {
    auto control = line;
    control.replace(control.find("tab"), 3, "t\tb");
    CHECK(parse_export_line(control).error() == "not a JSON object");
    auto broken = line;
    broken.replace(broken.find("tab"),
                   3,
                   "t\xff"
                   "b");
    CHECK(parse_export_line(broken).error() == "not a JSON object");
  }
  SUBCASE("trailing bytes after the object") {
    CHECK(parse_export_line(line + " x").error() == "not a JSON object");
    CHECK(parse_export_line(line + " \t"));
  }
}

TEST_CASE("config edits keep comments and order") {
  std::string text = "# my settings\nmax_size = 1G\n\nttl.gh = 5m # gh\n"
                     "stats = false\nmax_size = 3G\n";
  bool changed = false;
  CHECK(edit_config_text(text, "max_size", "2G", &changed) ==
        "# my settings\nmax_size = 2G\n\nttl.gh = 5m # gh\nstats = false\n");
  CHECK(changed);
  CHECK(edit_config_text(text, "default_ttl", "1h") ==
        text + "default_ttl = 1h\n");
  CHECK(edit_config_text("a = 1", "b", "2") == "a = 1\nb = 2\n");
  CHECK(edit_config_text(text, "stats", std::nullopt) ==
        "# my settings\nmax_size = 1G\n\nttl.gh = 5m # gh\nmax_size = 3G\n");
  edit_config_text(text, "remote", std::nullopt, &changed);
  CHECK_FALSE(changed);
  CHECK(edit_config_text("", "stats", "true") == "stats = true\n");
}
