#include "remote/resolve.hpp"

#include <arpa/inet.h>
#include <condition_variable>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <netdb.h>
#include <optional>
#include <sys/socket.h>
#include <thread>

namespace ipfsacc::remote {

namespace {

bool is_numeric(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// What the lookup thread hands back; shared, so a thread that outlives the
// wait writes into something that still exists.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<std::expected<Addresses, std::string>> result;
};

} // namespace

std::expected<Addresses, std::string> system_resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return std::unexpected(gai_strerror(rc));
  }
  Addresses addresses;
  for (auto* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* address = nullptr;
    if (a->ai_family == AF_INET) {
      address = &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr;
    } else if (a->ai_family == AF_INET6) {
      address = &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr;
    }
    if (address && inet_ntop(a->ai_family, address, text, sizeof(text))) {
      addresses.emplace_back(text);
    }
  }
  ::freeaddrinfo(found);
  if (addresses.empty()) {
    return std::unexpected("no IPv4 or IPv6 address");
  }
  return addresses;
}

Result<Addresses> resolve_within(const std::string& host,
                                 util::Millis timeout,
                                 Resolver resolver) {
  if (is_numeric(host)) {
    return Addresses{ host };
  }
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host, resolver = std::move(resolver)] {
    auto result = resolver(host);
    std::lock_guard lock(lookup->mutex);
    lookup->result = std::move(result);
    lookup->done.notify_all();
  }).detach();
  std::unique_lock lock(lookup->mutex);
  if (!lookup->done.wait_for(
        lock, timeout, [&] { return lookup->result.has_value(); })) {
    return std::unexpected(
      Failure{ Failure::Kind::timeout,
               fmt::format("resolving {} took longer than {}",
                           host,
                           util::format_duration(timeout)) });
  }
  if (!*lookup->result) {
    return std::unexpected(Failure{
      Failure::Kind::error,
      fmt::format("cannot resolve {}: {}", host, lookup->result->error()) });
  }
  return **lookup->result;
}

} // namespace ipfsacc::remote
