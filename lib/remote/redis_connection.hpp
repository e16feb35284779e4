#pragma once

// One connection to one Redis server (hiredis): made on first use within
// the remote's connect-timeout, authenticated, its database selected; every
// exchange of commands and replies ends by a deadline.

#include "remote/spec.hpp"
#include "remote/tier.hpp"

#include <cstdint>
#include <hiredis/hiredis.h>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A command's words. Viewed, not copied: a large output is sent from where
// it is.
using Command = std::vector<std::string_view>;

class Connection {
public:
  // A connection to host:port with spec's credentials, database and
  // timeouts.
  Connection(const Spec& spec, std::string host, int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the commands at once and reads every reply by deadline (a
  // util::steady_ms() time): one round trip. A reply may be an error reply,
  // for the caller to read. Fails when connecting, sending or reading fails;
  // the connection is then closed (what is left of a reply would be read as
  // the next one's), and the next exchange connects again.
  Result<std::vector<Reply>> exchange(std::span<const Command> commands,
                                      int64_t deadline);

  const std::string& host() const { return host_; }
  int port() const { return port_; }

private:
  Result<void> connect();
  void drop();
  Failure failure(std::string_view what) const;
  Result<void> wait_at_most_until(int option,
                                  int64_t deadline,
                                  std::string_view what);
  Result<Reply> reply_by(int64_t deadline, std::string_view what);
  Result<void> append(const Command& command);

  Spec spec_;
  std::string host_;
  int port_;
  redisContext* context_ = nullptr;
};

// An error reply as a failure, "what: the server's message".
Failure error_reply(const redisReply& reply, std::string_view what);

// A reply that is not what the command answers.
Failure unexpected_reply(std::string_view what);

} // namespace ipfsacc::remote::redis
