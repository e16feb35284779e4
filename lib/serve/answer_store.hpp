#pragma once

// How the proxy keeps answers: in the cache every command uses, as entries
// of the tool "serve" whose operation is the route, so that stats, list,
// show and purge see them. An answer is the common Answer: its stdout is the
// body (its segments the pieces the body arrived in, replayed one by one),
// its stderr the response's status and headers, its exit code the status.

#include "core/answer.hpp"
#include "core/cid.hpp"
#include "core/config.hpp"
#include "http/http.hpp"
#include "stats/stats.hpp"
#include "storage/store.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ipfsacc::serve {

// The status and headers of a stored answer.
struct Head {
  long status = 0;
  std::vector<http::Header> headers;
  bool chunked = false; // the upstream sent no length: replayed in chunks
};

std::string encode_head(const Head& head);
// nullopt when text is not a head encode_head wrote.
std::optional<Head> decode_head(std::string_view text);

// The shared store, one per server: every thread's reads and writes take
// its mutex (one LMDB environment per process, whose map may grow).
// Nothing here throws; a store that fails is reported once and the request
// is answered uncached.
class AnswerStore {
public:
  // Opens the cache of config; a message when it cannot be used.
  static std::expected<std::unique_ptr<AnswerStore>, std::string> open(
    const Config& config);

  const std::filesystem::path& dir() const { return store_->dir(); }

  // "h:HEX": the keyed hash of credentials under the cache's namespace key
  // (made when the cache has none yet), as a call's account is.
  std::string account(std::string_view credentials);

  // A fresh answer stored under key, copied out of the store and verified
  // against its CIDs; its hit counted for route. nullopt on a miss (an
  // entry that does not verify is removed).
  std::optional<Answer> lookup(const Digest& key, std::string_view route);

  // Stores answer under key for keep.lifetime, with its statistics.
  void store(const Digest& key,
             const Answer& answer,
             std::string_view route,
             std::string display,
             uint32_t duration_ms);

  // Counts one statistic for route (a miss not stored, a bypass).
  void count(Statistic statistic, std::string_view route);

  // The answer under key, fresh or expired, verified, with when it was
  // made and when it expires (answer.made_ms, expires_ms): what a
  // conditional request revalidates and what a client's max-age judges.
  // Counts nothing and touches nothing.
  struct Stored {
    Answer answer;
    int64_t expires_ms = 0;
  };
  std::optional<Stored> peek(const Digest& key);

  // The upstream said stored (as peek gave it) is still its answer (a 304):
  // the entry is made again now, for lifetime, and counted a hit of route.
  void renew(const Digest& key,
             const Stored& stored,
             util::Millis lifetime,
             std::string_view route);

private:
  // The first failure of the store, said once on stderr (mutex held).
  void warn(std::string_view message);
  AnswerStore() = default;
  void write(const std::function<void(storage::StoreWriter&)>& fn);

  std::mutex mutex_;
  std::unique_ptr<storage::Store> store_;
  uint64_t max_size_ = 0;
  bool keep_stats_ = true;
  bool warned_ = false;
};

} // namespace ipfsacc::serve
