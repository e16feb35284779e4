#pragma once

// One proxied request, whatever server carries it: whether it is cached,
// its key, a hit from the store, or the request forwarded to the upstream
// with its answer recorded on the way to the client and stored when it is
// whole (decide_cacheable, as for a call). Nothing here throws or ends the
// process, and a store that fails leaves the request answered uncached.

#include "secrets/secrets.hpp"
#include "serve/answer_store.hpp"
#include "serve/metrics.hpp"
#include "serve/pipe.hpp"
#include "serve/request_key.hpp"
#include "storage/lock.hpp"
#include "util/fs.hpp"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ipfsacc::serve {

struct ProxySettings {
  // Route name → the upstream's base URL (no trailing '/'), for the routes
  // whose default --upstream changed.
  std::map<std::string, std::string, std::less<>> upstreams;
  bool verbose = false; // one line per request on stderr
  // The lifetime of every cached answer of a route, replacing the table's
  // (`ttl`, `ttl.serve/ROUTE`, `ttl.serve` of the config).
  std::map<std::string, util::Millis, std::less<>> ttls;
  // How long the upstream may take to begin its answer: past it the client
  // gets a 504 and the transfer is dropped.
  util::Millis upstream_timeout{ 600'000 };
  // The secrets store (nullptr when there is none): each route's key is
  // added to a request that carries no credential.
  std::shared_ptr<const secrets::Secrets> secrets;
};

// What the client gets: a whole body (a hit, an error), or a pipe its body
// arrives through.
struct Reply {
  Head head;
  std::string body;
  // A stored body too large for memory: a private copy, verified (body is
  // then empty), of file_size bytes.
  util::Fd file;
  uint64_t file_size = 0;
  // The pieces a stored body arrived in (head.chunked): sent one by one,
  // with the boundaries they had.
  std::vector<uint64_t> pieces;
  std::shared_ptr<Pipe> pipe;
  // The upstream's Content-Length, for a piped body.
  std::optional<uint64_t> length;
};

class Proxy {
public:
  // store may be null: everything is then forwarded uncached.
  Proxy(ProxySettings settings, std::unique_ptr<AnswerStore> store);
  ~Proxy();

  // The upstream of route: --upstream's, else the route's default.
  std::string_view upstream(const Route& route) const;

  // Answers request (its route set). Never throws.
  Reply handle(ProxyRequest request);

  // Waits until every forwarded transfer has ended.
  void drain();

  // What /metrics shows.
  Metrics& metrics() { return metrics_; }

private:
  // What a forwarded request is to the cache.
  struct Forward {
    std::optional<Digest> key; // nullopt: passed through, nothing stored
    std::string cid;
    util::Millis lifetime{ 0 };
    std::optional<storage::KeyLock> lock;
    std::string why; // why it was not a hit, for -v
    // An expired answer that a conditional request revalidates.
    std::optional<AnswerStore::Stored> stale;
    int64_t started_ms = 0;
    // The canonical request the key was made of, kept with the answer.
    std::string canonical;
  };
  // One line of -v.
  struct LogLine {
    std::string_view what; // HIT, MISS, BYPASS, REVALIDATED, ERROR
    std::string_view cid;
    long status = 0;
    uint64_t bytes = 0;
    int64_t started_ms = 0;
    std::string_view why;
    bool stored = true; // false: a miss whose answer was not kept
  };

  Reply forward(ProxyRequest request, Forward how);
  // Adds the route's key from the secrets store when request carries no
  // credential.
  void add_stored_credential(ProxyRequest& request) const;
  std::optional<util::Millis> lifetime_of(const ProxyRequest& request) const;
  void log(const ProxyRequest& request, const LogLine& line);

  ProxySettings settings_;
  Metrics metrics_; // before store_, which counts hits' tokens in it
  std::unique_ptr<AnswerStore> store_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int transfers_ = 0;
};

// An answer made by the proxy itself (404 of an unknown route, 502 of an
// unreachable upstream, 504 of `x-ipfsacc-cache: only`): JSON, with the
// message.
Reply error_reply(long status, std::string_view type, std::string_view message);

} // namespace ipfsacc::serve
