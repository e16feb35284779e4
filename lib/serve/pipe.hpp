#pragma once

// The answer of a forwarded request on its way from the upstream (one
// thread writing what arrives) to the client (the connection's thread
// reading it), piece by piece: the pieces reach the client as they arrived,
// which is what a streamed (SSE) answer needs. Bounded, so that a large
// download passes through in little memory.

#include "serve/answer_store.hpp"
#include "util/duration.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace ipfsacc::serve {

class Pipe {
public:
  // What may wait in the pipe before the writer blocks.
  static constexpr size_t kLimit = 4 << 20;

  // The writer's side.
  // The status and headers, and the body's length when the upstream said.
  void set_head(Head head, std::optional<uint64_t> length);
  // Adds a piece, waiting while the pipe is full. False once the reader has
  // left: the transfer should stop.
  bool write(std::string_view piece);
  // The body ended: whole, or broken off (complete false).
  void finish(bool complete);
  // No answer came (before any head): why, for the client's 502.
  void fail(std::string why);

  // The reader's side.
  // Waits for the head; nullopt when the transfer failed first (why() says
  // why).
  std::optional<Head> wait_head();
  // The same, waiting at most timeout: past it the reader leaves (the
  // transfer stops at its next write) and timed_out() is true.
  std::optional<Head> wait_head(util::Millis timeout);
  bool timed_out() const { return timed_out_; }
  const std::string& why() const { return why_; }
  std::optional<uint64_t> length();
  enum class Read { piece, end, broken };
  // Waits for the next piece.
  Read read(std::string& piece);
  // The client went away: the writer's next write returns false.
  void leave();

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> pieces_;
  size_t queued_ = 0;
  std::optional<Head> head_;
  std::optional<uint64_t> length_;
  bool failed_ = false;
  bool finished_ = false;
  bool complete_ = false;
  bool left_ = false;
  std::atomic<bool> timed_out_ = false; // read by the writer too
  std::string why_;
};

} // namespace ipfsacc::serve
