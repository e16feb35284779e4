#include "secrets/prompt.hpp"

#include "secrets/secrets.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

namespace ipfsacc::secrets {

namespace {

// The terminal whose echo is off, for the signal handler to restore.
int g_tty = -1;
termios g_saved{};
constexpr int kRestoredOn[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

void restore_and_reraise(int sig) {
  if (g_tty >= 0) {
    ::tcsetattr(g_tty, TCSAFLUSH, &g_saved);
    (void)!::write(g_tty, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Echo off for its lifetime; the terminal is restored on destruction and on
// the signals that end a prompt.
class EchoOff {
public:
  explicit EchoOff(int fd) {
    if (::tcgetattr(fd, &g_saved) != 0) {
      return;
    }
    termios quiet = g_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    struct sigaction restore {};
    restore.sa_handler = restore_and_reraise;
    sigemptyset(&restore.sa_mask);
    for (size_t i = 0; i < std::size(kRestoredOn); ++i) {
      sigaction(kRestoredOn[i], &restore, &old_[i]);
    }
    g_tty = fd;
    active_ = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (g_tty >= 0) {
      ::tcsetattr(g_tty, TCSAFLUSH, &g_saved);
      g_tty = -1;
      for (size_t i = 0; i < std::size(kRestoredOn); ++i) {
        sigaction(kRestoredOn[i], &old_[i], nullptr);
      }
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  bool active() const { return active_; }

private:
  struct sigaction old_[std::size(kRestoredOn)]{};
  bool active_ = false;
};

} // namespace

std::expected<SecureBuffer, std::string> prompt_hidden(
  std::string_view prompt) {
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) {
    return std::unexpected(
      fmt::format("no terminal to ask on ({})", std::strerror(errno)));
  }
  auto line = SecureBuffer::allocate(kMaxValueSize + 1);
  if (!line) {
    ::close(tty);
    return line;
  }
  size_t size = 0;
  bool ended = false;
  {
    // Echo goes off before the prompt shows: nothing typed after the prompt
    // appears may be echoed.
    EchoOff quiet(tty);
    if (!quiet.active()) {
      ::close(tty);
      return std::unexpected("cannot turn the terminal's echo off");
    }
    util::write_all(tty, prompt.data(), prompt.size());
    char c = 0;
    while (size < line->size()) {
      ssize_t n = ::read(tty, &c, 1);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      if (c == '\n') {
        ended = true;
        break;
      }
      line->data()[size++] = static_cast<uint8_t>(c);
    }
    sodium_memzero(&c, sizeof(c));
  }
  util::write_all(tty, "\n", 1);
  ::close(tty);
  if (!ended && size == 0) {
    return std::unexpected("nothing was typed");
  }
  if (size > 0 && line->data()[size - 1] == '\r') {
    --size;
  }
  line->truncate(size);
  return line;
}

std::expected<SecureBuffer, std::string> read_secret(int fd, size_t limit) {
  auto data = SecureBuffer::allocate(limit + 1);
  if (!data) {
    return data;
  }
  size_t size = 0;
  while (size < data->size()) {
    ssize_t n = ::read(fd, data->data() + size, data->size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(
        fmt::format("cannot read stdin: {}", std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    size += static_cast<size_t>(n);
  }
  if (size > limit) {
    return std::unexpected(
      fmt::format("the value is larger than {} KiB", limit / 1024));
  }
  if (size > 0 && data->data()[size - 1] == '\n') {
    --size;
    if (size > 0 && data->data()[size - 1] == '\r') {
      --size;
    }
  }
  data->truncate(size);
  return data;
}

PassphraseSource prompt_passphrase(std::string what) {
  return
    [what = std::move(what)](
      PassphrasePurpose purpose) -> std::expected<SecureBuffer, std::string> {
      auto first = prompt_hidden(fmt::format("Passphrase for {}: ", what));
      if (!first) {
        return std::unexpected(fmt::format(
          "a passphrase is needed for {}: {}; or set IPFSACC_PASSPHRASE",
          what,
          first.error()));
      }
      if (first->empty()) {
        return std::unexpected("the passphrase is empty");
      }
      if (purpose == PassphrasePurpose::unlock) {
        return first;
      }
      auto again = prompt_hidden(fmt::format("Same passphrase again: "));
      if (!again) {
        return std::unexpected(again.error());
      }
      if (again->size() != first->size() ||
          sodium_memcmp(again->data(), first->data(), first->size()) != 0) {
        return std::unexpected("the two passphrases differ");
      }
      return first;
    };
}

} // namespace ipfsacc::secrets
