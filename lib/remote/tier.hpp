#pragma once

#include "core/cid.hpp"
#include "remote/spec.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote {

// Why an operation on a remote failed. A timeout is told apart because it
// is counted on its own; an answer rejected (a blob of another size than
// asked for) because the remote answered: only that answer is refused.
struct Failure {
  enum class Kind { error, timeout, rejected };
  Kind kind = Kind::error;
  std::string message; // never holds a password
};

template<typename T>
using Result = std::expected<T, Failure>;

// One remote storage tier. Entries are keyed by the request digest and hold
// an encoded storage::Entry; blobs are keyed by the digest of their bytes.
// Every operation returns within the remote's timeouts, and never throws.
// A tier connects on first use.
//
// An engine implements the pure virtuals below: reading, writing and
// removing entries, reading and writing blobs, listing entries (for
// `purge --remote --expired`) and removing everything (`purge --remote`).
// The rest have a default made of those; an engine overrides one where it
// can do the same thing cheaper or must do it otherwise (a remote that
// expires keys itself lengthens their life in place instead of writing them
// again; one that keeps blobs until told removes them).
class Tier {
public:
  virtual ~Tier() = default;

  // The encoded entry stored under key; nullopt when there is none.
  virtual Result<std::optional<std::string>> get_entry(const Digest& key) = 0;
  // Stores an encoded entry that expires (is deleted) at expires_ms (Unix
  // time in milliseconds).
  virtual Result<void> put_entry(const Digest& key,
                                 std::string_view encoded,
                                 int64_t expires_ms) = 0;
  // Removes the entry under key (its blobs expire on their own). Returns
  // whether there was one.
  virtual Result<bool> remove_entry(const Digest& key) = 0;
  // The key of every entry on the remote (for purge --remote --expired).
  virtual Result<std::vector<Digest>> list_entries() = 0;
  // A blob's bytes, unverified, when the remote holds size bytes under
  // digest (the size its entry gives); nullopt when it is not there. A blob
  // of another size is a Failure of Kind::rejected, found out before more
  // than size + 1 bytes of it are read (a chunked blob's before any chunk).
  virtual Result<std::optional<std::string>> get_blob(const Digest& digest,
                                                      uint64_t size) = 0;
  // Stores a blob that expires at expires_ms.
  virtual Result<void> put_blob(const Digest& digest,
                                std::span<const uint8_t> bytes,
                                int64_t expires_ms) = 0;
  // Removes every entry and blob of ipfsacc. Returns how many keys.
  virtual Result<uint64_t> purge() = 0;

  // Whether the blob is known to be there. When it is, its expiry is moved
  // out to expires_ms if that is later, so it lives as long as the entries
  // that use it. By default false: the caller then puts the blob again,
  // which costs its bytes once more but is always right.
  virtual Result<bool> has_blob(const Digest& digest, int64_t expires_ms);
  // Moves an entry's expiry out to expires_ms (ttl-refresh). By default the
  // entry is read and put again with that expiry (nothing when it is gone).
  virtual Result<void> refresh_entry(const Digest& key, int64_t expires_ms);
  // Removes the blobs that no digest in used names, where the remote keeps
  // blobs until told (IPFS). By default none: the remote expires blobs
  // itself (Redis). Returns how many went.
  virtual Result<uint64_t> remove_blobs_except(const std::set<Digest>& used);
  // A round trip that changes nothing (for doctor). By default a read of an
  // entry no request has.
  virtual Result<void> ping();
  // Stores and removes a probe key: whether the remote takes writes. By
  // default an entry under a random key, living 10 s, put and removed.
  virtual Result<void> probe_write();
  // Whether this tier writes at all, whatever its spec's access: false for
  // one that holds no credentials to write with (an S3 bucket read
  // anonymously), which is then read-only without a warning.
  virtual bool takes_writes() const { return true; }
  // Whether outputs may be kept here as zstd frames, blobs under the
  // frame's own digest (Remotes::set_compression). False for a remote whose
  // blobs are the world's too (IPFS: a block under an output's CID is that
  // output, which `ipfs cat CID` gives back and other nodes share).
  virtual bool takes_packed_blobs() const { return true; }
};

// Makes the tier for one spec (a single server; shards are put together by
// make_tier). Fails when the scheme's engine is not built in.
using TierFactory =
  std::function<Result<std::unique_ptr<Tier>>(const Spec& spec)>;

// An engine: the URL schemes it serves and how it makes a tier. Each
// engine's file defines one (remote/builtin_engines.cpp lists them).
struct Engine {
  std::vector<std::string> schemes;
  TierFactory make;
  // The secrets store's name for the password of a URL that gives none
  // ("redis_password"); "" when the engine takes none from there.
  std::string password_secret;
};

// Adds (or replaces) the factory of a URL scheme, beside the built-in
// engines' ("redis", "rediss", "ipfs", "http").
void register_scheme(std::string_view scheme, TierFactory factory);

// The password_secret of the engine serving scheme ("" when none).
std::string password_secret(std::string_view scheme);

// Makes the tier for spec: its scheme's factory, once per shard when it has
// shards= (keys then go to a shard by rendezvous hashing). Fails for an
// unknown scheme.
Result<std::unique_ptr<Tier>> make_tier(const Spec& spec);

// The schemes make_tier knows, for messages.
std::string known_schemes();

} // namespace ipfsacc::remote
