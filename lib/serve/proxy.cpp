#include "serve/proxy.hpp"

#include "core/answer.hpp"
#include "exec/recorder.hpp"
#include "serve/controls.hpp"
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
                               std::string_view base,
                               const std::vector<http::Header>& extra) {
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
  up.headers.insert(up.headers.end(), extra.begin(), extra.end());
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

std::optional<util::Millis> Proxy::lifetime_of(
  const ProxyRequest& request) const {
  auto body = json_body(request);
  auto lifetime = cache_lifetime(*request.route,
                                 request.method,
                                 request.path,
                                 request.query,
                                 body ? &*body : nullptr);
  if (!lifetime) {
    return std::nullopt;
  }
  if (auto it = settings_.ttls.find(request.route->name);
      it != settings_.ttls.end()) {
    return it->second;
  }
  return lifetime;
}

void Proxy::add_stored_credential(ProxyRequest& request) const {
  const Route& route = *request.route;
  if (!settings_.secrets || route.secret.empty()) {
    return;
  }
  auto credentials = request_credentials(request);
  bool carries = !credentials.empty();
  sodium_memzero(credentials.data(), credentials.size());
  if (carries) {
    return;
  }
  if (auto value = settings_.secrets->get(route.secret)) {
    request.headers.push_back(
      { std::string(route.secret_header),
        fmt::format("{}{}", route.secret_scheme, *value) });
  }
}

void Proxy::log(const ProxyRequest& request, const LogLine& line) {
  if (!settings_.verbose) {
    return;
  }
  // The path only: a query may carry a credential.
  fmt::print(stderr,
             "ipfsacc serve: {} {}{}{} {}{} {} route={} bytes={} ms={}{}{}{}\n",
             line.what,
             line.cid,
             line.cid.empty() ? "" : " ",
             request.method,
             request.route->prefix,
             request.path,
             line.status,
             request.route->name,
             line.bytes,
             std::max<int64_t>(0, util::steady_ms() - line.started_ms),
             line.why.empty() ? "" : " reason=",
             line.why,
             line.stored ? "" : " stored=no");
  std::fflush(stderr);
}

void Proxy::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return transfers_ == 0; });
}

Reply Proxy::handle(ProxyRequest request) {
  int64_t started = util::steady_ms();
  const Route& route = *request.route;
  auto controls = controls_of(request);
  auto lifetime = lifetime_of(request);
  add_stored_credential(request);
  if (!lifetime || !store_ || controls.mode == Control::off ||
      controls.mode == Control::no_store) {
    std::string_view why = !lifetime ? "not-cached"
                           : !store_ ? "no-cache-store"
                                     : controls.why;
    if (controls.mode == Control::only) {
      auto reply = error_reply(
        504, "ipfsacc_not_cached", "not cached (x-ipfsacc-cache: only)");
      mark(reply.head, "BYPASS", "");
      log(request,
          { "BYPASS", "", 504, reply.body.size(), started, why, true });
      metrics_.served(route.name, Served::bypass);
      return reply;
    }
    if (store_ && lifetime) {
      store_->count(Statistic::bypasses, route.name);
    }
    Forward how;
    how.why = std::string(why);
    how.started_ms = started;
    return forward(std::move(request), std::move(how));
  }

  // The key: the account is a keyed hash of the credentials (the client's,
  // or the one just added from the secrets store), which are wiped as soon
  // as it is made.
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

  // The remotes are asked once: a lookup after the key's lock finds what
  // was stored meanwhile in the local store.
  bool asked_remotes = false;
  auto hit = [&]() -> std::optional<Reply> {
    auto answer = store_->lookup(key, route.name, !asked_remotes);
    asked_remotes = true;
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
    uint64_t size = reply.file ? reply.file_size : reply.body.size();
    for (const auto& segment : answer->segments) {
      if (segment.stream == storage::Stream::out) {
        reply.pieces.push_back(segment.size);
      }
    }
    mark(reply.head, "HIT", cid);
    log(request, { "HIT", cid, reply.head.status, size, started, "", true });
    metrics_.served(route.name, Served::hit, size);
    return reply;
  };
  // Whether the stored answer may be served, and if not why.
  bool read = controls.mode != Control::refresh;
  std::string why(controls.why);
  std::optional<AnswerStore::Stored> seen;
  bool peeked = false;
  auto peek = [&]() -> const std::optional<AnswerStore::Stored>& {
    if (!peeked) {
      seen = store_->peek(key);
      peeked = true;
    }
    return seen;
  };
  if (read && controls.max_age_ms) {
    const auto& stored = peek();
    if (stored &&
        util::now_ms() - stored->answer.made_ms > *controls.max_age_ms) {
      read = false;
      why = "max-age";
    }
  }
  if (read) {
    if (auto reply = hit()) {
      return std::move(*reply);
    }
  }
  if (controls.mode == Control::only) {
    store_->count(Statistic::offline_misses, route.name);
    auto reply = error_reply(
      504, "ipfsacc_not_cached", "not cached (x-ipfsacc-cache: only)");
    mark(reply.head, "MISS", cid);
    log(request,
        { "MISS", cid, 504, reply.body.size(), started, "only", false });
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
  } else if (read) {
    if (auto reply = hit()) {
      return std::move(*reply);
    }
  }
  Forward how;
  if (read) {
    // A miss: an entry there is expired (or does not verify).
    peeked = false;
    why = route.conditional || settings_.verbose
            ? (peek() ? "expired" : "no-entry")
            : "no-entry";
  }
  // An expired answer of a route that revalidates, unless the client made
  // its own conditional request (it then gets the upstream's 304 itself).
  if (route.conditional && (why == "expired" || why == "max-age") &&
      !request.header("if-none-match") &&
      !request.header("if-modified-since")) {
    if (peek() && !validators(*seen).empty()) {
      how.stale = std::move(seen);
    }
  }
  how.key = key;
  how.cid = cid;
  how.lifetime = *lifetime;
  how.lock = std::move(lock);
  how.why = std::move(why);
  how.started_ms = started;
  how.canonical = std::move(canonical);
  return forward(std::move(request), std::move(how));
}

Reply Proxy::forward(ProxyRequest request, Forward how) {
  // Counted as the client sees it: a MISS when it has a key.
  metrics_.served(request.route->name, how.key ? Served::miss : Served::bypass);
  auto pipe = std::make_shared<Pipe>();
  {
    std::lock_guard guard(mutex_);
    ++transfers_;
  }
  auto up = upstream_request(request,
                             upstream(*request.route),
                             how.stale ? validators(*how.stale)
                                       : std::vector<http::Header>{});
  bool keyed = how.key.has_value();
  std::string key_cid = how.cid;
  // What -v says of a request that timed out (the request itself has gone
  // to the transfer's thread).
  ProxyRequest named;
  named.method = request.method;
  named.route = request.route;
  named.path = request.path;
  LogLine timed_out{
    keyed ? "MISS" : "BYPASS", "", 504, 0, how.started_ms, "timeout", false
  };
  // Run on its own thread: the connection's thread reads the pipe while
  // this one fills it.
  std::thread transfer;
  try {
    transfer = std::thread([this,
                            pipe,
                            up = std::move(up),
                            request = std::move(request),
                            how = std::move(how)]() mutable {
      const auto& key = how.key;
      const auto& key_cid = how.cid;
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
      uint64_t bytes = 0;
      bool recording = recorder.has_value();
      const uint64_t max_recorded = recording ? store_->max_answer_size() : 0;
      // The end of the body, where a stream's last event is.
      std::string tail;
      bool revalidated = false;
      http::StreamSink sink;
      sink.head = [&](long status, const std::vector<http::Header>& headers) {
        head = client_head(status, headers);
        if (how.stale && status == 304) {
          // Still the stored answer: the client gets it once it is renewed.
          revalidated = true;
          return true;
        }
        Head sent = head;
        mark(sent, key ? "MISS" : "BYPASS", key_cid);
        pipe->set_head(std::move(sent), content_length(headers));
        return true;
      };
      sink.body = [&](std::string_view piece) {
        if (revalidated) {
          return true; // a 304 has no body; nothing of it is kept
        }
        bytes += piece.size();
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
      http::StreamOptions options;
      options.timeout = std::max(options.timeout, settings_.upstream_timeout);
      auto result = http::stream(up, options, sink);
      metrics_.upstream(request.route->name,
                        double(util::steady_ms() - started) / 1000,
                        bytes,
                        !result || head.status >= 500);
      if (!result && (!result.error().started || revalidated)) {
        pipe->fail(result.error().message);
        if (!pipe->timed_out()) {
          log(request,
              { "ERROR", key_cid, 502, 0, how.started_ms, how.why, false });
        }
      } else if (revalidated) {
        const auto& stored = *how.stale;
        store_->renew(*key, stored, how.lifetime, request.route->name);
        auto stored_head = decode_head(stored.answer.err.memory);
        Head sent = stored_head ? std::move(*stored_head) : Head{};
        mark(sent, "REVALIDATED", key_cid);
        long status = sent.status;
        const auto& stored_body = stored.answer.out.memory;
        pipe->set_head(std::move(sent),
                       stored_head && !stored_head->chunked
                         ? std::optional<uint64_t>(stored_body.size())
                         : std::nullopt);
        how.lock.reset();
        uint64_t at = 0;
        for (const auto& segment : stored.answer.segments) {
          if (segment.stream == storage::Stream::out &&
              at + segment.size <= stored_body.size()) {
            if (!pipe->write(
                  std::string_view(stored_body).substr(at, segment.size))) {
              break;
            }
            at += segment.size;
          }
        }
        if (at < stored_body.size()) {
          pipe->write(std::string_view(stored_body).substr(at));
        }
        pipe->finish(true);
        log(request,
            { "REVALIDATED",
              key_cid,
              status,
              stored_body.size(),
              how.started_ms,
              how.why,
              true });
      } else {
        AnswerFacts facts;
        facts.complete = result.has_value() && recording && recorder->finish();
        if (facts.complete && is_event_stream(head)) {
          // A stream cut short by the upstream ends cleanly without its last
          // event: it is not whole.
          facts.complete = stream_ended(*request.route, tail);
        }
        facts.failed = head.status < 200 || head.status > 299;
        facts.not_found = head.status == 404;
        KeepRules rules;
        rules.ttl = how.lifetime;
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
            kept.request = std::move(how.canonical);
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
        how.lock.reset();
        pipe->finish(result.has_value());
        if (!pipe->timed_out()) {
          log(request,
              { key ? "MISS" : "BYPASS",
                key_cid,
                head.status,
                bytes,
                how.started_ms,
                how.why,
                !key || keep.store });
        }
      }
      how.lock.reset();
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

  auto head = pipe->wait_head(settings_.upstream_timeout);
  if (!head && pipe->timed_out()) {
    auto reply = error_reply(
      504,
      "ipfsacc_upstream_timeout",
      fmt::format("upstream: no answer within {}",
                  util::format_duration(settings_.upstream_timeout)));
    mark(reply.head, keyed ? "MISS" : "BYPASS", key_cid);
    timed_out.cid = key_cid;
    log(named, timed_out);
    return reply;
  }
  if (!head) {
    auto reply = error_reply(
      502, "ipfsacc_upstream_error", fmt::format("upstream: {}", pipe->why()));
    mark(reply.head, keyed ? "MISS" : "BYPASS", key_cid);
    return reply;
  }
  Reply reply;
  reply.pipe = pipe;
  reply.head = std::move(*head);
  reply.length = pipe->length();
  return reply;
}

} // namespace ipfsacc::serve
