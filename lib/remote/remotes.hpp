#pragma once

#include "remote/record.hpp"
#include "remote/spec.hpp"
#include "remote/tier.hpp"
#include "storage/entry.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ipfsacc {
class StatsDelta;
}

namespace ipfsacc::remote {

// The per-remote counters (statistics "remote.NAME.LABEL").
enum class RemoteStat {
  hits,
  misses,
  errors,
  timeouts,
  bytes_sent,
  bytes_received,
  down, // times the remote was marked down for the rest of a process
};

// The counters' names, in a stable order.
std::span<const std::string_view> remote_stat_names();

// The statistics key of one counter of one remote.
std::string remote_stat_key(RemoteStat stat, std::string_view label);

// An entry found on a remote, verified: its outputs hash to their digests.
struct Fetched {
  storage::Entry entry;
  std::string out;
  std::string err;
  std::string from;   // the remote's label
  bool stale = false; // past its expiry (asked for with max_stale_ms)
};

// What `purge --remote --expired` removed from one remote.
struct ExpiredPurge {
  uint64_t entries = 0;
  uint64_t blobs = 0;
};

// The remotes of one process, in the order of the `remote` setting. A remote
// connects on first use; its first failure marks it down for the rest of the
// process (counted, one warning), and the call carries on without it.
class Remotes {
public:
  // What the secrets store holds for the remotes, asked for once each,
  // when first needed: the password an engine keeps there for a URL that
  // has none (`redis_password`; see Engine::password_secret), and the
  // signing key of what this machine stores.
  struct Stored {
    // A secret of the secrets store by name ("" when there is none).
    std::function<std::string(std::string_view name)> secret;
    std::function<std::optional<secrets::SigningKey>()> signing_key;
  };
  // An entry is served only when it is bound to its key and, when trusted
  // is not empty, signed by one of those keys, and only when its outputs
  // come to at most max_answer_size bytes; no larger entry is sent either.
  Remotes(std::vector<Spec> specs,
          Stored stored = {},
          std::vector<secrets::PublicKey> trusted = {},
          uint64_t max_answer_size = std::numeric_limits<uint64_t>::max());
  ~Remotes();

  bool empty() const { return remotes_.empty(); }

  // From now on, store() sends outputs as zstd frames at level (1 to 19; 0:
  // as printed) to the remotes that take them (Tier::takes_packed_blobs),
  // each one only when its frame is at least a tenth smaller. A frame is a
  // blob under its own digest and the entry names it (storage::PackedBlob),
  // so an ipfsacc that predates compression finds no entry it can read (a
  // miss) and never a frame under an output's digest. fetch() reads both.
  void set_compression(int level) { compression_level_ = level; }

  // Asks each remote that is up, in order, for a fresh entry under key, or
  // one that expired less than max_stale_ms ago when no remote has a fresh
  // one (--offline, stale-while-revalidate). An entry whose blobs do not
  // hash to their CIDs, or whose outputs are over max_answer_size, is
  // rejected (an error of that remote) and the next remote asked. A hit on a
  // ttl-refresh remote keeps its keys there one full lifetime of the entry from
  // now.
  std::optional<Fetched> fetch(const Digest& key,
                               int64_t now_ms,
                               int64_t max_stale_ms = 0);

  // Sends an entry and its outputs to each writable remote that is up, with
  // the entry's expiry, signed when this machine has the signing key. Blobs
  // the remote has already are not sent again, except those a fetch of this
  // process rejected there (they replace the bad bytes). Nothing is sent when
  // trusted keys are set and this machine cannot sign: readers would refuse it.
  void store(const Digest& key,
             const storage::Entry& entry,
             std::span<const uint8_t> out,
             std::span<const uint8_t> err);

  // Whether any remote is writable (and so worth a store()).
  bool any_writable() const;

  // Moves the counters collected so far into delta.
  void move_counts_to(StatsDelta& delta);

  // The warnings since the last call (one per remote marked down or
  // rejected answer).
  std::vector<std::string> take_warnings();

  // What `doctor` and `purge --remote` work with.
  struct Remote {
    Spec spec;
    std::string label;
    std::unique_ptr<Tier> tier;
    bool down = false;
    std::map<RemoteStat, int64_t> counts;
    // Blobs read from this remote that did not match their CIDs.
    std::set<Digest> rejected_blobs;
  };
  std::vector<Remote>& remotes() { return remotes_; }
  // The remote's tier, made on first use; nullptr when it is down.
  Tier* tier(Remote& remote);
  // Counts a failure and marks the remote down.
  void fail(Remote& remote, const Failure& failure);
  // Removes the entries past their expiry from a writable remote, then the
  // blobs none of the others use where the remote does not expire blobs
  // itself (IPFS).
  Result<ExpiredPurge> purge_expired(Remote& remote, int64_t now_ms);

private:
  std::optional<Fetched> fetch_from(Remote& remote,
                                    const Digest& key,
                                    int64_t now_ms,
                                    int64_t max_stale_ms);
  std::optional<std::string> fetch_blob(Remote& remote,
                                        const Digest& digest,
                                        uint64_t size,
                                        bool& ok);
  // One output as sent: its frame, when it pays.
  struct Frame {
    storage::PackedBlob packed;
    std::string bytes;
  };
  std::optional<Frame> frame_of(std::span<const uint8_t> output) const;
  void store_to(Remote& remote,
                const Digest& key,
                const storage::Entry& entry,
                std::span<const uint8_t> out,
                std::span<const uint8_t> err,
                const std::optional<Frame> (&frames)[2]);
  // The output an entry names (size bytes, digest), read from its frame
  // when the entry names one: verified against the frame's digest, then
  // decompressed into exactly size bytes and verified against digest.
  // nullopt with ok set as fetch_blob does; stored gets the frame, when
  // there is one (for a refresh).
  std::optional<std::string> fetch_output(
    Remote& remote,
    const Digest& key,
    const Digest& digest,
    uint64_t size,
    const std::optional<storage::PackedBlob>& packed,
    std::string& stored,
    bool& ok);

  // The signing key, loaded on first use; nullptr when there is none.
  const secrets::SigningKey* signer();

  std::vector<Remote> remotes_;
  Stored stored_;
  std::vector<secrets::PublicKey> trusted_;
  uint64_t max_answer_size_;
  int compression_level_ = 0;
  // The secrets store's values asked for so far, by name.
  std::map<std::string, std::string, std::less<>> secrets_;
  std::optional<std::optional<secrets::SigningKey>> signing_key_;
  std::vector<std::string> warnings_;
};

// The remotes of the `remote` setting, trusting the keys of the
// `remote_trusted_keys` setting, with Redis passwords from the secrets store
// (`redis_password`, read on first connection) where a URL has none and the
// signing key from there too (remote_signing_key, read on the first store),
// taking in no entry whose outputs are over max_answer_size bytes, and
// keeping what a tier learns of its remote for the next process (a Redis
// Cluster's slot map) in state_dir, the cache directory, when one is given.
// A message when a setting does not parse.
std::expected<std::unique_ptr<Remotes>, std::string> open_remotes(
  std::string_view setting,
  std::string_view trusted_keys = {},
  uint64_t max_answer_size = std::numeric_limits<uint64_t>::max(),
  const std::filesystem::path& state_dir = {});

} // namespace ipfsacc::remote
