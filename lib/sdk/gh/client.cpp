#include "sdk/gh/client.hpp"

#include "sdk/api_json.hpp"
#include "sdk/gh/go_json.hpp"
#include "util/text.hpp"

#include <array>
#include <map>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::string_view kGraphqlAccept =
  "application/vnd.github.merge-info-preview+json, "
  "application/vnd.github.nebula-preview";

// A member of a GraphQL error, null when missing.
const json& error_member(const json& e, std::string_view key) {
  static const json kNull = nullptr;
  const json* value = json_member(e, key);
  return value ? *value : kNull;
}

} // namespace

Unsupported unsupported(std::string_view what) {
  return Unsupported{ "gh: command not found, and `gh " + std::string(what) +
                      "` cannot be done over HTTP the way gh would do it; " +
                      std::string(kInstall) };
}

namespace {

std::string trim_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

} // namespace

std::expected<Endpoint, Unsupported> endpoint(
  const Invocation& call,
  std::optional<std::string> hostname) {
  Endpoint ep;
  auto env = [&](std::string_view name) {
    auto v = call.env ? call.env(name) : std::nullopt;
    return v && !v->empty() ? v : std::nullopt;
  };
  const auto host = hostname ? hostname : env("GH_HOST");
  const bool enterprise =
    host && *host != "github.com" && *host != "github.localhost";
  if (auto api = env("GITHUB_API_URL"); api && !hostname) {
    ep.rest = trim_slashes(*api);
    if (auto gql = env("GITHUB_GRAPHQL_URL")) {
      ep.graphql = *gql;
    } else if (ep.rest.ends_with("/api/v3")) {
      ep.graphql = ep.rest.substr(0, ep.rest.size() - 2) + "graphql";
    } else {
      ep.graphql = ep.rest + "/graphql";
    }
  } else if (!host || *host == "github.com") {
    ep.rest = "https://api.github.com";
    ep.graphql = "https://api.github.com/graphql";
  } else if (*host == "github.localhost") {
    ep.rest = "http://api.github.localhost";
    ep.graphql = "http://api.github.localhost/graphql";
  } else {
    ep.rest = "https://" + *host + "/api/v3";
    ep.graphql = "https://" + *host + "/api/graphql";
  }
  // gh's order: GH_TOKEN, GITHUB_TOKEN for github.com; the _ENTERPRISE_
  // ones for other hosts.
  const std::array<std::string_view, 2> kPublic{ "GH_TOKEN", "GITHUB_TOKEN" };
  const std::array<std::string_view, 2> kEnterprise{
    "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"
  };
  for (auto name : enterprise ? kEnterprise : kPublic) {
    if (auto t = env(name)) {
      ep.token = *t;
      break;
    }
  }
  if (ep.token.empty()) {
    return std::unexpected(Unsupported{
      std::string(
        "gh: command not found, and no GitHub token is set for the HTTP path; "
        "set ") +
      (enterprise ? "GH_ENTERPRISE_TOKEN" : "GH_TOKEN") +
      " (or `ipfsacc secrets set github_token`), or " +
      std::string(kInstall) });
  }
  return ep;
}

http::Result Client::send(http::Request req,
                          std::span<const http::Header> extra) {
  req.headers.push_back({ "Authorization", "token " + ep.token });
  req.headers.push_back({ "User-Agent", "ipfsacc/" IPFSACC_VERSION });
  for (const auto& h : extra) {
    req.headers.push_back(h);
  }
  ++requests;
  return call.transport(req);
}

bool is_json(const http::Response& r) {
  const http::Header* ct = nullptr;
  for (const auto& h : r.headers) {
    if (ct == nullptr && util::lower(h.name) == "content-type") {
      ct = &h;
    }
  }
  if (ct == nullptr) {
    return false;
  }
  auto media = std::string_view(ct->value).substr(0, ct->value.find(';'));
  while (!media.empty() && media.back() == ' ') {
    media.remove_suffix(1);
  }
  return media.ends_with("/json") || media.ends_with("+json");
}

// The "message" and "errors" of a JSON error body, as gh joins them.
std::string error_message(const http::Response& r) {
  if (!is_json(r)) {
    return "";
  }
  const auto body = read_error_body(r.body);
  std::string out;
  if (!body.message.empty()) {
    out = body.message + " (HTTP " + std::to_string(r.status) + ")";
  }
  for (const auto& part : body.errors) {
    if (!out.empty()) {
      out += '\n';
    }
    out += part;
  }
  return out;
}

Outcome failure(std::string err, int requests) {
  Outcome o;
  o.exit_code = 1;
  o.err = std::move(err);
  o.cacheable = false;
  o.requests = requests;
  return o;
}

// gh's message for a request that got no response. An answer refused for
// its size is said as such: the connection was fine.
std::string transport_error(const http::Error& e) {
  if (e.too_large) {
    return e.message + "\n";
  }
  return "error connecting to the GitHub API: " + e.message +
         "\ncheck your internet connection or https://githubstatus.com\n";
}

Outcome success(std::string out, int requests) {
  Outcome o;
  o.out = std::move(out);
  o.requests = requests;
  return o;
}

std::string next_link(const http::Response& r) {
  std::string next;
  for (const auto& h : r.headers) {
    if (util::lower(h.name) != "link") {
      continue;
    }
    std::string_view v = h.value;
    size_t pos = 0;
    while ((pos = v.find('<', pos)) != std::string_view::npos) {
      auto close = v.find('>', pos);
      if (close == std::string_view::npos) {
        break;
      }
      auto url = v.substr(pos + 1, close - pos - 1);
      auto rest = v.substr(close + 1);
      auto end = rest.find('<');
      auto params = rest.substr(0, end);
      if (params.find("rel=\"next\"") != std::string_view::npos) {
        next = std::string(url);
      }
      pos = close + 1;
    }
  }
  return next;
}

std::expected<json, Outcome> graphql(Client& client,
                                     const std::string& query,
                                     const json& variables,
                                     GraphqlClient kind) {
  ojson body = ojson::object();
  body["query"] = query;
  // nlohmann sorts: Go's map order. Bytes of an argument that are not
  // UTF-8 become U+FFFD, as Go's encoder writes them.
  body["variables"] = ojson::parse(
    variables.dump(-1, ' ', false, json::error_handler_t::replace));
  http::Request req;
  req.method = "POST";
  req.url = client.ep.graphql;
  go_json(req.body, body, EscapeHtml::yes);
  const bool shurcool = kind == GraphqlClient::shurcool;
  if (shurcool) {
    req.body += '\n';
  }
  const std::array<http::Header, 3> extra{
    http::Header{ "Accept", std::string(kGraphqlAccept) },
    http::Header{ "Content-Type",
                  shurcool ? "application/json"
                           : "application/json; charset=utf-8" },
    http::Header{ "GraphQL-Features", "merge_queue" },
  };
  auto res = client.send(std::move(req), extra);
  if (!res) {
    return std::unexpected(
      failure(transport_error(res.error()), client.requests));
  }
  if (res->status > 299) {
    auto msg = error_message(*res);
    std::string text =
      "non-200 OK status code: " + std::to_string(res->status) + " " +
      std::string(http::reason_phrase(res->status));
    if (!msg.empty()) {
      text = "HTTP " + std::to_string(res->status) + ": " +
             msg.substr(0, msg.find(" (HTTP")) + " (" + client.ep.graphql + ")";
    }
    if (res->status == 401) {
      text += "\nTry authenticating with:  gh auth login";
    }
    return std::unexpected(failure(text + "\n", client.requests));
  }
  auto doc = json::parse(res->body, nullptr, false);
  if (!doc.is_object()) {
    return std::unexpected(
      failure("invalid JSON in the GraphQL response\n", client.requests));
  }
  if (auto errs = doc.find("errors");
      errs != doc.end() && errs->is_array() && !errs->empty()) {
    if (shurcool) {
      // shurcooL-graphql's errors: "Message: M, Locations: [{Line:L
      // Column:C}]", one a line.
      std::string text;
      for (const auto& e : *errs) {
        text += text.empty() ? "" : "\n";
        text += "Message: " + json_string(e, "message").value_or("") +
                ", Locations: [";
        bool first = true;
        for (const auto& loc : error_member(e, "locations")) {
          text += first ? "{Line:" : " {Line:";
          first = false;
          text += error_member(loc, "line").dump() +
                  " Column:" + error_member(loc, "column").dump() + "}";
        }
        text += "]";
      }
      return std::unexpected(failure(text + "\n", client.requests));
    }
    std::string text = "GraphQL: ";
    bool first = true;
    for (const auto& e : *errs) {
      if (!first) {
        text += ", ";
      }
      first = false;
      text += json_string(e, "message").value_or("");
      const auto& path = error_member(e, "path");
      if (path.is_array() && !path.empty()) {
        std::string p;
        for (const auto& part : path) {
          p += p.empty() ? "" : ".";
          p += part.is_string() ? part.get<std::string>() : part.dump();
        }
        text += " (" + p + ")";
      }
    }
    return std::unexpected(failure(text + "\n", client.requests));
  }
  return error_member(doc, "data");
}

std::expected<http::Response, Outcome> rest_get(Client& client,
                                                const std::string& url,
                                                std::string_view what) {
  http::Request req;
  req.url = url;
  const std::array<http::Header, 2> extra{
    http::Header{ "Accept", std::string(kGraphqlAccept) },
    http::Header{ "Content-Type", "application/json; charset=utf-8" },
  };
  auto res = client.send(std::move(req), extra);
  if (!res) {
    return std::unexpected(
      failure(transport_error(res.error()), client.requests));
  }
  if (res->status > 299) {
    const std::string msg =
      is_json(*res) ? read_error_body(res->body).message : "";
    std::string text =
      std::string(what) + "HTTP " + std::to_string(res->status);
    text += msg.empty() ? " (" + url + ")" : ": " + msg + " (" + url + ")";
    return std::unexpected(failure(text + "\n", client.requests));
  }
  return *res;
}

} // namespace ipfsacc::sdk::gh
