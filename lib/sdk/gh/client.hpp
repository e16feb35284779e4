#pragma once

#include "http/http.hpp"
#include "sdk/sdk.hpp"

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// Where the GitHub API is, how gh calls it (REST and GraphQL), and its
// failures in the words gh prints them.
namespace ipfsacc::sdk::gh {

inline constexpr std::string_view kInstall =
  "install gh (https://cli.github.com)";

// The Unsupported of `gh WHAT`, which gh itself can do.
Unsupported unsupported(std::string_view what);

struct Endpoint {
  std::string rest;    // no trailing slash: "https://api.github.com"
  std::string graphql; // "https://api.github.com/graphql"
  std::string token;
};

// GITHUB_API_URL (what GitHub Actions sets, and the tests' way to a fake)
// wins; else GH_HOST (or `gh api --hostname`) the way gh maps a host:
// github.com → api.github.com, github.localhost → plain HTTP to
// api.github.localhost, any other host → GitHub Enterprise's /api/v3.
// Unsupported when no token is set for the host.
std::expected<Endpoint, Unsupported> endpoint(
  const Invocation& call,
  std::optional<std::string> hostname);

// Sends a call's requests with gh's authorization, and counts them.
struct Client {
  const Invocation& call;
  Endpoint ep;
  int requests = 0;

  http::Result send(http::Request req, std::span<const http::Header> extra);
};

// Whether r's Content-Type is JSON (".../json" or "...+json").
bool is_json(const http::Response& r);

// The "message" and "errors" of a JSON error body, as gh joins them; "" when
// the body has none.
std::string error_message(const http::Response& r);

// An uncached failure: err on stderr, exit 1.
Outcome failure(std::string err, int requests);

// out on stdout, exit 0.
Outcome success(std::string out, int requests);

// gh's message for a request that got no response.
std::string transport_error(const http::Error& e);

// The URL of r's Link rel="next", or "".
std::string next_link(const http::Response& r);

// How a query is sent: gh's own client, or the shurcooL-graphql one some
// commands use (a JSON encoder's trailing newline, no charset).
enum class GraphqlClient { gh, shurcool };

// A GraphQL request: its "data", or the failure gh would print.
std::expected<nlohmann::json, Outcome> graphql(
  Client& client,
  const std::string& query,
  const nlohmann::json& variables,
  GraphqlClient kind = GraphqlClient::gh);

// A REST GET for the --json commands: the response, or gh's error (what:
// gh's prefix, "failed to get runs: ").
std::expected<http::Response, Outcome> rest_get(Client& client,
                                                const std::string& url,
                                                std::string_view what);

} // namespace ipfsacc::sdk::gh
