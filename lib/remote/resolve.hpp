#pragma once

#include "remote/tier.hpp"
#include "util/duration.hpp"

#include <expected>
#include <functional>
#include <string>
#include <vector>

// Name resolution bounded in time. getaddrinfo has no timeout of its own: a
// slow or dead DNS server holds it for seconds, far past a remote's
// connect-timeout, and a remote that cannot be reached must cost a call no
// more than that.
namespace ipfsacc::remote {

// A host's numeric addresses, in the order to try them.
using Addresses = std::vector<std::string>;

// Looks a host name up; its addresses, or a message.
using Resolver =
  std::function<std::expected<Addresses, std::string>(const std::string&)>;

// The system's resolver (getaddrinfo), in the order it gives (RFC 6724's).
std::expected<Addresses, std::string> system_resolve(const std::string& host);

// The numeric addresses of host: host itself when it is an IPv4 or IPv6
// address, else what resolver answers within timeout. Past the timeout the
// result is a timeout Failure, and the lookup goes on in a thread of its own
// whose answer is dropped.
Result<Addresses> resolve_within(const std::string& host,
                                 util::Millis timeout,
                                 Resolver resolver = system_resolve);

} // namespace ipfsacc::remote
