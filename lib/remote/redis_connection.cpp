#include "remote/redis_connection.hpp"

#include "remote/resolve.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/socket.h>

namespace ipfsacc::remote::redis {

namespace {

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

} // namespace

Failure error_reply(const redisReply& reply, std::string_view what) {
  return Failure{ Failure::Kind::error,
                  fmt::format(
                    "{}: {}", what, std::string_view(reply.str, reply.len)) };
}

Failure unexpected_reply(std::string_view what) {
  return Failure{ Failure::Kind::error,
                  fmt::format("{}: unexpected reply", what) };
}

Connection::Connection(const Spec& spec, std::string host, int port)
  : spec_(spec)
  , host_(std::move(host))
  , port_(port) {}

Connection::~Connection() {
  drop();
  sodium_memzero(spec_.password.data(), spec_.password.size());
}

Failure Connection::failure(std::string_view what) const {
  bool timed_out =
    context_ && context_->err == REDIS_ERR_IO &&
    (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT ||
     std::strstr(context_->errstr, "timed out") != nullptr ||
     std::strstr(context_->errstr, "temporarily unavailable") != nullptr);
  std::string detail = context_ && context_->err ? std::string(context_->errstr)
                                                 : std::string("no connection");
  return Failure{ timed_out ? Failure::Kind::timeout : Failure::Kind::error,
                  fmt::format(
                    "{}: {}", what, timed_out ? "timed out" : detail) };
}

// Connects (once), authenticates and selects the database.
Result<void> Connection::connect() {
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
  // hiredis resolves names with a getaddrinfo no timeout bounds: the name
  // is resolved here within connect-timeout, and hiredis tries each
  // address (as it would have) with what is left of it.
  int64_t started = util::steady_ms();
  auto addresses = resolve_within(host_, spec_.connect_timeout);
  if (!addresses) {
    return std::unexpected(addresses.error());
  }
  for (size_t i = 0; i < addresses->size(); ++i) {
    auto left = spec_.connect_timeout.count() - (util::steady_ms() - started);
    context_ = redisConnectWithTimeout(
      (*addresses)[i].c_str(),
      port_,
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
      drop();
      return std::unexpected(f);
    }
    drop();
  }
  // The socket stays ours: a tool run while it is open must not get it.
  util::set_close_on_exec(context_->fd);
  // Authenticating and selecting the database is one operation more.
  int64_t deadline = util::steady_ms() + spec_.timeout.count();
  auto one = [&](const Command& command) -> Result<void> {
    if (auto ok = append(command); !ok) {
      return ok;
    }
    auto reply = reply_by(deadline, command[0]);
    if (!reply) {
      return std::unexpected(reply.error());
    }
    if ((*reply)->type == REDIS_REPLY_ERROR) {
      return std::unexpected(error_reply(**reply, command[0]));
    }
    return {};
  };
  if (!spec_.password.empty()) {
    Command auth{ "AUTH" };
    if (!spec_.user.empty()) {
      auth.push_back(spec_.user);
    }
    auth.push_back(spec_.password);
    if (auto ok = one(auth); !ok) {
      drop(); // Never used unauthenticated.
      return ok;
    }
  }
  if (spec_.path.size() > 1) {
    if (auto ok = one({ "SELECT", std::string_view(spec_.path).substr(1) });
        !ok) {
      drop(); // Never used on another database.
      return ok;
    }
  }
  return {};
}

void Connection::drop() {
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
}

// Makes the next read (SO_RCVTIMEO) or write (SO_SNDTIMEO) on the socket
// wait at most until deadline. Fails as a timeout when the deadline has
// passed.
Result<void> Connection::wait_at_most_until(int option,
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
// each write and read waits at most the time left, so a server that answers
// a byte at a time cannot hold the operation past its timeout. A failure to
// send or read closes the connection.
Result<Reply> Connection::reply_by(int64_t deadline, std::string_view what) {
  auto dropped = [&](Failure f) {
    drop();
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
  return Reply(static_cast<redisReply*>(raw));
}

Result<void> Connection::append(const Command& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (auto word : command) {
    argv.push_back(word.data());
    lengths.push_back(word.size());
  }
  if (redisAppendCommandArgv(
        context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
      REDIS_OK) {
    return std::unexpected(failure(command[0]));
  }
  return {};
}

Result<std::vector<Reply>> Connection::exchange(
  std::span<const Command> commands,
  int64_t deadline) {
  SigpipeGuard guard;
  if (auto ok = connect(); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& command : commands) {
    if (auto ok = append(command); !ok) {
      drop();
      return std::unexpected(ok.error());
    }
  }
  // Every reply is read, an error reply's too, so that none is left for the
  // next exchange.
  std::vector<Reply> replies;
  for (const auto& command : commands) {
    auto reply = reply_by(deadline, command[0]);
    if (!reply) {
      return std::unexpected(reply.error());
    }
    replies.push_back(std::move(*reply));
  }
  return replies;
}

} // namespace ipfsacc::remote::redis
