#include "remote/remotes.hpp"

#include "secrets/store.hpp"
#include "stats/stats.hpp"

#include <fmt/format.h>
#include <set>
#include <sodium.h>
#include <utility>

namespace ipfsacc::remote {

namespace {

constexpr std::string_view kStatNames[] = {
  "hits",       "misses",         "errors", "timeouts",
  "bytes_sent", "bytes_received", "down",
};

// Whether two output sizes come to more than cap (without overflowing).
bool over(uint64_t out, uint64_t err, uint64_t cap) {
  return out > cap || err > cap - out;
}

} // namespace

std::span<const std::string_view> remote_stat_names() {
  return kStatNames;
}

std::string remote_stat_key(RemoteStat stat, std::string_view label) {
  return fmt::format(
    "remote.{}.{}", kStatNames[static_cast<size_t>(stat)], label);
}

Remotes::Remotes(std::vector<Spec> specs,
                 Stored stored,
                 std::vector<secrets::PublicKey> trusted,
                 uint64_t max_answer_size)
  : stored_(std::move(stored))
  , trusted_(std::move(trusted))
  , max_answer_size_(max_answer_size) {
  for (auto& spec : specs) {
    Remote remote;
    remote.label = spec.label();
    remote.spec = std::move(spec);
    remotes_.push_back(std::move(remote));
  }
}

Remotes::~Remotes() {
  for (auto& [name, value] : secrets_) {
    sodium_memzero(value.data(), value.size());
  }
  for (auto& remote : remotes_) {
    sodium_memzero(remote.spec.password.data(), remote.spec.password.size());
  }
}

Tier* Remotes::tier(Remote& remote) {
  if (remote.down) {
    return nullptr;
  }
  if (!remote.tier) {
    Spec spec = remote.spec;
    // A URL without a password takes its engine's from the secrets store.
    auto secret = password_secret(spec.scheme);
    if (!secret.empty() && spec.password.empty() && stored_.secret) {
      auto [it, added] = secrets_.try_emplace(secret);
      if (added) {
        it->second = stored_.secret(secret);
      }
      spec.password = it->second;
    }
    auto made = make_tier(spec);
    sodium_memzero(spec.password.data(), spec.password.size());
    if (!made) {
      fail(remote, made.error());
      return nullptr;
    }
    remote.tier = std::move(*made);
  }
  return remote.tier.get();
}

void Remotes::fail(Remote& remote, const Failure& failure) {
  bool timeout = failure.kind == Failure::Kind::timeout;
  ++remote.counts[timeout ? RemoteStat::timeouts : RemoteStat::errors];
  if (!remote.down) {
    remote.down = true;
    ++remote.counts[RemoteStat::down];
    warnings_.push_back(fmt::format(
      "remote {}: {}; carrying on without it", remote.label, failure.message));
  }
}

bool Remotes::any_writable() const {
  for (const auto& remote : remotes_) {
    if (!remote.down && remote.spec.access == Access::read_write) {
      return true;
    }
  }
  return false;
}

std::optional<Fetched> Remotes::fetch(const Digest& key,
                                      int64_t now_ms,
                                      int64_t max_stale_ms) {
  std::optional<Fetched> stale;
  for (auto& remote : remotes_) {
    if (auto found = fetch_from(remote, key, now_ms, max_stale_ms)) {
      if (!found->stale) {
        return found;
      }
      if (!stale) {
        stale = std::move(found);
      }
    }
  }
  return stale;
}

std::optional<std::string> Remotes::fetch_blob(Remote& remote,
                                               const Digest& digest,
                                               uint64_t size,
                                               bool& ok) {
  ok = false;
  if (digest == empty_digest()) {
    ok = size == 0;
    return std::string();
  }
  auto* t = tier(remote);
  if (!t) {
    return std::nullopt;
  }
  auto got = t->get_blob(digest, size);
  if (!got && got.error().kind == Failure::Kind::rejected) {
    ++remote.counts[RemoteStat::errors];
    // The next store of these bytes overwrites them there.
    remote.rejected_blobs.insert(digest);
    warnings_.push_back(
      fmt::format("remote {}: blob {} does not match its CID; rejected ({})",
                  remote.label,
                  cid_string(digest),
                  got.error().message));
    return std::nullopt;
  }
  if (!got) {
    fail(remote, got.error());
    return std::nullopt;
  }
  if (!*got) {
    ok = true; // absent (expired first): a miss, not an error
    return std::nullopt;
  }
  remote.counts[RemoteStat::bytes_received] +=
    static_cast<int64_t>((*got)->size());
  if ((*got)->size() != size || sha256(**got) != digest) {
    ++remote.counts[RemoteStat::errors];
    // The next store of these bytes overwrites them there.
    remote.rejected_blobs.insert(digest);
    warnings_.push_back(
      fmt::format("remote {}: blob {} does not match its CID; rejected",
                  remote.label,
                  cid_string(digest)));
    return std::nullopt;
  }
  ok = true;
  return std::move(**got);
}

std::optional<Fetched> Remotes::fetch_from(Remote& remote,
                                           const Digest& key,
                                           int64_t now_ms,
                                           int64_t max_stale_ms) {
  auto* t = tier(remote);
  if (!t) {
    return std::nullopt;
  }
  auto encoded = t->get_entry(key);
  if (!encoded) {
    fail(remote, encoded.error());
    return std::nullopt;
  }
  auto miss = [&] {
    ++remote.counts[RemoteStat::misses];
    return std::nullopt;
  };
  if (!*encoded) {
    return miss();
  }
  remote.counts[RemoteStat::bytes_received] +=
    static_cast<int64_t>((*encoded)->size());
  auto unsealed = unseal(key, **encoded, trusted_);
  if (!unsealed) {
    ++remote.counts[RemoteStat::errors];
    warnings_.push_back(fmt::format("remote {}: entry {} {}; refused",
                                    remote.label,
                                    cid_string(key),
                                    unsealed.error()));
    return std::nullopt;
  }
  auto entry = storage::decode_entry(*unsealed);
  if (!entry) {
    ++remote.counts[RemoteStat::errors];
    warnings_.push_back(
      fmt::format("remote {}: entry {} does not decode; ignored",
                  remote.label,
                  cid_string(key)));
    return std::nullopt;
  }
  if (over(entry->stdout_size, entry->stderr_size, max_answer_size_)) {
    ++remote.counts[RemoteStat::errors];
    warnings_.push_back(fmt::format(
      "remote {}: entry {} holds {} + {} bytes of output, more than "
      "max_answer_size ({}); refused",
      remote.label,
      cid_string(key),
      entry->stdout_size,
      entry->stderr_size,
      max_answer_size_));
    return std::nullopt;
  }
  bool stale = entry->expires_ms <= now_ms;
  if (stale && now_ms - entry->expires_ms >= max_stale_ms) {
    return miss();
  }
  Fetched found;
  found.stale = stale;
  bool ok = false;
  auto out = fetch_blob(remote, entry->stdout_digest, entry->stdout_size, ok);
  if (!out) {
    return ok ? miss() : std::nullopt;
  }
  auto err = fetch_blob(remote, entry->stderr_digest, entry->stderr_size, ok);
  if (!err) {
    return ok ? miss() : std::nullopt;
  }
  if (remote.spec.ttl_refresh && remote.spec.access == Access::read_write &&
      t->takes_writes()) {
    // Keeps the keys one full lifetime of the entry from now (never
    // shortening them): an answer in use stays on the remote after its
    // freshness ends, for --offline and stale-while-revalidate readers,
    // while one nobody asks for goes when its lifetime is up.
    int64_t keep_until =
      now_ms + std::max<int64_t>(0, entry->expires_ms - entry->created_ms);
    keep_until = std::max(keep_until, entry->expires_ms);
    bool refreshed = true;
    if (auto r = t->refresh_entry(key, keep_until); !r) {
      fail(remote, r.error());
      refreshed = false;
    }
    std::pair<const Digest*, const std::string*> blobs[] = {
      { &entry->stdout_digest, &*out }, { &entry->stderr_digest, &*err }
    };
    for (const auto& [digest, bytes] : blobs) {
      if (!refreshed || *digest == empty_digest()) {
        continue;
      }
      auto kept = t->has_blob(*digest, keep_until);
      if (!kept) {
        fail(remote, kept.error());
        refreshed = false;
        continue;
      }
      // A tier that cannot lengthen a blob's life in place (or has lost it
      // since it was read) is given the bytes again.
      if (!*kept) {
        auto as_bytes = std::span(
          reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
        if (auto put = t->put_blob(*digest, as_bytes, keep_until); !put) {
          fail(remote, put.error());
          refreshed = false;
          continue;
        }
        remote.counts[RemoteStat::bytes_sent] +=
          static_cast<int64_t>(bytes->size());
      }
    }
  }
  ++remote.counts[RemoteStat::hits];
  found.entry = std::move(*entry);
  found.out = std::move(*out);
  found.err = std::move(*err);
  found.from = remote.label;
  return found;
}

Result<ExpiredPurge> Remotes::purge_expired(Remote& remote, int64_t now_ms) {
  auto* t = tier(remote);
  if (!t) {
    return std::unexpected(Failure{ Failure::Kind::error, "unreachable" });
  }
  auto keys = t->list_entries();
  if (!keys) {
    return std::unexpected(keys.error());
  }
  ExpiredPurge purged;
  std::set<Digest> used;
  for (const auto& key : *keys) {
    auto encoded = t->get_entry(key);
    if (!encoded) {
      return std::unexpected(encoded.error());
    }
    if (!*encoded) {
      continue; // Gone (expired) since it was listed.
    }
    // Whoever signed it: expiry is what counts here.
    auto unsealed = unseal(key, **encoded, {});
    auto entry = unsealed ? storage::decode_entry(*unsealed) : std::nullopt;
    if (entry && entry->expires_ms > now_ms) {
      used.insert(entry->stdout_digest);
      used.insert(entry->stderr_digest);
      continue;
    }
    // Expired, or a record that does not decode (never served anyway).
    auto gone = t->remove_entry(key);
    if (!gone) {
      return std::unexpected(gone.error());
    }
    purged.entries += *gone ? 1 : 0;
  }
  auto blobs = t->remove_blobs_except(used);
  if (!blobs) {
    return std::unexpected(blobs.error());
  }
  purged.blobs = *blobs;
  return purged;
}

const secrets::SigningKey* Remotes::signer() {
  if (!signing_key_) {
    signing_key_.emplace(stored_.signing_key ? stored_.signing_key()
                                             : std::nullopt);
  }
  return *signing_key_ ? &**signing_key_ : nullptr;
}

void Remotes::store(const Digest& key,
                    const storage::Entry& entry,
                    std::span<const uint8_t> out,
                    std::span<const uint8_t> err) {
  if (!trusted_.empty() && !signer()) {
    return;
  }
  // Readers refuse an entry over their max_answer_size.
  if (over(entry.stdout_size, entry.stderr_size, max_answer_size_)) {
    return;
  }
  for (auto& remote : remotes_) {
    if (remote.spec.access == Access::read_write) {
      store_to(remote, key, entry, out, err);
    }
  }
}

void Remotes::store_to(Remote& remote,
                       const Digest& key,
                       const storage::Entry& entry,
                       std::span<const uint8_t> out,
                       std::span<const uint8_t> err) {
  auto* t = tier(remote);
  if (!t || !t->takes_writes()) {
    return;
  }
  // Blobs first: a reader never finds an entry whose outputs are missing.
  std::pair<const Digest*, std::span<const uint8_t>> blobs[] = {
    { &entry.stdout_digest, out }, { &entry.stderr_digest, err }
  };
  for (const auto& [digest, bytes] : blobs) {
    if (*digest == empty_digest()) {
      continue;
    }
    // A blob this process found not matching its CID there is "there" but
    // wrong: it is sent again, replacing it, instead of having its life
    // lengthened.
    bool rejected = remote.rejected_blobs.contains(*digest);
    if (!rejected) {
      auto present = t->has_blob(*digest, entry.expires_ms);
      if (!present) {
        fail(remote, present.error());
        return;
      }
      if (*present) {
        continue;
      }
    }
    if (auto put = t->put_blob(*digest, bytes, entry.expires_ms); !put) {
      fail(remote, put.error());
      return;
    }
    remote.rejected_blobs.erase(*digest);
    remote.counts[RemoteStat::bytes_sent] += static_cast<int64_t>(bytes.size());
  }
  storage::Entry shared = entry;
  shared.hits = 0;
  auto encoded = seal(key, storage::encode_entry(shared), signer());
  if (auto put = t->put_entry(key, encoded, entry.expires_ms); !put) {
    fail(remote, put.error());
    return;
  }
  remote.counts[RemoteStat::bytes_sent] += static_cast<int64_t>(encoded.size());
}

void Remotes::move_counts_to(StatsDelta& delta) {
  for (auto& remote : remotes_) {
    for (const auto& [stat, n] : remote.counts) {
      if (n != 0) {
        delta.add_counter(remote_stat_key(stat, remote.label), n);
      }
    }
    remote.counts.clear();
  }
}

std::vector<std::string> Remotes::take_warnings() {
  return std::exchange(warnings_, {});
}

std::expected<std::unique_ptr<Remotes>, std::string> open_remotes(
  std::string_view setting,
  std::string_view trusted_keys,
  uint64_t max_answer_size,
  const std::filesystem::path& state_dir) {
  auto specs = parse_remotes(setting);
  if (!specs) {
    return std::unexpected(specs.error());
  }
  for (auto& spec : *specs) {
    spec.state_dir = state_dir;
  }
  auto trusted = secrets::parse_public_keys(trusted_keys);
  if (!trusted) {
    return std::unexpected(
      fmt::format("remote_trusted_keys: {}", trusted.error()));
  }
  // Loaded only when first needed; a missing or locked store means none.
  auto stored_secret = [](std::string_view name) {
    auto location = secrets::Location::from_environment();
    if (!secrets::exists(location)) {
      return std::string();
    }
    auto stored = secrets::load(location, secrets::passphrase_from_env());
    if (!stored) {
      return std::string();
    }
    auto value = stored->get(name);
    return value ? std::string(*value) : std::string();
  };
  Remotes::Stored stored;
  stored.secret = stored_secret;
  stored.signing_key = [] { return secrets::load_signing_key(); };
  return std::make_unique<Remotes>(
    std::move(*specs), std::move(stored), std::move(*trusted), max_answer_size);
}

} // namespace ipfsacc::remote
