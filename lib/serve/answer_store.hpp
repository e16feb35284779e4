#pragma once

// How the proxy keeps answers: in the cache every command uses, as entries
// of the tool "serve" whose operation is the route, so that stats, list,
// show and purge see them. An answer is the common Answer: its stdout is the
// body (its segments the pieces the body arrived in, replayed one by one),
// its stderr the response's status and headers with the canonical request
// the key was made of, its exit code the status.

#include "core/answer.hpp"
#include "core/cid.hpp"
#include "core/config.hpp"
#include "http/http.hpp"
#include "remote/remotes.hpp"
#include "stats/stats.hpp"
#include "storage/store.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ipfsacc::serve {

class Metrics;

// The status and headers of a stored answer.
struct Head {
  long status = 0;
  std::vector<http::Header> headers;
  bool chunked = false; // the upstream sent no length: replayed in chunks
  // The canonical request document whose CID is the entry's key (credentials
  // only as the account's keyed hash), kept so that `show` can say what a
  // key was made of; "" in entries stored before it was kept. Never sent to
  // a client.
  std::string request;
};

std::string encode_head(const Head& head);
// nullopt when text is not a head encode_head wrote.
std::optional<Head> decode_head(std::string_view text);

// The shared store, one per server: every thread's reads and writes take
// its mutex (one LMDB environment per process, whose map may grow).
// Nothing here throws; a store that fails is reported once and the request
// is answered uncached.
//
// Behind the local store, the remote tiers of the `remote` setting, used as
// a call uses them: a local miss asks them (entries verified against their
// CIDs and bound to the key by remote::Remotes), a remote hit is copied into
// the local store, and what is stored locally is sent to the writable ones.
// One remote::Remotes serves every thread, behind a mutex of its own (not
// the store's, so local hits never wait on the network): remotes are asked
// only on local misses, each of which then costs an upstream request far
// slower than a remote's answer, and a shared Remotes marks a failing remote
// down once for the whole process, where a connection per thread would
// multiply connections to it and retry a dead one on every thread. A remote
// that fails never fails a request: it is said once on stderr and left out.
class AnswerStore {
public:
  ~AnswerStore();
  // Opens the cache of config; a message when it cannot be used.
  static std::expected<std::unique_ptr<AnswerStore>, std::string> open(
    const Config& config);

  const std::filesystem::path& dir() const { return store_->dir(); }
  // Where a recording spills a large answer: the store takes the file over.
  std::filesystem::path tmp_dir() const { return store_->tmp_dir(); }
  // The largest answer recorded (max_answer_size); a larger one passes
  // through.
  uint64_t max_answer_size() const { return max_answer_size_; }

  // "h:HEX": the keyed hash of credentials under the cache's namespace key
  // (made when the cache has none yet), as a call's account is; "name:NAME"
  // when the `account` setting names one (IPFSACC_ACCOUNT), which is how
  // caches with different namespace keys share entries.
  std::string account(std::string_view credentials);

  // Where hits count the tokens they saved; nullptr (the default): nowhere.
  // Set before the store is used.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

  // A fresh answer stored under key, copied out of the store and verified
  // against its CIDs (a large body into a private file, out.file), or else
  // one of the remotes' (then copied into the store); its hit counted for
  // route. nullopt on a miss (an entry that does not verify is removed).
  // Remotes::fetch only with ask_remotes (a lookup again after waiting for
  // the key's lock: what was stored meanwhile is local).
  std::optional<Answer> lookup(const Digest& key,
                               std::string_view route,
                               bool ask_remotes = true);

  // Stores answer under key for keep.lifetime, with its statistics and the
  // token usage its body reports, then sends it to the writable remotes. A
  // body spilled to a file (out.spilled, with out.digest and out.size) is
  // moved into the store.
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
  // Writes the hits held back (mutex held).
  void apply_hits(storage::StoreWriter& w);
  // Writes them now unless a lookup waits for the mutex, which then
  // will (mutex held).
  void flush_hits_unless_busy();
  void write(const std::function<void(storage::StoreWriter&)>& fn);
  // The local store's fresh, verified answer (mutex taken).
  std::optional<Answer> lookup_local(const Digest& key, std::string_view route);
  void store_local(const Digest& key,
                   const storage::Entry& entry,
                   const Answer& answer,
                   std::string_view route);
  // A hit's statistics, its saved tokens also to the metrics.
  void count_hit(StatsDelta& delta,
                 const storage::Entry& entry,
                 std::string_view route);
  // The tokens entry's usage says a hit saved, counted in the metrics;
  // returns them (input, output).
  std::pair<uint64_t, uint64_t> count_tokens(const storage::Entry& entry,
                                             std::string_view route);
  // A verified entry of a remote and its answer (mutex not held).
  std::optional<std::pair<storage::Entry, Answer>> fetch_remote(
    const Digest& key);
  // Sends a stored entry to the writable remotes (mutex not held).
  void store_remote(const Digest& key,
                    const storage::Entry& entry,
                    const Answer& answer);
  // The remotes' warnings to stderr, their counters returned
  // (remote_mutex_ held).
  StatsDelta collect_remote_news();
  // Writes the remotes' counters (mutex taken).
  void write_news(const StatsDelta& news);

  std::mutex mutex_;
  std::unique_ptr<storage::Store> store_;
  uint64_t max_size_ = 0;
  uint64_t max_answer_size_ = 0;
  bool keep_stats_ = true;
  std::string account_name_; // the `account` setting
  bool warned_ = false;
  Metrics* metrics_ = nullptr;
  // Hits not written yet: while lookups queue for the mutex, their last-use
  // times and counters are written together, by the last of them to leave
  // or by any other write, rather than one write transaction each.
  std::atomic<int> lookups_waiting_{ 0 };
  std::map<Digest, std::pair<int64_t, int>> held_touches_; // last use, hits
  StatsDelta held_stats_;
  // Taken alone, never with mutex_ held.
  std::mutex remote_mutex_;
  std::unique_ptr<remote::Remotes> remotes_; // nullptr: none
};

} // namespace ipfsacc::serve
