#pragma once

// The proxy's routes, as data: which path prefix goes to which API, what a
// request there carries as its credential, which headers change its answer,
// and which of its requests are cached and for how long.

#include "util/duration.hpp"

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string_view>

namespace ipfsacc::serve {

struct Route {
  std::string_view name;     // "anthropic": the operation of its entries
  std::string_view prefix;   // "/anthropic"
  std::string_view upstream; // the API it forwards to, unless --upstream
  // The variable that points a client at the proxy, and what follows the
  // route's URL in it (the OpenAI SDK's base URL ends in /v1).
  std::string_view env;
  std::string_view env_suffix;
  // Where a request carries its credential (lower-case header names, query
  // parameter names): hashed into the account, never into the key.
  std::span<const std::string_view> credential_headers;
  std::span<const std::string_view> credential_query;
  // The request headers that change the answer (lower case).
  std::span<const std::string_view> key_headers;
  std::string_view scrub; // the scrub profile's id, "" for none
  // The texts one of which a stream's last event holds: a streamed answer
  // with none of them at its end is incomplete and not stored. Empty when a
  // clean end of the transfer is all.
  std::span<const std::string_view> stream_ends;
  // The secrets store's name for the route's key, added to a request that
  // carries no credential, as the header secret_header with secret_scheme
  // before the value ("Bearer ").
  std::string_view secret;
  std::string_view secret_header;
  std::string_view secret_scheme;
  // Whether an expired answer is revalidated with a conditional request
  // (If-None-Match, If-Modified-Since) rather than fetched again.
  bool conditional = false;
};

// Every route, in the order `serve --env` prints them.
std::span<const Route> routes();

// The route whose prefix path starts with (followed by '/' or nothing);
// nullptr when none.
const Route* find_route(std::string_view path);

// Whether body, a streamed answer of route, ends with its last event (the
// last 64 KiB of it are enough, tail).
bool stream_ended(const Route& route, std::string_view tail);

// The route named name; nullptr when none.
const Route* route_named(std::string_view name);

// How long the answer to a request is kept: nullopt when the request is not
// cached (it passes through untouched). path is what follows the route's
// prefix; body is the request's JSON body, when it has one (a completion at
// temperature 0 is kept longer than a sampled one).
std::optional<util::Millis> cache_lifetime(const Route& route,
                                           std::string_view method,
                                           std::string_view path,
                                           std::string_view query,
                                           const nlohmann::json* body);

} // namespace ipfsacc::serve
