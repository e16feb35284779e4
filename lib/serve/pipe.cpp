#include "serve/pipe.hpp"

namespace ipfsacc::serve {

void Pipe::set_head(Head head, std::optional<uint64_t> length) {
  std::lock_guard lock(mutex_);
  head_ = std::move(head);
  length_ = length;
  changed_.notify_all();
}

bool Pipe::write(std::string_view piece) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return left_ || queued_ < kLimit; });
  if (left_) {
    return false;
  }
  if (!piece.empty()) {
    pieces_.emplace_back(piece);
    queued_ += piece.size();
    changed_.notify_all();
  }
  return true;
}

void Pipe::finish(bool complete) {
  std::lock_guard lock(mutex_);
  finished_ = true;
  complete_ = complete;
  changed_.notify_all();
}

void Pipe::fail(std::string why) {
  std::lock_guard lock(mutex_);
  failed_ = true;
  finished_ = true;
  why_ = std::move(why);
  changed_.notify_all();
}

std::optional<Head> Pipe::wait_head() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return head_ || failed_ || finished_; });
  return head_;
}

std::optional<Head> Pipe::wait_head(util::Millis timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(
        lock, timeout, [&] { return head_ || failed_ || finished_; })) {
    timed_out_ = true;
    left_ = true;
    changed_.notify_all();
  }
  return head_;
}

Pipe::Read Pipe::read(std::string& piece) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !pieces_.empty() || finished_; });
  if (!pieces_.empty()) {
    piece = std::move(pieces_.front());
    pieces_.pop_front();
    queued_ -= piece.size();
    changed_.notify_all();
    return Read::piece;
  }
  return complete_ ? Read::end : Read::broken;
}

std::optional<uint64_t> Pipe::length() {
  std::lock_guard lock(mutex_);
  return length_;
}

void Pipe::leave() {
  std::lock_guard lock(mutex_);
  left_ = true;
  pieces_.clear();
  queued_ = 0;
  changed_.notify_all();
}

} // namespace ipfsacc::serve
