#pragma once

// One proxied request, whatever server carries it: whether it is cached,
// its key, a hit from the store, or the request forwarded to the upstream
// with its answer recorded on the way to the client and stored when it is
// whole (decide_cacheable, as for a call). Nothing here throws or ends the
// process, and a store that fails leaves the request answered uncached.

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
  Reply forward(ProxyRequest request,
                std::optional<Digest> key,
                std::string key_cid,
                util::Millis lifetime,
                std::optional<storage::KeyLock> lock,
                std::string canonical = {});
  void log(std::string_view what,
           std::string_view cid,
           const ProxyRequest& request,
           long status);

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
