#include "serve/proxy.hpp"

#include "core/answer.hpp"
#include "exec/recorder.hpp"
#include "util/duration.hpp"
#include "util/text.hpp"

#include <charconv>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <system_error>
#include <thread>

namespace ipfsacc::serve {

using json = nlohmann::json;

namespace {

// Headers that belong to one connection, or that the proxy sets itself:
// never forwarded either way.
constexpr std::string_view kHopByHop[] = {
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "host",
  "expect",
  "proxy-authorization",
};

bool is_hop_by_hop(std::string_view lower_name) {
  return std::find(std::begin(kHopByHop), std::end(kHopByHop), lower_name) !=
         std::end(kHopByHop);
}

// The request as it goes upstream: the client's headers but the hop-by-hop
// ones and the proxy's own (x-ipfsacc-*), and the body as it came, with the
// answer asked for unencoded, so that what is stored is what was sent.
http::Request upstream_request(const ProxyRequest& request,
                               std::string_view base) {
  http::Request up;
  up.method = request.method;
  up.url = fmt::format("{}{}{}{}",
                       base,
                       request.path,
                       request.query.empty() ? "" : "?",
                       request.query);
  bool has_type = false;
  bool has_accept = false;
  for (const auto& h : request.headers) {
    auto name = util::lower(h.name);
    if (is_hop_by_hop(name) || name == "accept-encoding" ||
        name.starts_with("x-ipfsacc-")) {
      continue;
    }
    has_type = has_type || name == "content-type";
    has_accept = has_accept || name == "accept";
    up.headers.push_back(h);
  }
  up.headers.push_back({ "Accept-Encoding", "identity" });
  // What libcurl would add on its own: nothing the client did not send
  // (an empty value removes libcurl's header, see http::stream).
  up.headers.push_back({ "Expect", "" });
  if (!has_type) {
    up.headers.push_back({ "Content-Type", "" });
  }
  if (!has_accept) {
    up.headers.push_back({ "Accept", "" });
  }
  up.body = request.body;
  return up;
}

// The upstream's headers as the client gets them.
Head client_head(long status, const std::vector<http::Header>& headers) {
  Head head;
  head.status = status;
  head.chunked = true;
  for (const auto& h : headers) {
    auto name = util::lower(h.name);
    if (name == "content-length") {
      head.chunked = false;
    }
    if (is_hop_by_hop(name) || name == "date") {
      continue;
    }
    head.headers.push_back(h);
  }
  return head;
}

// What is stored of a head: not the cookies one client was given.
Head stored_head(const Head& head) {
  Head kept = head;
  std::erase_if(kept.headers, [](const http::Header& h) {
    return util::lower(h.name) == "set-cookie";
  });
  return kept;
}

std::optional<uint64_t> content_length(const std::vector<http::Header>& hs) {
  for (const auto& h : hs) {
    if (util::lower(h.name) == "content-length") {
      uint64_t n = 0;
      auto [end, ec] =
        std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
      if (ec == std::errc() && end == h.value.data() + h.value.size()) {
        return n;
      }
    }
  }
  return std::nullopt;
}

// How much of a body's end is kept to find a stream's last event in.
constexpr size_t kTail = 64 << 10;

bool is_event_stream(const Head& head) {
  for (const auto& h : head.headers) {
    if (util::lower(h.name) == "content-type" &&
        util::lower(h.value).starts_with("text/event-stream")) {
      return true;
    }
  }
  return false;
}

void mark(Head& head, std::string_view cache, std::string_view cid) {
  head.headers.push_back({ "x-ipfsacc-cache", std::string(cache) });
  if (!cid.empty()) {
    head.headers.push_back({ "x-ipfsacc-key", std::string(cid) });
  }
}

// The request's cache control: x-ipfsacc-cache, else Cache-Control.
enum class Control { normal, refresh, off, only, no_store };

Control control_of(const ProxyRequest& request) {
  if (auto value = request.header("x-ipfsacc-cache")) {
    auto v = util::lower(*value);
    if (v == "refresh") {
      return Control::refresh;
    }
    if (v == "off") {
      return Control::off;
    }
    if (v == "only") {
      return Control::only;
    }
  }
  if (auto value = request.header("cache-control")) {
    auto v = util::lower(*value);
    if (v.find("no-store") != std::string::npos) {
      return Control::no_store;
    }
    if (v.find("no-cache") != std::string::npos) {
      return Control::refresh;
    }
  }
  return Control::normal;
}

} // namespace

Reply error_reply(long status,
                  std::string_view type,
                  std::string_view message) {
  Reply reply;
  reply.head.status = status;
  reply.head.headers.push_back({ "Content-Type", "application/json" });
  json body = { { "error",
                  { { "type", std::string(type) },
                    { "message", std::string(message) } } } };
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

Proxy::Proxy(ProxySettings settings, std::unique_ptr<AnswerStore> store)
  : settings_(std::move(settings))
  , store_(std::move(store)) {
  if (store_) {
    store_->set_metrics(&metrics_);
  }
}

Proxy::~Proxy() {
  drain();
}

std::string_view Proxy::upstream(const Route& route) const {
  auto it = settings_.upstreams.find(route.name);
  return it != settings_.upstreams.end() ? std::string_view(it->second)
                                         : route.upstream;
}

void Proxy::log(std::string_view what,
                std::string_view cid,
                const ProxyRequest& request,
                long status) {
  if (!settings_.verbose) {
    return;
  }
  // The path only: a query may carry a credential.
  fmt::print(stderr,
             "ipfsacc serve: {} {}{}{} {}{} {}\n",
             what,
             cid,
             cid.empty() ? "" : " ",
             request.method,
             request.route->prefix,
             request.path,
             status);
  std::fflush(stderr);
}

void Proxy::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return transfers_ == 0; });
}

Reply Proxy::handle(ProxyRequest request) {
  const Route& route = *request.route;
  auto control = control_of(request);
  auto body = json_body(request);
  auto lifetime = cache_lifetime(route,
                                 request.method,
                                 request.path,
                                 request.query,
                                 body ? &*body : nullptr);
  if (!lifetime || !store_ || control == Control::off ||
      control == Control::no_store) {
    if (control == Control::only) {
      auto reply = error_reply(
        504, "ipfsacc_not_cached", "not cached (x-ipfsacc-cache: only)");
      mark(reply.head, "BYPASS", "");
      log("BYPASS", "", request, 504);
      metrics_.served(route.name, Served::bypass);
      return reply;
    }
    if (store_ && lifetime) {
      store_->count(Statistic::bypasses, route.name);
    }
    return forward(std::move(request), std::nullopt, "", util::Millis(0), {});
  }

  // The key: the account is a keyed hash of the credentials, which are
  // wiped as soon as it is made.
  std::string account;
  if (auto credentials = request_credentials(request); !credentials.empty()) {
    account = store_->account(credentials);
    sodium_memzero(credentials.data(), credentials.size());
  }
  const ScrubProfile* profile =
    route.scrub.empty() ? nullptr : builtin_scrub_profile(route.scrub);
  std::string canonical =
    canonical_request(request, upstream(route), profile, account);
  Digest key = sha256(canonical);
  std::string cid = cid_string(key);

  auto hit = [&]() -> std::optional<Reply> {
    auto answer = store_->lookup(key, route.name);
    if (!answer) {
      return std::nullopt;
    }
    auto head = decode_head(answer->err.memory);
    if (!head) {
      return std::nullopt;
    }
    Reply reply;
    reply.head = std::move(*head);
    reply.body = std::move(answer->out.memory);
    if (answer->out.file) {
      reply.file = std::move(answer->out.file);
      reply.file_size = answer->out.size;
    }
    for (const auto& segment : answer->segments) {
      if (segment.stream == storage::Stream::out) {
        reply.pieces.push_back(segment.size);
      }
    }
    mark(reply.head, "HIT", cid);
    log("HIT", cid, request, reply.head.status);
    metrics_.served(route.name,
                    Served::hit,
                    reply.file ? reply.file_size : reply.body.size());
    return reply;
  };
  if (control != Control::refresh) {
    if (auto reply = hit()) {
      return std::move(*reply);
    }
  }
  if (control == Control::only) {
    store_->count(Statistic::offline_misses, route.name);
    auto reply = error_reply(
      504, "ipfsacc_not_cached", "not cached (x-ipfsacc-cache: only)");
    mark(reply.head, "MISS", cid);
    log("MISS", cid, request, 504);
    metrics_.served(route.name, Served::miss);
    return reply;
  }
  // Single flight: identical requests wait for the one being answered and
  // replay what it stored.
  auto lock =
    storage::KeyLock::acquire(store_->dir(), key, storage::KeyLock::Wait::no);
  if (!lock) {
    lock = storage::KeyLock::acquire(
      store_->dir(), key, storage::KeyLock::Wait::yes);
    if (auto reply = hit()) {
      return std::move(*reply);
    }
    // What we waited for left no answer: forward without holding the lock,
    // so the other waiters do not queue behind this one in turn.
    lock.reset();
  } else if (control != Control::refresh) {
    if (auto reply = hit()) {
      return std::move(*reply);
    }
  }
  return forward(std::move(request),
                 key,
                 cid,
                 *lifetime,
                 std::move(lock),
                 std::move(canonical));
}

Reply Proxy::forward(ProxyRequest request,
                     std::optional<Digest> key,
                     std::string key_cid,
                     util::Millis lifetime,
                     std::optional<storage::KeyLock> lock,
                     std::string canonical) {
  // Counted as the client sees it: a MISS when it has a key.
  metrics_.served(request.route->name, key ? Served::miss : Served::bypass);
  auto pipe = std::make_shared<Pipe>();
  {
    std::lock_guard guard(mutex_);
    ++transfers_;
  }
  auto up = upstream_request(request, upstream(*request.route));
  // Run on its own thread: the connection's thread reads the pipe while
  // this one fills it.
  std::thread transfer;
  try {
    transfer = std::thread([this,
                            pipe,
                            up = std::move(up),
                            request = std::move(request),
                            key,
                            key_cid,
                            lifetime,
                            lock = std::move(lock),
                            canonical = std::move(canonical)]() mutable {
      int64_t started = util::steady_ms();
      Head head;
      // The body as it passes: hashed, in memory while small, else spilled
      // to a file in the store's tmp/, which the store takes over.
      exec::RecordedStream body;
      std::optional<exec::StreamRecorder> recorder;
      if (key && store_) {
        recorder.emplace(body, store_->tmp_dir());
      }
      std::vector<uint64_t> pieces;
      bool recording = recorder.has_value();
      const uint64_t max_recorded = recording ? store_->max_answer_size() : 0;
      // The end of the body, where a stream's last event is.
      std::string tail;
      http::StreamSink sink;
      sink.head = [&](long status, const std::vector<http::Header>& headers) {
        head = client_head(status, headers);
        Head sent = head;
        mark(sent, key ? "MISS" : "BYPASS", key_cid);
        pipe->set_head(std::move(sent), content_length(headers));
        return true;
      };
      uint64_t pipe_bytes = 0; // for the metrics
      sink.body = [&](std::string_view piece) {
        pipe_bytes += piece.size();
        if (recording) {
          if (body.size + piece.size() > max_recorded ||
              !recorder->add(piece.data(), piece.size())) {
            // Too large to keep, or not recordable: passed on only.
            recording = false;
            recorder.reset();
            body.remove_file();
            body.memory = std::string();
            pieces = {};
          } else {
            pieces.push_back(piece.size());
            tail.append(piece);
            if (tail.size() > kTail) {
              tail.erase(0, tail.size() - kTail);
            }
          }
        }
        return pipe->write(piece);
      };
      auto result = http::stream(up, http::StreamOptions{}, sink);
      metrics_.upstream(request.route->name,
                        double(util::steady_ms() - started) / 1000,
                        pipe_bytes,
                        !result || head.status >= 500);
      if (!result && !result.error().started) {
        pipe->fail(result.error().message);
        log("ERROR", key_cid, request, 502);
      } else {
        AnswerFacts facts;
        facts.complete = result.has_value() && recording && recorder->finish();
        if (facts.complete && is_event_stream(head) &&
            !request.route->stream_end.empty()) {
          // A stream cut short by the upstream ends cleanly without its last
          // event: it is not whole.
          facts.complete =
            tail.rfind(request.route->stream_end) != std::string::npos;
        }
        facts.failed = head.status < 200 || head.status > 299;
        facts.not_found = head.status == 404;
        KeepRules rules;
        rules.ttl = lifetime;
        Keep keep = decide_cacheable(facts, rules);
        if (key && store_) {
          if (keep.store) {
            Answer answer;
            answer.source = AnswerSource::upstream;
            answer.http_status = static_cast<int>(head.status);
            answer.out.memory = std::move(body.memory);
            answer.out.size = body.size;
            answer.out.digest = body.digest;
            answer.out.spilled = body.file;
            Head kept = stored_head(head);
            kept.request = std::move(canonical);
            answer.err.memory = encode_head(kept);
            answer.err.size = answer.err.memory.size();
            answer.segments.push_back(
              { storage::Stream::err, answer.err.size });
            for (auto n : pieces) {
              answer.segments.push_back({ storage::Stream::out, n });
            }
            answer.keep = keep;
            auto took = util::steady_ms() - started;
            store_->store(
              *key,
              answer,
              request.route->name,
              fmt::format(
                "{} {}{}", request.method, request.route->prefix, request.path),
              static_cast<uint32_t>(std::clamp<int64_t>(took, 0, UINT32_MAX)));
          } else {
            store_->count(facts.failed ? Statistic::uncached_failures
                                       : Statistic::misses,
                          request.route->name);
          }
        }
        // Stored before the client sees the end: a request made once this
        // one is answered finds it.
        lock.reset();
        pipe->finish(result.has_value());
        log(key ? (keep.store ? "MISS" : "MISS (not stored)") : "BYPASS",
            key_cid,
            request,
            head.status);
      }
      lock.reset();
      // What the store did not take over.
      body.remove_file();
      std::lock_guard guard(mutex_);
      --transfers_;
      idle_.notify_all();
    });
  } catch (const std::system_error& e) {
    std::lock_guard guard(mutex_);
    --transfers_;
    idle_.notify_all();
    auto reply = error_reply(
      502, "ipfsacc_upstream_error", fmt::format("no thread: {}", e.what()));
    mark(reply.head, "BYPASS", "");
    return reply;
  }
  transfer.detach();

  auto head = pipe->wait_head();
  if (!head) {
    auto reply = error_reply(
      502, "ipfsacc_upstream_error", fmt::format("upstream: {}", pipe->why()));
    mark(reply.head, key ? "MISS" : "BYPASS", key_cid);
    return reply;
  }
  Reply reply;
  reply.pipe = pipe;
  reply.head = std::move(*head);
  reply.length = pipe->length();
  return reply;
}

} // namespace ipfsacc::serve
