#include "core/config.hpp"
#include "remote/record.hpp"
#include "remote/remotes.hpp"
#include "remote/resolve.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <future>
#include <map>
#include <set>

using namespace ipfsacc;
using namespace ipfsacc::remote;
using namespace std::chrono_literals;
using ipfsacc::test::contains;

TEST_CASE("remote: a plain Redis URL takes the defaults") {
  auto spec = parse_remote("redis://cache:6379");
  REQUIRE(spec);
  CHECK(spec->scheme == "redis");
  CHECK(spec->host == "cache");
  CHECK(spec->port == 6379);
  CHECK(spec->path.empty());
  CHECK(spec->user.empty());
  CHECK(spec->password.empty());
  CHECK(spec->access == remote::Access::read_write);
  CHECK(spec->timeout == kDefaultTimeout);
  CHECK(spec->connect_timeout == kDefaultConnectTimeout);
  CHECK(spec->connect_timeout <= 100ms);
  CHECK_FALSE(spec->ttl_refresh);
  CHECK(spec->label() == "redis://cache:6379");
}

TEST_CASE("remote: credentials, database and attributes") {
  auto spec = parse_remote(
    "redis://ci:pa:ss@cache.internal:6380/2|read-only|timeout=200ms|"
    "connect-timeout=50ms|ttl-refresh");
  REQUIRE(spec);
  CHECK(spec->user == "ci");
  CHECK(spec->password == "pa:ss");
  CHECK(spec->host == "cache.internal");
  CHECK(spec->port == 6380);
  CHECK(spec->path == "/2");
  CHECK(spec->access == remote::Access::read_only);
  CHECK(spec->timeout == 200ms);
  CHECK(spec->connect_timeout == 50ms);
  CHECK(spec->ttl_refresh);
  // The label never holds credentials.
  CHECK(spec->label() == "redis://cache.internal:6380/2");

  auto lone = parse_remote("redis://s3cret@h");
  REQUIRE(lone);
  CHECK(lone->user.empty());
  CHECK(lone->password == "s3cret");
  CHECK(lone->port == 0);

  auto v6 = parse_remote("redis://[::1]:7000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7000);

  auto kubo = parse_remote("http://127.0.0.1:5001/api/v0/|type=kubo");
  REQUIRE(kubo);
  CHECK(kubo->path == "/api/v0");
  CHECK(kubo->extra.at("type") == "kubo");
}

TEST_CASE("remote: bad URLs and attributes are refused, passwords unshown") {
  auto check = [](std::string_view text, std::string_view message) {
    auto spec = parse_remote(text);
    REQUIRE_FALSE(spec);
    CHECK(contains(spec.error(), message));
    CHECK_FALSE(contains(spec.error(), "hunter2"));
  };
  check("cache:6379", "expected scheme://host");
  check("redis://u:hunter2@h:99999", "is not a port");
  check("redis://u:hunter2@h:port", "is not a port");
  check("redis://u:hunter2@:6379", "no host");
  check("redis://u:hunter2@h|bogus", "unknown attribute 'bogus'");
  check("redis://u:hunter2@h|timeout=soon", "is not a duration");
  check("redis://u:hunter2@h|timeout=0", "is not a duration");
  check("redis://u:hunter2@h|read-only=yes", "unknown attribute");
  check("redis://u:hunter2@cache-*:6379", "needs shards=");
  check("redis://u:hunter2@h|shards=a,b", "needs a '*'");
  check("redis://u:hunter2@c-*|shards=a,,b", "empty name");
}

TEST_CASE("remote: the setting is a list, in order") {
  auto specs = parse_remotes(
    "  redis://a:1|read-only\tredis://b:2 \n redis://c-*:3|shards=x,y ");
  REQUIRE(specs);
  REQUIRE(specs->size() == 3);
  CHECK((*specs)[0].host == "a");
  CHECK((*specs)[0].access == remote::Access::read_only);
  CHECK((*specs)[1].host == "b");
  CHECK((*specs)[2].shards == std::vector<std::string>{ "x", "y" });
  CHECK((*specs)[2].shard("y").host == "c-y");
  CHECK((*specs)[2].shard("y").shards.empty());
  CHECK(parse_remotes("")->empty());
  CHECK_FALSE(parse_remotes("redis://a:1 nonsense"));
}

TEST_CASE("remote: redaction hides passwords, keeps the rest") {
  CHECK(redact_remotes("redis://u:pw@h:1/2|read-only redis://h2:3") ==
        "redis://u:***@h:1/2|read-only redis://h2:3");
  CHECK(redact_remotes("redis://:pw@h") == "redis://:***@h");
  CHECK(redact_remotes("redis://pw@h") == "redis://***@h");
  CHECK(redact_remotes("redis://h|timeout=1s") == "redis://h|timeout=1s");
  CHECK(redact_remotes("") == "");
}

TEST_CASE("remote: config validates the remote setting") {
  CHECK(Config::validate("remote", "redis://h:1|read-only"));
  CHECK(Config::validate("remote", ""));
  auto bad = Config::validate("remote", "redis://u:pw@h|frobnicate");
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.error(), "frobnicate"));
  CHECK_FALSE(contains(bad.error(), ":pw@"));
}

TEST_CASE("remote: rendezvous hashing is stable, spread and minimal") {
  std::vector<std::string> three{ "a", "b", "c" };
  std::vector<std::string> four{ "a", "b", "c", "d" };
  std::map<size_t, int> spread;
  int moved = 0;
  int moved_elsewhere = 0;
  constexpr int kKeys = 3000;
  for (int i = 0; i < kKeys; ++i) {
    auto key = cid_string(sha256(std::to_string(i)));
    size_t before = pick_shard(three, key);
    CHECK(before == pick_shard(three, key)); // deterministic
    ++spread[before];
    size_t after = pick_shard(four, key);
    if (after != before) {
      ++moved;
      // Adding a shard only moves keys to the new one.
      if (after != 3) {
        ++moved_elsewhere;
      }
    }
    // The order the shards are listed in does not matter.
    std::vector<std::string> reversed{ "c", "b", "a" };
    CHECK(three[before] == reversed[pick_shard(reversed, key)]);
  }
  CHECK(moved_elsewhere == 0);
  // About a quarter of the keys go to the fourth shard.
  CHECK(moved > kKeys / 5);
  CHECK(moved < kKeys / 3);
  for (size_t s = 0; s < 3; ++s) {
    CHECK(spread[s] > kKeys / 4);
  }
  std::vector<std::string> one{ "only" };
  CHECK(pick_shard(one, "anything") == 0);
}

TEST_CASE("remote: the registry makes tiers by scheme") {
  auto redis = parse_remote("redis://127.0.0.1:1");
  REQUIRE(redis);
  CHECK(make_tier(*redis)); // connects on first use only
  auto unknown = parse_remote("gopher://h:70");
  REQUIRE(unknown);
  auto made = make_tier(*unknown);
  REQUIRE_FALSE(made);
  CHECK(contains(made.error().message, "no remote storage for gopher://"));
  CHECK(contains(known_schemes(), "redis://"));
  auto tls = parse_remote("rediss://127.0.0.1:1");
  REQUIRE(tls);
  auto tier = make_tier(*tls);
  REQUIRE(tier);
  auto got = (*tier)->get_entry(Digest{});
  REQUIRE_FALSE(got);
  CHECK(contains(got.error().message, "TLS"));
}

TEST_CASE("a host name is resolved within the connect timeout") {
  using ipfsacc::remote::resolve_within;
  using ipfsacc::remote::system_resolve;
  // Addresses are taken as they are; no resolver is asked.
  auto never = [](const std::string&) -> std::expected<Addresses, std::string> {
    FAIL("the resolver was asked for an address");
    return Addresses{};
  };
  CHECK(resolve_within("127.0.0.1", util::Millis(50), never) ==
        Addresses{ "127.0.0.1" });
  CHECK(resolve_within("::1", util::Millis(50), never) == Addresses{ "::1" });

  auto local = resolve_within("localhost", util::Millis(5000), system_resolve);
  REQUIRE_MESSAGE(local, local.error().message);
  REQUIRE_FALSE(local->empty());
  for (const auto& address : *local) {
    CHECK((address == "127.0.0.1" || address == "::1"));
  }

  // A resolver that does not answer (a dead DNS server): a timeout, while
  // the lookup is left to finish on its own.
  auto release = std::make_shared<std::promise<void>>();
  auto held = release->get_future().share();
  auto stuck =
    [held](const std::string&) -> std::expected<Addresses, std::string> {
    held.wait();
    return Addresses{ "10.0.0.1" };
  };
  auto late = resolve_within("cache.internal", util::Millis(20), stuck);
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == ipfsacc::remote::Failure::Kind::timeout);
  CHECK(late.error().message.find("resolving cache.internal") !=
        std::string::npos);
  release->set_value();

  auto refused =
    [](const std::string&) -> std::expected<Addresses, std::string> {
    return std::unexpected("Name or service not known");
  };
  auto unknown = resolve_within("nowhere.invalid", util::Millis(1000), refused);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == ipfsacc::remote::Failure::Kind::error);
  CHECK(unknown.error().message ==
        "cannot resolve nowhere.invalid: Name or service not known");
}

namespace {

// A tier in memory that says how often its blobs were asked for, and can
// answer every blob as one of another size.
class SizedMemoryTier final : public Tier {
public:
  struct Shared {
    std::map<Digest, std::string> entries;
    std::map<Digest, std::string> blobs;
    int blob_reads = 0;
    bool reject_blobs = false;
  };
  explicit SizedMemoryTier(Shared& shared)
    : shared_(shared) {}

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    auto it = shared_.entries.find(key);
    return it == shared_.entries.end() ? std::nullopt
                                       : std::optional(it->second);
  }
  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t) override {
    shared_.entries[key] = std::string(encoded);
    return {};
  }
  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t) override {
    ++shared_.blob_reads;
    if (shared_.reject_blobs) {
      return std::unexpected(
        Failure{ Failure::Kind::rejected, "over the bytes of its entry" });
    }
    auto it = shared_.blobs.find(digest);
    return it == shared_.blobs.end() ? std::nullopt : std::optional(it->second);
  }
  Result<bool> has_blob(const Digest& digest, int64_t) override {
    return shared_.blobs.contains(digest);
  }
  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t) override {
    shared_.blobs[digest] = std::string(bytes.begin(), bytes.end());
    return {};
  }
  Result<void> refresh_entry(const Digest&, int64_t) override { return {}; }
  Result<bool> remove_entry(const Digest& key) override {
    return shared_.entries.erase(key) > 0;
  }
  Result<uint64_t> purge() override { return 0; }
  Result<std::vector<Digest>> list_entries() override { return {}; }
  Result<uint64_t> remove_blobs_except(const std::set<Digest>&) override {
    return 0;
  }
  Result<void> ping() override { return {}; }
  Result<void> probe_write() override { return {}; }

private:
  Shared& shared_;
};

SizedMemoryTier::Shared& sized_memory() {
  static SizedMemoryTier::Shared shared;
  return shared;
}

// An entry of 200 bytes of stdout stored under key in the memory tier.
storage::Entry store_sized_entry(const Digest& key) {
  std::string out(200, 'o');
  storage::Entry entry;
  entry.created_ms = 1'000;
  entry.expires_ms = 1'000'000;
  entry.stdout_digest = sha256(out);
  entry.stdout_size = out.size();
  entry.stderr_digest = empty_digest();
  entry.segments.push_back({ storage::Stream::out, out.size() });
  entry.tool = "run";
  entry.operation = "run";
  sized_memory().entries[key] =
    seal(key, storage::encode_entry(entry), nullptr);
  sized_memory().blobs[entry.stdout_digest] = out;
  return entry;
}

} // namespace

TEST_CASE("remotes: an entry over max_answer_size is refused before its "
          "blobs are read, and not sent") {
  register_scheme("sizedmem", [](const Spec&) -> Result<std::unique_ptr<Tier>> {
    return std::make_unique<SizedMemoryTier>(sized_memory());
  });
  auto spec = parse_remote("sizedmem://h:1");
  REQUIRE(spec);
  sized_memory() = {};
  Digest key = sha256("a request");
  auto entry = store_sized_entry(key);

  Remotes small({ *spec }, {}, {}, 199);
  CHECK_FALSE(small.fetch(key, 2'000));
  CHECK(sized_memory().blob_reads == 0);
  auto warnings = small.take_warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0],
                 "200 + 0 bytes of output, more than "
                 "max_answer_size (199); refused"));
  CHECK_FALSE(small.remotes()[0].down);

  Remotes exact({ *spec }, {}, {}, 200);
  auto found = exact.fetch(key, 2'000);
  REQUIRE(found);
  CHECK(found->out == std::string(200, 'o'));

  // Not sent where readers would refuse it.
  sized_memory() = {};
  std::string out(200, 'o');
  small.store(
    key,
    entry,
    std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()),
    {});
  CHECK(sized_memory().entries.empty());
  CHECK(sized_memory().blobs.empty());
}

TEST_CASE("remotes: a blob of another size is rejected; the remote stays up") {
  register_scheme("sizedmem", [](const Spec&) -> Result<std::unique_ptr<Tier>> {
    return std::make_unique<SizedMemoryTier>(sized_memory());
  });
  auto spec = parse_remote("sizedmem://h:1");
  REQUIRE(spec);
  sized_memory() = {};
  Digest key = sha256("another request");
  store_sized_entry(key);
  sized_memory().reject_blobs = true;
  Remotes remotes({ *spec });
  CHECK_FALSE(remotes.fetch(key, 2'000));
  auto warnings = remotes.take_warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0],
                 "does not match its CID; rejected (over the "
                 "bytes of its entry)"));
  CHECK_FALSE(remotes.remotes()[0].down);
  sized_memory().reject_blobs = false;
  CHECK(remotes.fetch(key, 2'000));
}

TEST_CASE("remote: which settings a static program reaches by itself") {
  using ipfsacc::remote::static_program_reaches;
  CHECK(static_program_reaches("redis://127.0.0.1:6379"));
  CHECK(static_program_reaches("redis://[::1]:7000/2|read-only"));
  CHECK(static_program_reaches(
    "redis://10.0.0.*:6379|shards=1,2 redis://127.0.0.1"));
  // Every other engine makes HTTP requests through libcurl.
  CHECK_FALSE(static_program_reaches("s3://bucket/prefix"));
  CHECK_FALSE(
    static_program_reaches("redis://127.0.0.1 ipfs://127.0.0.1:5001"));
  CHECK_FALSE(static_program_reaches("http://127.0.0.1:5001"));
  // A setting that does not parse is the dynamic program's to report.
  CHECK_FALSE(static_program_reaches("redis://127.0.0.1|no-such-attribute"));
}
