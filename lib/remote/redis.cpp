// The Redis tier (hiredis). Layout, as the README documents it:
//   ipfsacc:entry:<request CID>  the encoded entry (storage/entry.cpp's
//                                format), expiring with the entry
//   ipfsacc:blob:<blob CID>      an output's bytes as they are (the local
//                                store does not compress), expiring with the
//                                last entry stored that uses it

#include "remote/builtin_engines.hpp"
#include "remote/resolve.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <hiredis/hiredis.h>
#include <iterator>
#include <sodium.h>
#include <sys/socket.h>

namespace ipfsacc::remote {

namespace {

constexpr std::string_view kEntryPrefix = "ipfsacc:entry:";
constexpr std::string_view kBlobPrefix = "ipfsacc:blob:";
constexpr uint16_t kDefaultPort = 6379;

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Blocks SIGPIPE while it lives: a server that goes away between two
// commands must not kill the call (hiredis writes with write(2)). A SIGPIPE
// raised meanwhile is consumed before the old mask comes back.
class SigpipeGuard {
public:
  SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending_before_);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) &&
        !sigismember(&pending_before_, SIGPIPE)) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      timespec zero{};
      sigtimedwait(&pipe, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
  sigset_t old_;
  sigset_t pending_before_;
};

timeval to_timeval(util::Millis d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string entry_key(const Digest& key) {
  return std::string(kEntryPrefix) + cid_string(key);
}

std::string blob_key(const Digest& digest) {
  return std::string(kBlobPrefix) + cid_string(digest);
}

class RedisTier final : public Tier {
public:
  explicit RedisTier(Spec spec)
    : spec_(std::move(spec)) {}
  ~RedisTier() override {
    if (context_) {
      redisFree(context_);
    }
    sodium_memzero(spec_.password.data(), spec_.password.size());
  }

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    return get(entry_key(key));
  }

  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t expires_ms) override {
    return set(entry_key(key),
               std::span(reinterpret_cast<const uint8_t*>(encoded.data()),
                         encoded.size()),
               expires_ms);
  }

  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    // At most size + 1 bytes: a longer value is found out without reading it
    // whole. GETRANGE answers "" for a missing key, and no blob is empty.
    auto reply =
      command({ "GETRANGE", blob_key(digest), "0", std::to_string(size) });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    const auto* r = reply->get();
    if (r->type != REDIS_REPLY_STRING) {
      return std::unexpected(protocol("GETRANGE"));
    }
    if (r->len == 0) {
      return std::optional<std::string>();
    }
    if (r->len != size) {
      return std::unexpected(Failure{
        Failure::Kind::rejected,
        r->len > size
          ? fmt::format("over the {} bytes of its entry", size)
          : fmt::format("{} bytes, not the {} of its entry", r->len, size) });
    }
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  // Blobs expire with the longest-lived entry that uses them: the default
  // remove_blobs_except (none) is right. The overrides below do in place,
  // in one round trip, what the defaults would do by writing again.
  Result<bool> has_blob(const Digest& digest, int64_t expires_ms) override {
    auto key = blob_key(digest);
    auto ms = std::to_string(expires_ms);
    // EXISTS says whether it is there; PEXPIREAT … GT only ever lengthens
    // its life (and does nothing when it is absent).
    auto replies =
      pipeline({ { "EXISTS", key }, { "PEXPIREAT", key, ms, "GT" } });
    if (!replies) {
      return std::unexpected(replies.error());
    }
    return (*replies)[0]->type == REDIS_REPLY_INTEGER &&
           (*replies)[0]->integer == 1;
  }

  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t expires_ms) override {
    return set(blob_key(digest), bytes, expires_ms);
  }

  Result<void> refresh_entry(const Digest& key, int64_t expires_ms) override {
    auto reply = command(
      { "PEXPIREAT", entry_key(key), std::to_string(expires_ms), "GT" });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return {};
  }

  Result<bool> remove_entry(const Digest& key) override {
    auto reply = command({ "UNLINK", entry_key(key) });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer > 0;
  }

  Result<uint64_t> purge() override {
    uint64_t removed = 0;
    auto scanned = scan("ipfsacc:*", [&](std::vector<std::string> keys) {
      std::vector<std::string> unlink{ "UNLINK" };
      std::move(keys.begin(), keys.end(), std::back_inserter(unlink));
      auto gone = command(unlink);
      if (!gone) {
        return Result<void>(std::unexpected(gone.error()));
      }
      removed += static_cast<uint64_t>((*gone)->integer);
      return Result<void>();
    });
    if (!scanned) {
      return std::unexpected(scanned.error());
    }
    return removed;
  }

  Result<std::vector<Digest>> list_entries() override {
    std::vector<Digest> found;
    constexpr std::string_view kPrefix = "ipfsacc:entry:";
    auto scanned =
      scan(std::string(kPrefix) + "*", [&](std::vector<std::string> keys) {
        for (const auto& key : keys) {
          if (auto digest = parse_cid(std::string_view(key).substr(
                std::min(key.size(), kPrefix.size())))) {
            found.push_back(*digest);
          }
        }
        return Result<void>();
      });
    if (!scanned) {
      return std::unexpected(scanned.error());
    }
    return found;
  }

  // PING and a probe outside the entries' keys: doctor's check touches no
  // key that `purge --remote --expired` lists.
  Result<void> ping() override {
    auto reply = command({ "PING" });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return {};
  }

  Result<void> probe_write() override {
    uint8_t random[8];
    randombytes_buf(random, sizeof(random));
    std::string key = "ipfsacc:probe:";
    for (auto b : random) {
      key += fmt::format("{:02x}", b);
    }
    auto replies =
      pipeline({ { "SET", key, "1", "PX", "10000" }, { "DEL", key } });
    if (!replies) {
      return std::unexpected(replies.error());
    }
    return {};
  }

private:
  Failure failure(std::string_view what) const {
    bool timed_out =
      context_ && context_->err == REDIS_ERR_IO &&
      (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT ||
       std::strstr(context_->errstr, "timed out") != nullptr ||
       std::strstr(context_->errstr, "temporarily unavailable") != nullptr);
    std::string detail = context_ && context_->err
                           ? std::string(context_->errstr)
                           : std::string("no connection");
    return Failure{ timed_out ? Failure::Kind::timeout : Failure::Kind::error,
                    fmt::format(
                      "{}: {}", what, timed_out ? "timed out" : detail) };
  }

  Failure protocol(std::string_view what) const {
    return Failure{ Failure::Kind::error,
                    fmt::format("{}: unexpected reply", what) };
  }

  // Connects (once), authenticates and selects the database.
  Result<void> connect() {
    if (context_) {
      if (context_->err) {
        return std::unexpected(failure("connection"));
      }
      return {};
    }
    if (spec_.scheme == "rediss") {
      return std::unexpected(Failure{
        Failure::Kind::error,
        "rediss:// needs hiredis with TLS support (libhiredis_ssl), which "
        "this build of ipfsacc lacks; use redis:// through a TLS tunnel" });
    }
    int port = spec_.port ? spec_.port : kDefaultPort;
    // hiredis resolves names with a getaddrinfo no timeout bounds: the name
    // is resolved here within connect-timeout, and hiredis tries each
    // address (as it would have) with what is left of it.
    int64_t started = util::steady_ms();
    auto addresses = resolve_within(spec_.host, spec_.connect_timeout);
    if (!addresses) {
      return std::unexpected(addresses.error());
    }
    for (size_t i = 0; i < addresses->size(); ++i) {
      auto left = spec_.connect_timeout.count() - (util::steady_ms() - started);
      context_ = redisConnectWithTimeout(
        (*addresses)[i].c_str(),
        port,
        to_timeval(util::Millis(std::max<int64_t>(1, left))));
      if (!context_) {
        return std::unexpected(
          Failure{ Failure::Kind::error, "connect: out of memory" });
      }
      if (!context_->err) {
        break;
      }
      auto f = failure("connect");
      if (errno == EINPROGRESS || errno == ETIMEDOUT) {
        f.kind = Failure::Kind::timeout;
      }
      left = spec_.connect_timeout.count() - (util::steady_ms() - started);
      if (i + 1 == addresses->size() || left <= 0) {
        return std::unexpected(f);
      }
      redisFree(context_);
      context_ = nullptr;
    }
    // The socket stays ours: a tool run while it is open must not get it.
    util::set_close_on_exec(context_->fd);
    // Authenticating and selecting the database is one operation more.
    int64_t deadline = deadline_from_now();
    if (!spec_.password.empty()) {
      std::vector<std::string> auth{ "AUTH" };
      if (!spec_.user.empty()) {
        auth.push_back(spec_.user);
      }
      auth.push_back(spec_.password);
      auto reply = raw_command(auth, deadline);
      for (auto& word : auth) {
        sodium_memzero(word.data(), word.size());
      }
      if (!reply) {
        drop_connection(); // Never used unauthenticated.
        return std::unexpected(reply.error());
      }
    }
    if (spec_.path.size() > 1) {
      auto reply = raw_command({ "SELECT", spec_.path.substr(1) }, deadline);
      if (!reply) {
        drop_connection(); // Never used on another database.
        return std::unexpected(reply.error());
      }
    }
    return {};
  }

  // When an operation starting now must have ended (a util::steady_ms()
  // time): `timeout=` is the longest one operation may take, however many
  // reads and writes it needs.
  int64_t deadline_from_now() const {
    return util::steady_ms() + spec_.timeout.count();
  }

  // Closes the connection after a failure in the middle of an operation:
  // what is left of a reply would be read as the next one's, and a server
  // that drips its answer is held open no longer. The next operation
  // connects again.
  void drop_connection() {
    if (context_) {
      redisFree(context_);
      context_ = nullptr;
    }
  }

  // Makes the next read (SO_RCVTIMEO) or write (SO_SNDTIMEO) on the socket
  // wait at most until deadline. Fails as a timeout when the deadline has
  // passed.
  Result<void> wait_at_most_until(int option,
                                  int64_t deadline,
                                  std::string_view what) {
    int64_t left = deadline - util::steady_ms();
    if (left <= 0) {
      return std::unexpected(
        Failure{ Failure::Kind::timeout, fmt::format("{}: timed out", what) });
    }
    // Never zero, which would mean no limit at all.
    auto tv = to_timeval(util::Millis(left));
    if (::setsockopt(context_->fd, SOL_SOCKET, option, &tv, sizeof(tv)) != 0) {
      return std::unexpected(Failure{
        Failure::Kind::error,
        fmt::format("{}: setting a timeout: {}", what, std::strerror(errno)) });
    }
    return {};
  }

  // Sends the commands hiredis holds and reads the next reply, by deadline:
  // each write and read waits at most the time left, so a server that
  // answers a byte at a time cannot hold the operation past its timeout. A
  // failure to send or read closes the connection; an error reply is a
  // failure that leaves it open.
  Result<Reply> reply_by(int64_t deadline, std::string_view what) {
    auto dropped = [&](Failure f) {
      drop_connection();
      return Result<Reply>(std::unexpected(std::move(f)));
    };
    int done = 0;
    while (!done) {
      if (auto ok = wait_at_most_until(SO_SNDTIMEO, deadline, what); !ok) {
        return dropped(ok.error());
      }
      if (redisBufferWrite(context_, &done) != REDIS_OK) {
        return dropped(failure(what));
      }
    }
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      return dropped(failure(what));
    }
    while (!raw) {
      if (auto ok = wait_at_most_until(SO_RCVTIMEO, deadline, what); !ok) {
        return dropped(ok.error());
      }
      if (redisBufferRead(context_) != REDIS_OK ||
          redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
        return dropped(failure(what));
      }
    }
    return check(Reply(static_cast<redisReply*>(raw)), what);
  }

  static std::vector<const char*> pointers(const std::vector<std::string>& args,
                                           std::vector<size_t>& lengths) {
    std::vector<const char*> argv;
    lengths.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return argv;
  }

  // Sends one command on a connected context and reads its reply by
  // deadline; an error reply is a failure.
  Result<Reply> raw_command(const std::vector<std::string>& args,
                            int64_t deadline) {
    std::vector<size_t> lengths;
    auto argv = pointers(args, lengths);
    if (redisAppendCommandArgv(context_,
                               static_cast<int>(argv.size()),
                               argv.data(),
                               lengths.data()) != REDIS_OK) {
      return std::unexpected(failure(args[0]));
    }
    return reply_by(deadline, args[0]);
  }

  Result<Reply> check(Reply reply, std::string_view what) {
    if (!reply) {
      return std::unexpected(failure(what));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      return std::unexpected(
        Failure{ Failure::Kind::error,
                 fmt::format(
                   "{}: {}", what, std::string_view(reply->str, reply->len)) });
    }
    return reply;
  }

  // Calls each with every batch of keys matching pattern (SCAN: the server
  // is never blocked walking all of them at once).
  Result<void> scan(
    const std::string& pattern,
    const std::function<Result<void>(std::vector<std::string>)>& each) {
    std::string cursor = "0";
    do {
      auto reply =
        command({ "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" });
      if (!reply) {
        return std::unexpected(reply.error());
      }
      const auto* r = reply->get();
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_STRING ||
          r->element[1]->type != REDIS_REPLY_ARRAY) {
        return std::unexpected(protocol("SCAN"));
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      std::vector<std::string> keys;
      const auto* found = r->element[1];
      for (size_t i = 0; i < found->elements; ++i) {
        keys.emplace_back(found->element[i]->str, found->element[i]->len);
      }
      if (!keys.empty()) {
        if (auto ok = each(std::move(keys)); !ok) {
          return ok;
        }
      }
    } while (cursor != "0");
    return {};
  }

  // One command and its reply: one operation, within the timeout.
  Result<Reply> command(const std::vector<std::string>& args) {
    SigpipeGuard guard;
    if (auto ok = connect(); !ok) {
      return std::unexpected(ok.error());
    }
    return raw_command(args, deadline_from_now());
  }

  // Sends the commands at once and reads their replies: one round trip.
  Result<std::vector<Reply>> pipeline(
    const std::vector<std::vector<std::string>>& commands) {
    SigpipeGuard guard;
    if (auto ok = connect(); !ok) {
      return std::unexpected(ok.error());
    }
    for (const auto& args : commands) {
      std::vector<size_t> lengths;
      auto argv = pointers(args, lengths);
      if (redisAppendCommandArgv(context_,
                                 static_cast<int>(argv.size()),
                                 argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return std::unexpected(failure(args[0]));
      }
    }
    // All of it is one operation, within the timeout. Every reply is read,
    // an error reply's too, so that none is left for the next operation.
    int64_t deadline = deadline_from_now();
    std::vector<Reply> replies;
    std::optional<Failure> first_failure;
    for (const auto& args : commands) {
      if (!context_) {
        break; // Closed by a failure to read an earlier reply.
      }
      auto reply = reply_by(deadline, args[0]);
      if (!reply) {
        if (!first_failure) {
          first_failure = reply.error();
        }
        continue;
      }
      replies.push_back(std::move(*reply));
    }
    if (first_failure) {
      return std::unexpected(*first_failure);
    }
    return replies;
  }

  Result<std::optional<std::string>> get(const std::string& key) {
    auto reply = command({ "GET", key });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    const auto* r = reply->get();
    if (r->type == REDIS_REPLY_NIL) {
      return std::optional<std::string>();
    }
    if (r->type != REDIS_REPLY_STRING) {
      return std::unexpected(protocol("GET"));
    }
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  Result<void> set(const std::string& key,
                   std::span<const uint8_t> bytes,
                   int64_t expires_ms) {
    SigpipeGuard guard;
    if (auto ok = connect(); !ok) {
      return std::unexpected(ok.error());
    }
    // The value is passed by pointer: a large output is not copied.
    auto ms = std::to_string(expires_ms);
    const char* argv[] = { "SET",
                           key.data(),
                           reinterpret_cast<const char*>(bytes.data()),
                           "PXAT",
                           ms.data() };
    size_t lengths[] = { 3, key.size(), bytes.size(), 4, ms.size() };
    if (redisAppendCommandArgv(context_, 5, argv, lengths) != REDIS_OK) {
      return std::unexpected(failure("SET"));
    }
    auto checked = reply_by(deadline_from_now(), "SET");
    if (!checked) {
      return std::unexpected(checked.error());
    }
    return {};
  }

  Spec spec_;
  redisContext* context_ = nullptr;
};

} // namespace

Engine redis_engine() {
  // rediss:// is known so that its failure says why (hiredis here is built
  // without TLS).
  return { { "redis", "rediss" },
           [](const Spec& spec) -> Result<std::unique_ptr<Tier>> {
             return std::make_unique<RedisTier>(spec);
           },
           "redis_password" };
}

} // namespace ipfsacc::remote
