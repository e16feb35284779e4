#pragma once

// The proxy's HTTP server: libmicrohttpd with a thread per connection, so a
// response can wait for its body to arrive from the upstream. It parses
// nothing itself; every request goes to the Proxy.

#include "serve/proxy.hpp"

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

struct MHD_Daemon;

namespace ipfsacc::serve {

struct Listen {
  std::string host = "127.0.0.1";
  uint16_t port = 8100;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT"; a message when it is not one.
std::expected<Listen, std::string> parse_listen(std::string_view text);

// Whether host is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(std::string_view host);

class Server {
public:
  ~Server();

  // Listens on listen (port 0: a free one) and answers with proxy. With a
  // token, a request without it in x-ipfsacc-token is refused (401).
  static std::expected<std::unique_ptr<Server>, std::string>
  start(const Listen& listen, std::string token, Proxy& proxy);

  // The port it listens on.
  uint16_t port() const { return port_; }

  // Stops taking connections; the requests in flight go on.
  void quiesce();
  // How many requests are being received or answered.
  int in_flight() const { return in_flight_; }

  // Stops: the requests still in flight are cut (their answers are not
  // stored), the transfers they started end.
  void stop();

  // Used by the library's callbacks.
  Proxy& proxy() { return *proxy_; }
  const std::string& token() const { return token_; }
  std::atomic<int>& in_flight_count() { return in_flight_; }

private:
  Server() = default;
  MHD_Daemon* daemon_ = nullptr;
  Proxy* proxy_ = nullptr;
  std::string token_;
  uint16_t port_ = 0;
  std::atomic<int> in_flight_{ 0 };
  int quiesced_socket_ = -1;
};

} // namespace ipfsacc::serve
