#include "core/config.hpp"
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
  CHECK(spec->access == Access::read_write);
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
  CHECK(spec->access == Access::read_only);
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
  CHECK((*specs)[0].access == Access::read_only);
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
