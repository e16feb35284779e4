// A new engine needs only the pure virtuals of remote::Tier: an engine for a
// made-up scheme, held in memory, registered by scheme and driven through
// Remotes as the built-in ones are.

#include "remote/remotes.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "storage/entry.hpp"
#include "util/zstd.hpp"

#include <doctest/doctest.h>
#include <map>

using namespace ipfsacc;
using namespace ipfsacc::remote;

namespace {

// What the engine holds, with the expiry each key was last written with.
struct Memory {
  struct Value {
    std::string bytes;
    int64_t expires_ms = 0;
  };
  std::map<Digest, Value> entries;
  std::map<Digest, Value> blobs;
  int blob_puts = 0;
};

// The smallest engine: only what Tier leaves pure.
class MemoryTier final : public Tier {
public:
  explicit MemoryTier(Memory& memory)
    : memory_(memory) {}

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    auto it = memory_.entries.find(key);
    if (it == memory_.entries.end()) {
      return std::optional<std::string>();
    }
    return std::optional(it->second.bytes);
  }
  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t expires_ms) override {
    memory_.entries[key] = { std::string(encoded), expires_ms };
    return {};
  }
  Result<bool> remove_entry(const Digest& key) override {
    return memory_.entries.erase(key) > 0;
  }
  Result<std::vector<Digest>> list_entries() override {
    std::vector<Digest> keys;
    for (const auto& [key, value] : memory_.entries) {
      keys.push_back(key);
    }
    return keys;
  }
  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    auto it = memory_.blobs.find(digest);
    if (it == memory_.blobs.end()) {
      return std::optional<std::string>();
    }
    if (it->second.bytes.size() != size) {
      return std::unexpected(Failure{ Failure::Kind::rejected, "size" });
    }
    return std::optional(it->second.bytes);
  }
  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t expires_ms) override {
    ++memory_.blob_puts;
    memory_.blobs[digest] = { std::string(bytes.begin(), bytes.end()),
                              expires_ms };
    return {};
  }
  Result<uint64_t> purge() override {
    uint64_t n = memory_.entries.size() + memory_.blobs.size();
    memory_.entries.clear();
    memory_.blobs.clear();
    return n;
  }

private:
  Memory& memory_;
};

Memory& memory() {
  static Memory shared;
  return shared;
}

void register_memory_engine() {
  register_scheme("memtest", [](const Spec&) -> Result<std::unique_ptr<Tier>> {
    return std::make_unique<MemoryTier>(memory());
  });
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

// An entry of the given stdout, created at 1 s and fresh until 101 s.
storage::Entry entry_of(const std::string& out) {
  storage::Entry entry;
  entry.created_ms = 1'000;
  entry.expires_ms = 101'000;
  entry.stdout_digest = sha256(out);
  entry.stdout_size = out.size();
  entry.stderr_digest = empty_digest();
  entry.segments.push_back({ storage::Stream::out, out.size() });
  entry.tool = "run";
  entry.operation = "run";
  return entry;
}

} // namespace

TEST_CASE("remote engine: one registered by scheme with only the pure "
          "operations stores, looks up and purges through Remotes") {
  register_memory_engine();
  memory() = {};
  auto spec = parse_remote("memtest://h:1");
  REQUIRE(spec);
  Remotes remotes({ *spec });
  std::string out = "the answer\n";
  Digest key = sha256("a request");
  auto entry = entry_of(out);

  remotes.store(key, entry, as_bytes(out), {});
  REQUIRE(memory().entries.contains(key));
  CHECK(memory().entries[key].expires_ms == 101'000);
  CHECK(memory().blobs[entry.stdout_digest].bytes == out);
  // The default has_blob knows of no blob: a second store sends it again.
  remotes.store(key, entry, as_bytes(out), {});
  CHECK(memory().blob_puts == 2);

  auto found = remotes.fetch(key, 2'000);
  REQUIRE(found);
  CHECK(found->out == out);
  CHECK(found->from == "memtest://h:1");
  CHECK_FALSE(remotes.fetch(sha256("another request"), 2'000));
  CHECK(remotes.take_warnings().empty());

  // doctor's checks by default: a read, and a probe entry put and removed.
  auto* tier = remotes.tier(remotes.remotes()[0]);
  REQUIRE(tier);
  CHECK(tier->ping());
  CHECK(tier->probe_write());
  CHECK(memory().entries.size() == 1);

  // purge --remote --expired: the expired entry goes; the blobs are left to
  // the remote (the default keeps none to remove).
  auto kept = remotes.purge_expired(remotes.remotes()[0], 50'000);
  REQUIRE(kept);
  CHECK(kept->entries == 0);
  auto purged = remotes.purge_expired(remotes.remotes()[0], 200'000);
  REQUIRE(purged);
  CHECK(purged->entries == 1);
  CHECK(purged->blobs == 0);
  CHECK(memory().entries.empty());

  // purge --remote.
  remotes.store(key, entry, as_bytes(out), {});
  auto all = tier->purge();
  REQUIRE(all);
  CHECK(*all == 2);
  CHECK(memory().entries.empty());
  CHECK(memory().blobs.empty());
  CHECK_FALSE(remotes.remotes()[0].down);
}

TEST_CASE("remote engine: ttl-refresh on one with only the pure operations "
          "writes the entry and its blob again with the longer life") {
  register_memory_engine();
  memory() = {};
  auto spec = parse_remote("memtest://h:1|ttl-refresh");
  REQUIRE(spec);
  Remotes remotes({ *spec });
  std::string out = "kept\n";
  Digest key = sha256("a refreshed request");
  auto entry = entry_of(out);
  remotes.store(key, entry, as_bytes(out), {});
  REQUIRE(memory().blob_puts == 1);

  // A hit at 50 s keeps the keys one lifetime (100 s) from then.
  auto found = remotes.fetch(key, 50'000);
  REQUIRE(found);
  CHECK(memory().entries[key].expires_ms == 150'000);
  CHECK(memory().blobs[entry.stdout_digest].expires_ms == 150'000);
  CHECK(memory().blob_puts == 2);
  auto& counts = remotes.remotes()[0].counts;
  CHECK(counts[RemoteStat::hits] == 1);
  CHECK(
    counts[RemoteStat::bytes_sent] ==
    static_cast<int64_t>(memory().entries[key].bytes.size() + 2 * out.size()));
  CHECK_FALSE(remotes.remotes()[0].down);
}

namespace {

// A JSON answer of about size bytes: compresses well.
std::string answer_json(size_t size) {
  std::string s = "[";
  for (int i = 0; s.size() < size; ++i) {
    s += "{\"id\":" + std::to_string(i) +
         ",\"name\":\"model-card\",\"downloads\":1234,\"tags\":[\"nlp\"]},";
  }
  s.back() = ']';
  return s;
}

// The entry the engine holds under key, as a reader decodes it.
std::optional<storage::Entry> held_entry(const Digest& key) {
  auto unsealed = unseal(key, memory().entries[key].bytes, {});
  REQUIRE(unsealed);
  return storage::decode_entry(*unsealed);
}

} // namespace

TEST_CASE("remote engine: with compression an output goes as a frame under "
          "the frame's own digest, named by a version 3 entry") {
  register_memory_engine();
  memory() = {};
  auto spec = parse_remote("memtest://h:1");
  REQUIRE(spec);
  Remotes remotes({ *spec });
  remotes.set_compression(3);
  auto out = answer_json(10'000);
  Digest key = sha256("a JSON request");
  auto entry = entry_of(out);
  remotes.store(key, entry, as_bytes(out), {});

  // Nothing under the output's own digest: an older reader asking for it
  // finds no blob, and never a frame it would reject and send again.
  CHECK_FALSE(memory().blobs.contains(entry.stdout_digest));
  auto unsealed = unseal(key, memory().entries[key].bytes, {});
  REQUIRE(unsealed);
  CHECK((*unsealed)[0] == 3); // refused by the decoders of versions 1 and 2
  auto held = held_entry(key);
  REQUIRE(held);
  REQUIRE(held->stdout_packed);
  CHECK_FALSE(held->stderr_packed);
  const auto& frame = memory().blobs[held->stdout_packed->digest].bytes;
  CHECK(frame.size() == held->stdout_packed->size);
  CHECK(frame.size() < out.size() / 3);
  CHECK(sha256(frame) == held->stdout_packed->digest);

  auto found = remotes.fetch(key, 2'000);
  REQUIRE(found);
  CHECK(found->out == out);
  // Stored locally, the entry names its outputs only.
  CHECK_FALSE(found->entry.stdout_packed);
  CHECK(storage::encode_entry(found->entry)[0] == 2);

  // A small or incompressible output goes as it is, in a version 2 entry.
  std::string small = "ok\n";
  Digest small_key = sha256("a small request");
  remotes.store(small_key, entry_of(small), as_bytes(small), {});
  CHECK(memory().blobs[sha256(small)].bytes == small);
  auto small_held = unseal(small_key, memory().entries[small_key].bytes, {});
  REQUIRE(small_held);
  CHECK((*small_held)[0] == 2);

  // purge --remote --expired keeps the frames of live entries.
  auto purged = remotes.purge_expired(remotes.remotes()[0], 2'000);
  REQUIRE(purged);
  CHECK(purged->entries == 0);
}

TEST_CASE("remote engine: a frame that does not hold the output its entry "
          "names is refused, and entries without frames still read") {
  register_memory_engine();
  memory() = {};
  auto spec = parse_remote("memtest://h:1");
  REQUIRE(spec);
  auto out = answer_json(5'000);
  Digest key = sha256("a request");
  {
    // Stored without compression: read by a reader with it on.
    Remotes plain({ *spec });
    plain.store(key, entry_of(out), as_bytes(out), {});
  }
  Remotes remotes({ *spec });
  remotes.set_compression(3);
  auto found = remotes.fetch(key, 2'000);
  REQUIRE(found);
  CHECK(found->out == out);

  // An entry naming a frame, valid for its own digest, of other bytes.
  auto other = answer_json(6'000);
  auto frame = util::zstd_compress(as_bytes(other), 3, other.size());
  REQUIRE(frame);
  auto entry = entry_of(out);
  entry.stdout_packed = storage::PackedBlob{ sha256(*frame), frame->size() };
  memory().blobs[sha256(*frame)] = { *frame, 101'000 };
  memory().entries[key] = { seal(key, storage::encode_entry(entry), nullptr),
                            101'000 };
  CHECK_FALSE(remotes.fetch(key, 2'000));
  auto warnings = remotes.take_warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("does not hold the output") != std::string::npos);
  // The frame is right for its name: not rejected, not sent again.
  CHECK(remotes.remotes()[0].rejected_blobs.empty());
}
