// A new engine needs only the pure virtuals of remote::Tier: an engine for a
// made-up scheme, held in memory, registered by scheme and driven through
// Remotes as the built-in ones are.

#include "remote/remotes.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "storage/entry.hpp"

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
