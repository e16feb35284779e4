#include "serve/request_key.hpp"

#include "core/cid.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace ipfsacc::serve {

using json = nlohmann::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::pair<std::string, std::string>> query_pairs(
  std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    auto eq = part.find('=');
    pairs.emplace_back(
      std::string(part.substr(0, eq)),
      eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1)));
  }
  return pairs;
}

// A value of the key that may hold any bytes: text when it is UTF-8.
json text(std::string_view s) {
  if (util::valid_utf8(s)) {
    return std::string(s);
  }
  return json{
    { "hex",
      to_hex(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())) }
  };
}

// anthropic-beta is a set: "a,b" and "b, a" ask for the same thing.
std::string sorted_set(std::string_view value) {
  std::set<std::string> items;
  for (auto item : util::split_list(value, ", \t")) {
    std::string trimmed(item);
    trimmed.erase(0, trimmed.find_first_not_of(" \t"));
    trimmed.erase(trimmed.find_last_not_of(" \t") + 1);
    if (!trimmed.empty()) {
      items.insert(trimmed);
    }
  }
  std::string out;
  for (const auto& item : items) {
    out += out.empty() ? "" : ",";
    out += item;
  }
  return out;
}

} // namespace

std::optional<std::string_view> ProxyRequest::header(
  std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) {
      return h.value;
    }
  }
  return std::nullopt;
}

std::optional<json> json_body(const ProxyRequest& request) {
  if (request.body.empty()) {
    return std::nullopt;
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return std::nullopt;
  }
  return body;
}

std::string request_credentials(const ProxyRequest& request) {
  std::string out;
  for (auto name : request.route->credential_headers) {
    // Every header of that name: a request may carry two.
    for (const auto& h : request.headers) {
      if (iequals(h.name, name)) {
        out += fmt::format("{}={}\n", name, h.value);
      }
    }
  }
  for (const auto& [name, value] : query_pairs(request.query)) {
    for (auto credential : request.route->credential_query) {
      if (name == credential) {
        out += fmt::format("?{}={}\n", name, value);
      }
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> key_query(
  const ProxyRequest& request) {
  auto pairs = query_pairs(request.query);
  std::erase_if(pairs, [&](const auto& pair) {
    const auto& credentials = request.route->credential_query;
    return std::find(credentials.begin(), credentials.end(), pair.first) !=
           credentials.end();
  });
  std::stable_sort(pairs.begin(), pairs.end());
  return pairs;
}

std::string canonical_request(const ProxyRequest& request,
                              std::string_view upstream,
                              const ScrubProfile* profile,
                              std::string_view account) {
  json doc = json::object();
  doc["v"] = 1;
  doc["tool"] = "serve";
  doc["route"] = std::string(request.route->name);
  doc["upstream"] = text(upstream);
  doc["method"] = text(request.method);
  doc["path"] = text(request.path);
  json query = json::array();
  for (const auto& [name, value] : key_query(request)) {
    query.push_back(json::array({ text(name), text(value) }));
  }
  if (!query.empty()) {
    doc["query"] = std::move(query);
  }
  json headers = json::object();
  for (auto name : request.route->key_headers) {
    if (profile && drops_header(*profile, name)) {
      continue;
    }
    std::vector<std::string_view> values;
    for (const auto& h : request.headers) {
      if (iequals(h.name, name)) {
        values.push_back(h.value);
      }
    }
    if (values.empty()) {
      continue;
    }
    std::string joined;
    for (auto v : values) {
      joined += joined.empty() ? "" : ",";
      joined += v;
    }
    headers[std::string(name)] =
      text(name == "anthropic-beta" ? sorted_set(joined) : joined);
  }
  if (!headers.empty()) {
    doc["headers"] = std::move(headers);
  }
  if (!request.body.empty()) {
    auto body = json_body(request);
    std::optional<std::string> canonical;
    if (body) {
      if (profile) {
        scrub_body(*profile, *body);
      }
      try {
        canonical = body->dump();
      } catch (const json::exception&) {
        // A string that is not UTF-8: keyed by its bytes below.
      }
    }
    if (canonical) {
      // Kept as parsed JSON: nlohmann's objects are sorted maps, so member
      // order does not matter.
      doc["body"] = std::move(*body);
    } else {
      doc["body_cid"] = cid_string(sha256(request.body));
    }
  }
  if (!account.empty()) {
    doc["account"] = text(account);
  }
  if (profile) {
    doc["scrub"] = profile->tag();
  }
  return doc.dump();
}

} // namespace ipfsacc::serve
