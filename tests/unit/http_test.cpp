// http::perform against a real server on 127.0.0.1: a thread answering
// scripted responses and recording the requests it received.
#include "http/http.hpp"
#include "test_support.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace ipfsacc;
using namespace std::chrono_literals;
using ipfsacc::test::contains;
using ipfsacc::test::ScopedEnv;

namespace {

struct Reply {
  std::string head; // "429 Too Many Requests\r\nRetry-After: 1"
  std::string body;
  std::chrono::milliseconds delay{ 0 };
};

struct Received {
  std::string request_line;
  std::string head; // the header lines, as sent
  std::string body;
};

// Answers one request per connection with the next scripted reply (the
// last one repeats).
class Server {
public:
  explicit Server(std::initializer_list<Reply> replies)
    : replies_(replies) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string url(std::string_view path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  int port() const { return port_; }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

private:
  void serve() {
    while (!stop_) {
      pollfd p{ fd_, POLLIN, 0 };
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        continue;
      }
      handle(client);
      ::close(client);
    }
  }

  void handle(int client) {
    std::string data;
    char buffer[4096];
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) {
        return;
      }
      data.append(buffer, size_t(n));
    }
    Received r;
    auto first = data.find("\r\n");
    r.request_line = data.substr(0, first);
    r.head = data.substr(first + 2, header_end - first - 2);
    size_t length = 0;
    for (std::string_view name : { "Content-Length: ", "content-length: " }) {
      if (auto at = r.head.find(name); at != std::string::npos) {
        length = std::stoul(r.head.substr(at + name.size()));
      }
    }
    r.body = data.substr(header_end + 4);
    while (r.body.size() < length) {
      ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) {
        break;
      }
      r.body.append(buffer, size_t(n));
    }
    Reply reply;
    {
      std::lock_guard lock(mutex_);
      received_.push_back(r);
      reply = replies_[std::min(next_++, replies_.size() - 1)];
    }
    auto until = std::chrono::steady_clock::now() + reply.delay;
    while (std::chrono::steady_clock::now() < until && !stop_) {
      std::this_thread::sleep_for(10ms);
    }
    std::string out = fmt::format("HTTP/1.1 {}\r\nContent-Length: {}\r\n"
                                  "Connection: close\r\n\r\n{}",
                                  reply.head,
                                  reply.body.size(),
                                  reply.body);
    (void)::write(client, out.data(), out.size());
  }

  std::vector<Reply> replies_;
  size_t next_ = 0;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{ false };
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Received> received_;
};

// No proxy from the user's environment may divert the test requests.
struct NoProxyEnv {
  ScopedEnv vars[8]{ ScopedEnv("http_proxy"),  ScopedEnv("HTTP_PROXY"),
                     ScopedEnv("https_proxy"), ScopedEnv("HTTPS_PROXY"),
                     ScopedEnv("all_proxy"),   ScopedEnv("ALL_PROXY"),
                     ScopedEnv("no_proxy"),    ScopedEnv("NO_PROXY") };
  NoProxyEnv() {
    for (auto& v : vars) {
      v.unset();
    }
  }
};

http::Options quick() {
  http::Options o;
  o.connect_timeout = 2000ms;
  o.timeout = 5000ms;
  o.max_retry_wait = 3000ms;
  return o;
}

} // namespace

TEST_CASE("http: a GET with headers, the status, headers and body back") {
  NoProxyEnv no_proxy;
  Server server({ { "200 OK\r\nX-Thing: one\r\nContent-Type: application/json",
                    R"({"ok":true})" } });
  http::Request request;
  request.url = server.url("/api/models/gpt2?full=1");
  request.headers = { { "Authorization", "Bearer hf_secret" },
                      { "Accept", "application/json" } };
  auto response = http::perform(request, quick());
  REQUIRE_MESSAGE(response, response.error().message);
  CHECK(response->status == 200);
  CHECK(response->body == R"({"ok":true})");
  CHECK(response->header("x-thing") == "one");
  CHECK(response->header("CONTENT-TYPE") == "application/json");
  CHECK_FALSE(response->header("Retry-After"));
  auto got = server.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].request_line == "GET /api/models/gpt2?full=1 HTTP/1.1");
  CHECK(contains(got[0].head, "Authorization: Bearer hf_secret"));
  CHECK(contains(got[0].head, "Accept: application/json"));
}

TEST_CASE("http: a POST sends its body; other methods their name") {
  NoProxyEnv no_proxy;
  Server server({ { "201 Created", "made" } });
  http::Request request;
  request.method = "POST";
  request.url = server.url("/v1/messages");
  request.headers = { { "Content-Type", "application/json" } };
  request.body = R"({"model":"m","messages":[]})";
  auto response = http::perform(request, quick());
  REQUIRE_MESSAGE(response, response.error().message);
  CHECK(response->status == 201);
  request.method = "DELETE";
  request.body.clear();
  REQUIRE(http::perform(request, quick()));
  request.method = "HEAD";
  auto head = http::perform(request, quick());
  REQUIRE(head);
  CHECK(head->body.empty());
  auto got = server.received();
  REQUIRE(got.size() == 3);
  CHECK(got[0].request_line == "POST /v1/messages HTTP/1.1");
  CHECK(got[0].body == R"({"model":"m","messages":[]})");
  CHECK(got[1].request_line == "DELETE /v1/messages HTTP/1.1");
  CHECK(got[2].request_line == "HEAD /v1/messages HTTP/1.1");
}

TEST_CASE("http: 4xx and 5xx are responses, not errors, and 404 is not "
          "retried") {
  NoProxyEnv no_proxy;
  Server server({ { "404 Not Found", R"({"error":"Repository not found"})" } });
  http::Request request;
  request.url = server.url("/api/models/nope");
  auto response = http::perform(request, quick());
  REQUIRE(response);
  CHECK(response->status == 404);
  CHECK(response->body == R"({"error":"Repository not found"})");
  CHECK(server.received().size() == 1);
}

TEST_CASE("http: 429 with Retry-After in seconds is retried after the wait") {
  NoProxyEnv no_proxy;
  Server server({ { "429 Too Many Requests\r\nRetry-After: 1", "slow down" },
                  { "200 OK", "done" } });
  http::Request request;
  request.url = server.url("/x");
  auto start = std::chrono::steady_clock::now();
  auto response = http::perform(request, quick());
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "done");
  CHECK(server.received().size() == 2);
  // The server asked for a second: the retry did not come before it.
  CHECK(waited >= 1000ms);
}

TEST_CASE("http: Retry-After as an HTTP date") {
  NoProxyEnv no_proxy;
  // A date in the past: retry at once.
  Server server(
    { { "503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT",
        "" },
      { "200 OK", "up" } });
  http::Request request;
  request.url = server.url("/x");
  auto response = http::perform(request, quick());
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(server.received().size() == 2);
}

TEST_CASE("http: retries are bounded; the last response is returned") {
  NoProxyEnv no_proxy;
  Server server({ { "502 Bad Gateway\r\nRetry-After: 0", "bad gateway" } });
  http::Request request;
  request.url = server.url("/x");
  auto options = quick();
  options.max_attempts = 3;
  auto response = http::perform(request, options);
  REQUIRE(response);
  CHECK(response->status == 502);
  CHECK(response->body == "bad gateway");
  CHECK(server.received().size() == 3);
}

TEST_CASE("http: without Retry-After the retry backs off") {
  NoProxyEnv no_proxy;
  Server server({ { "504 Gateway Timeout", "" }, { "200 OK", "ok" } });
  http::Request request;
  request.url = server.url("/x");
  auto response = http::perform(request, quick());
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(server.received().size() == 2);
}

TEST_CASE("http: a Retry-After longer than we would wait is not waited for") {
  NoProxyEnv no_proxy;
  Server server({ { "429 Too Many Requests\r\nRetry-After: 3600", "later" } });
  http::Request request;
  request.url = server.url("/x");
  auto response = http::perform(request, quick());
  REQUIRE(response);
  CHECK(response->status == 429);
  CHECK(server.received().size() == 1);
}

TEST_CASE("http: a slow server is a timeout error that names no header") {
  NoProxyEnv no_proxy;
  Server server({ { "200 OK", "late", 3000ms } });
  http::Request request;
  request.url = server.url("/slow?token=none");
  request.headers = { { "x-api-key", "sk-ant-very-secret" } };
  auto options = quick();
  options.timeout = 300ms;
  auto response = http::perform(request, options);
  REQUIRE_FALSE(response);
  CHECK(response.error().timeout);
  CHECK(contains(response.error().message, "GET http://127.0.0.1:"));
  CHECK(contains(response.error().message, "/slow"));
  CHECK_FALSE(contains(response.error().message, "sk-ant-very-secret"));
  CHECK_FALSE(contains(response.error().message, "token=none"));
}

TEST_CASE("http: a refused connection is an error, not a timeout") {
  NoProxyEnv no_proxy;
  int port;
  {
    Server closed({ { "200 OK", "" } });
    port = closed.port();
  }
  http::Request request;
  request.url = fmt::format("http://127.0.0.1:{}/x", port);
  auto response = http::perform(request, quick());
  REQUIRE_FALSE(response);
  CHECK_FALSE(response.error().timeout);
  CHECK(contains(response.error().message, "127.0.0.1"));
}

TEST_CASE("http: HTTP_PROXY carries http requests unless NO_PROXY names the "
          "host") {
  NoProxyEnv no_proxy;
  Server proxy({ { "200 OK", "via proxy" } });
  ScopedEnv http_proxy("HTTP_PROXY",
                       fmt::format("http://127.0.0.1:{}", proxy.port()));
  http::Request request;
  request.url = "http://api.example.invalid/v1/thing";
  auto response = http::perform(request, quick());
  REQUIRE_MESSAGE(response, response.error().message);
  CHECK(response->body == "via proxy");
  auto got = proxy.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].request_line ==
        "GET http://api.example.invalid/v1/thing HTTP/1.1");

  ScopedEnv none("NO_PROXY", "example.invalid");
  auto direct = http::perform(request, quick());
  REQUIRE_FALSE(direct);
  CHECK(proxy.received().size() == 1);
}

TEST_CASE("http: HTTPS_PROXY is the one for https URLs") {
  NoProxyEnv no_proxy;
  Server proxy({ { "200 Connection established", "" } });
  ScopedEnv https_proxy("HTTPS_PROXY",
                        fmt::format("http://127.0.0.1:{}", proxy.port()));
  http::Request request;
  request.url = "https://api.example.invalid/v1/thing";
  // Our server is no TLS proxy: the request fails, but it was asked.
  (void)http::perform(request, quick());
  auto got = proxy.received();
  REQUIRE(got.size() >= 1);
  CHECK(got[0].request_line == "CONNECT api.example.invalid:443 HTTP/1.1");
}

TEST_CASE("http: a body over max_body is refused, one at the limit kept") {
  NoProxyEnv no_proxy;
  Server server({ { "200 OK", std::string(10'000, 'x') } });
  http::Request request;
  request.url = server.url("/big");
  auto options = quick();
  options.max_body = 10'000;
  auto kept = http::perform(request, options);
  REQUIRE_MESSAGE(kept, kept.error().message);
  CHECK(kept->body.size() == 10'000);
  options.max_body = 9'999;
  auto refused = http::perform(request, options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().too_large);
  CHECK_FALSE(refused.error().timeout);
  CHECK(contains(refused.error().message, "GET http://127.0.0.1:"));
  CHECK(contains(refused.error().message, "larger than 10.0 kB; refused"));
}

TEST_CASE("http: a compressed body counts as it is decoded") {
  NoProxyEnv no_proxy;
  // 100,000 zero bytes gzipped into 132 (a small "gzip bomb").
  std::string gzipped =
    std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xed\xc1\x31\x01\x00"
                "\x00\x00\xc2\xa0\xf5\x4f\x6d\x0d\x0f\xa0",
                25) +
    std::string(96, '\0') +
    std::string("\x80\x57\x03\x7d\x95\x11\xd4\xa0\x86\x01\x00", 11);
  Server server({ { "200 OK\r\nContent-Encoding: gzip", gzipped } });
  http::Request request;
  request.url = server.url("/bomb");
  auto options = quick();
  options.max_body = 100'000;
  auto kept = http::perform(request, options);
  REQUIRE_MESSAGE(kept, kept.error().message);
  CHECK(kept->body == std::string(100'000, '\0'));
  options.max_body = 50'000;
  auto refused = http::perform(request, options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().too_large);
}
