#include "remote/tier.hpp"

#include "remote/builtin_engines.hpp"
#include "util/duration.hpp"

#include <fmt/format.h>
#include <map>
#include <sodium.h>

namespace ipfsacc::remote {

namespace {

// The engine serving each scheme.
std::map<std::string, Engine, std::less<>>& engines() {
  // The built-in engines, added once (a thread-safe static); register_scheme
  // adds more.
  static std::map<std::string, Engine, std::less<>> table = [] {
    std::map<std::string, Engine, std::less<>> built_in;
    for (auto& engine : builtin_engines()) {
      for (const auto& scheme : engine.schemes) {
        built_in[scheme] = engine;
      }
    }
    return built_in;
  }();
  return table;
}

// How long the default probe_write's entry lives should its removal fail.
constexpr int64_t kProbeLifeMs = 10'000;

// One remote spread over several servers: each key lives on the shard that
// rendezvous hashing picks for it.
class ShardedTier final : public Tier {
public:
  ShardedTier(std::vector<std::string> names,
              std::vector<std::unique_ptr<Tier>> shards)
    : names_(std::move(names))
    , shards_(std::move(shards)) {}

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    return pick(key).get_entry(key);
  }
  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t expires_ms) override {
    return pick(key).put_entry(key, encoded, expires_ms);
  }
  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    return pick(digest).get_blob(digest, size);
  }
  Result<bool> has_blob(const Digest& digest, int64_t expires_ms) override {
    return pick(digest).has_blob(digest, expires_ms);
  }
  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t expires_ms) override {
    return pick(digest).put_blob(digest, bytes, expires_ms);
  }
  Result<void> refresh_entry(const Digest& key, int64_t expires_ms) override {
    return pick(key).refresh_entry(key, expires_ms);
  }
  Result<bool> remove_entry(const Digest& key) override {
    return pick(key).remove_entry(key);
  }
  Result<uint64_t> purge() override {
    uint64_t total = 0;
    for (auto& shard : shards_) {
      auto n = shard->purge();
      if (!n) {
        return std::unexpected(n.error());
      }
      total += *n;
    }
    return total;
  }
  Result<std::vector<Digest>> list_entries() override {
    std::vector<Digest> all;
    for (auto& shard : shards_) {
      auto keys = shard->list_entries();
      if (!keys) {
        return std::unexpected(keys.error());
      }
      all.insert(all.end(), keys->begin(), keys->end());
    }
    return all;
  }
  Result<uint64_t> remove_blobs_except(const std::set<Digest>& used) override {
    uint64_t total = 0;
    for (auto& shard : shards_) {
      auto n = shard->remove_blobs_except(used);
      if (!n) {
        return std::unexpected(n.error());
      }
      total += *n;
    }
    return total;
  }
  Result<void> ping() override { return each(&Tier::ping); }
  Result<void> probe_write() override { return each(&Tier::probe_write); }
  bool takes_writes() const override {
    for (const auto& shard : shards_) {
      if (!shard->takes_writes()) {
        return false;
      }
    }
    return true;
  }
  bool takes_packed_blobs() const override {
    for (const auto& shard : shards_) {
      if (!shard->takes_packed_blobs()) {
        return false;
      }
    }
    return true;
  }

private:
  Tier& pick(const Digest& key) {
    return *shards_[pick_shard(names_, cid_string(key))];
  }
  Result<void> each(Result<void> (Tier::*op)()) {
    for (auto& shard : shards_) {
      if (auto ok = ((*shard).*op)(); !ok) {
        return ok;
      }
    }
    return {};
  }
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Tier>> shards_;
};

} // namespace

Result<bool> Tier::has_blob(const Digest&, int64_t) {
  return false;
}

Result<void> Tier::refresh_entry(const Digest& key, int64_t expires_ms) {
  auto encoded = get_entry(key);
  if (!encoded) {
    return std::unexpected(encoded.error());
  }
  if (!*encoded) {
    return {}; // Gone meanwhile: nothing to keep.
  }
  return put_entry(key, **encoded, expires_ms);
}

Result<uint64_t> Tier::remove_blobs_except(const std::set<Digest>&) {
  return 0;
}

Result<void> Tier::ping() {
  auto got = get_entry(Digest{});
  if (!got) {
    return std::unexpected(got.error());
  }
  return {};
}

Result<void> Tier::probe_write() {
  // A random key: two probes at once do not remove each other's.
  uint8_t random[16];
  randombytes_buf(random, sizeof(random));
  Digest key = sha256(std::span<const uint8_t>(random));
  if (auto put = put_entry(key, "probe", util::now_ms() + kProbeLifeMs); !put) {
    return put;
  }
  auto removed = remove_entry(key);
  if (!removed) {
    return std::unexpected(removed.error());
  }
  return {};
}

void register_scheme(std::string_view scheme, TierFactory factory) {
  engines()[std::string(scheme)] =
    Engine{ { std::string(scheme) }, std::move(factory), {} };
}

std::string password_secret(std::string_view scheme) {
  auto it = engines().find(scheme);
  return it == engines().end() ? std::string() : it->second.password_secret;
}

std::string known_schemes() {
  std::string out;
  for (const auto& [scheme, engine] : engines()) {
    out += out.empty() ? "" : ", ";
    out += scheme + "://";
  }
  return out;
}

Result<std::unique_ptr<Tier>> make_tier(const Spec& spec) {
  auto it = engines().find(spec.scheme);
  if (it == engines().end()) {
    return std::unexpected(
      Failure{ Failure::Kind::error,
               fmt::format("{}: no remote storage for {}:// (known: {})",
                           spec.label(),
                           spec.scheme,
                           known_schemes()) });
  }
  if (spec.shards.empty()) {
    return it->second.make(spec);
  }
  std::vector<std::unique_ptr<Tier>> shards;
  for (const auto& name : spec.shards) {
    auto shard = it->second.make(spec.shard(name));
    if (!shard) {
      return std::unexpected(shard.error());
    }
    shards.push_back(std::move(*shard));
  }
  return std::make_unique<ShardedTier>(spec.shards, std::move(shards));
}

} // namespace ipfsacc::remote
