#pragma once

// The key of a proxied request: the canonical request document, whose CID
// is the key, as the CLI's request document is for a call.

#include "http/http.hpp"
#include "serve/routes.hpp"
#include "serve/scrub.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::serve {

// A request as the proxy received it.
struct ProxyRequest {
  std::string method;
  const Route* route = nullptr;
  std::string path;  // after the route's prefix, as sent (still escaped)
  std::string query; // without the '?', as sent
  std::vector<http::Header> headers;
  std::string body;

  // The first header of that name (case-insensitive); nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The request's body as JSON; nullopt when it is empty or not JSON.
std::optional<nlohmann::json> json_body(const ProxyRequest& request);

// The credentials the request carries, one "name=value" line each, in the
// route's order; "" when it carries none. The caller hashes it into the
// account (account_hash with the cache's namespace key) and wipes it.
std::string request_credentials(const ProxyRequest& request);

// The query without the route's credential parameters, its parameters
// sorted (as sent, still escaped).
std::vector<std::pair<std::string, std::string>> key_query(
  const ProxyRequest& request);

// The canonical request document: JSON with sorted keys and no
// insignificant whitespace, holding the method, the route and its upstream,
// the path, the query without credentials, the body as canonical JSON (or
// the CID of its bytes when it is not JSON) after the scrub profile, the
// headers that change the answer (anthropic-beta as a sorted set), the
// account (a keyed hash, never a credential) and the profile's tag. Two
// requests that differ only in what the profile drops, in the order of
// their JSON members or of their query parameters have the same document.
std::string canonical_request(const ProxyRequest& request,
                              std::string_view upstream,
                              const ScrubProfile* profile,
                              std::string_view account);

} // namespace ipfsacc::serve
