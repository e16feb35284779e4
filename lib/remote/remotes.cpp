#include "remote/remotes.hpp"

#include "secrets/store.hpp"
#include "stats/stats.hpp"
#include "util/zstd.hpp"

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

std::optional<std::string> Remotes::fetch_output(
  Remote& remote,
  const Digest& key,
  const Digest& digest,
  uint64_t size,
  const std::optional<storage::PackedBlob>& packed,
  std::string& stored,
  bool& ok) {
  if (!packed) {
    return fetch_blob(remote, digest, size, ok);
  }
  auto frame = fetch_blob(remote, packed->digest, packed->size, ok);
  if (!frame) {
    return std::nullopt;
  }
  // The frame is the one the entry names; what it holds must be the output
  // the entry names too, or the entry is refused (an entry that lies about
  // its outputs, not a damaged blob: the frame is right for its name).
  std::string output(size, '\0');
  if (!util::zstd_decompress_exact(
        std::span(reinterpret_cast<const uint8_t*>(frame->data()),
                  frame->size()),
        reinterpret_cast<uint8_t*>(output.data()),
        size) ||
      sha256(output) != digest) {
    ok = false;
    ++remote.counts[RemoteStat::errors];
    warnings_.push_back(fmt::format(
      "remote {}: entry {}: the frame {} does not hold the output {}; refused",
      remote.label,
      cid_string(key),
      cid_string(packed->digest),
      cid_string(digest)));
    return std::nullopt;
  }
  stored = std::move(*frame);
  return output;
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
  std::string out_stored;
  std::string err_stored;
  auto out = fetch_output(remote,
                          key,
                          entry->stdout_digest,
                          entry->stdout_size,
                          entry->stdout_packed,
                          out_stored,
                          ok);
  if (!out) {
    return ok ? miss() : std::nullopt;
  }
  auto err = fetch_output(remote,
                          key,
                          entry->stderr_digest,
                          entry->stderr_size,
                          entry->stderr_packed,
                          err_stored,
                          ok);
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
    // The blobs as the remote keeps them: frames under their own digests.
    std::pair<Digest, const std::string*> blobs[] = {
      entry->stdout_packed
        ? std::pair(entry->stdout_packed->digest, &out_stored)
        : std::pair(entry->stdout_digest, &*out),
      entry->stderr_packed
        ? std::pair(entry->stderr_packed->digest, &err_stored)
        : std::pair(entry->stderr_digest, &*err),
    };
    for (const auto& [digest, bytes] : blobs) {
      if (!refreshed || digest == empty_digest()) {
        continue;
      }
      auto kept = t->has_blob(digest, keep_until);
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
        if (auto put = t->put_blob(digest, as_bytes, keep_until); !put) {
          fail(remote, put.error());
          refreshed = false;
          continue;
        }
        remote.counts[RemoteStat::bytes_sent] +=
          static_cast<int64_t>(bytes->size());
      }
    }
  }
  // The frames are the remote's business: stored locally, the entry names
  // its outputs only.
  entry->stdout_packed.reset();
  entry->stderr_packed.reset();
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
      for (const auto& packed :
           { entry->stdout_packed, entry->stderr_packed }) {
        if (packed) {
          used.insert(packed->digest);
        }
      }
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
  // Compressed once for every remote that takes frames.
  std::optional<Frame> frames[2];
  bool framed = false;
  for (auto& remote : remotes_) {
    if (remote.spec.access != Access::read_write) {
      continue;
    }
    if (!framed && compression_level_ > 0) {
      if (auto* t = tier(remote); t && t->takes_packed_blobs()) {
        frames[0] = frame_of(out);
        frames[1] = frame_of(err);
        framed = true;
      }
    }
    store_to(remote, key, entry, out, err, frames);
  }
}

std::optional<Remotes::Frame> Remotes::frame_of(
  std::span<const uint8_t> output) const {
  if (output.size() < storage::kMinPackedSize) {
    return std::nullopt;
  }
  auto bytes = util::zstd_compress(
    output, compression_level_, output.size() - output.size() / 10);
  if (!bytes) {
    return std::nullopt;
  }
  Frame frame;
  frame.packed.digest = sha256(*bytes);
  frame.packed.size = bytes->size();
  frame.bytes = std::move(*bytes);
  return frame;
}

void Remotes::store_to(Remote& remote,
                       const Digest& key,
                       const storage::Entry& entry,
                       std::span<const uint8_t> out,
                       std::span<const uint8_t> err,
                       const std::optional<Frame> (&frames)[2]) {
  auto* t = tier(remote);
  if (!t || !t->takes_writes()) {
    return;
  }
  storage::Entry shared = entry;
  shared.hits = 0;
  shared.stdout_packed.reset();
  shared.stderr_packed.reset();
  // Blobs first: a reader never finds an entry whose outputs are missing.
  // An output is sent as its frame where the remote takes frames.
  std::pair<Digest, std::span<const uint8_t>> blobs[] = {
    { entry.stdout_digest, out }, { entry.stderr_digest, err }
  };
  std::optional<storage::PackedBlob>* named[] = { &shared.stdout_packed,
                                                  &shared.stderr_packed };
  for (size_t i = 0; i < 2; ++i) {
    if (frames[i] && t->takes_packed_blobs()) {
      blobs[i] = { frames[i]->packed.digest,
                   std::span(
                     reinterpret_cast<const uint8_t*>(frames[i]->bytes.data()),
                     frames[i]->bytes.size()) };
      *named[i] = frames[i]->packed;
    }
  }
  for (const auto& [digest_value, bytes] : blobs) {
    const Digest* digest = &digest_value;
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
