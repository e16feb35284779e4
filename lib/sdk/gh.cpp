// gh over HTTP: `gh api` GET/HEAD and the --json forms of the list and view
// commands, made the way gh 2.23 makes them (the same REST paths and GraphQL
// queries, byte for byte) and printed the way gh prints them when stdout is
// not a terminal.
//
// Output rules learnt from gh's source and checked against the real gh
// (tests/integration/gh_http.bash):
// - `gh api` copies each response body as it came; --paginate follows
//   Link rel="next" and prints the pages one after the other (gh 2.23 does
//   not merge JSON arrays: `[..][..]`); -i prints "PROTO STATUS\n", the
//   headers sorted by canonical name as "Name: v1, v2\r\n", then "\r\n".
//   An HTTP error prints the body, then "gh: MESSAGE (HTTP N)" on stderr,
//   exit 1.
// - `--json` prints one compact JSON document and a newline, encoded like
//   Go's encoding/json without HTML escaping: the fields in sorted order,
//   nested objects in the order of gh's structs, U+2028/U+2029 and control
//   characters as \uXXXX, invalid UTF-8 as U+FFFD. GraphQL nulls become
//   what gh's structs turn them into ("" for a string, {"name":""} for a
//   missing default branch, the zero time for a missing time).
//
// -i/--include answers are never cacheable: they carry the response's Date
// and X-RateLimit-* headers, which replayed later would look current. (The
// gh rule file does not cache -i calls either.)
#include "core/context.hpp"
#include "sdk/sdk.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::sdk {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr std::string_view kInstall = "install gh (https://cli.github.com)";
constexpr std::string_view kGraphqlAccept =
  "application/vnd.github.merge-info-preview+json, "
  "application/vnd.github.nebula-preview";

Unsupported unsupported(std::string_view what) {
  return Unsupported{ "gh: command not found, and `gh " + std::string(what) +
                      "` cannot be done over HTTP the way gh would do it; " +
                      std::string(kInstall) };
}

// ---------------------------------------------------------------------------
// JSON the way Go's encoding/json writes it.

enum class EscapeHtml { no, yes };

void go_string(std::string& out, std::string_view s, EscapeHtml html) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || (html == EscapeHtml::yes &&
                              (c == '<' || c == '>' || c == '&'))) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = util::utf8_sequence(s, i, cp);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

// Writes value as Go's encoder would: objects in their order (callers build
// them in the order gh's structs or sorted maps give).
template<class Json>
void go_json(std::string& out, const Json& value, EscapeHtml html) {
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out += "null";
      break;
    case Json::value_t::boolean:
      out += value.template get<bool>() ? "true" : "false";
      break;
    case Json::value_t::string:
      go_string(out, value.template get_ref<const std::string&>(), html);
      break;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) {
          out += ',';
        }
        first = false;
        go_json(out, item, html);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) {
          out += ',';
        }
        first = false;
        go_string(out, key, html);
        out += ':';
        go_json(out, item, html);
      }
      out += '}';
      break;
    }
    default:
      out += value.dump();
      break;
  }
}

// ---------------------------------------------------------------------------
// Where the API is and who calls it.

struct Endpoint {
  std::string rest;    // no trailing slash: "https://api.github.com"
  std::string graphql; // "https://api.github.com/graphql"
  std::string token;
};

std::string trim_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

// GITHUB_API_URL (what GitHub Actions sets, and the tests' way to a fake)
// wins; else GH_HOST (or `gh api --hostname`) the way gh maps a host:
// github.com → api.github.com, github.localhost → plain HTTP to
// api.github.localhost, any other host → GitHub Enterprise's /api/v3.
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

// ---------------------------------------------------------------------------
// Arguments, the way pflag reads them.

struct Flag {
  std::string_view long_name;
  char short_name; // 0: none
  bool takes_value;
};

struct Parsed {
  std::vector<std::string> positional;
  // Long name → values in order (a bool flag has "true").
  std::map<std::string, std::vector<std::string>, std::less<>> values;

  bool has(std::string_view name) const { return values.contains(name); }
  std::optional<std::string> last(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second.back();
  }
};

// Parses args with the flags known; an unknown flag is an error naming it.
std::expected<Parsed, std::string> parse_flags(
  std::span<const std::string> args,
  std::span<const Flag> flags) {
  Parsed p;
  auto by_long = [&](std::string_view n) -> const Flag* {
    for (const auto& f : flags) {
      if (f.long_name == n) {
        return &f;
      }
    }
    return nullptr;
  };
  auto by_short = [&](char c) -> const Flag* {
    for (const auto& f : flags) {
      if (f.short_name == c) {
        return &f;
      }
    }
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) {
        p.positional.push_back(args[i]);
      }
      break;
    }
    if (a.starts_with("--")) {
      auto name = a.substr(2);
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        name = name.substr(0, eq);
      }
      const Flag* f = by_long(name);
      if (f == nullptr) {
        return std::unexpected(std::string(a));
      }
      if (f->takes_value && !value) {
        if (i + 1 >= args.size()) {
          return std::unexpected(std::string(a));
        }
        value = args[++i];
      }
      p.values[std::string(f->long_name)].push_back(value.value_or("true"));
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      // -abc: bools a, b, c; -Xvalue or -X value for a flag with a value.
      for (size_t k = 1; k < a.size(); ++k) {
        const Flag* f = by_short(a[k]);
        if (f == nullptr) {
          return std::unexpected("-" + std::string(1, a[k]));
        }
        if (!f->takes_value) {
          p.values[std::string(f->long_name)].push_back("true");
          continue;
        }
        std::string value;
        if (k + 1 < a.size()) {
          value = std::string(a.substr(k + 1));
          if (value.starts_with('=')) {
            value.erase(0, 1);
          }
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return std::unexpected(std::string(a));
        }
        p.values[std::string(f->long_name)].push_back(value);
        break;
      }
      continue;
    }
    p.positional.push_back(std::string(a));
  }
  return p;
}

// OWNER/REPO of -R or GH_REPO; nullopt for other forms (HOST/OWNER/REPO,
// URLs), which the HTTP path leaves to gh.
struct Repo {
  std::string owner;
  std::string name;
};

std::optional<Repo> parse_repo(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() ||
      s.find('/', slash + 1) != std::string_view::npos ||
      s.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  return Repo{ std::string(s.substr(0, slash)),
               std::string(s.substr(slash + 1)) };
}

// The repository of -R, else GH_REPO; an error names what gh would need.
std::expected<Repo, Unsupported> base_repo(const Invocation& call,
                                           const Parsed& p,
                                           std::string_view what) {
  std::optional<std::string> spec = p.last("repo");
  if (!spec && call.env) {
    spec = call.env("GH_REPO");
    if (spec && spec->empty()) {
      spec.reset();
    }
  }
  if (!spec) {
    return std::unexpected(Unsupported{
      "gh: command not found, and `gh " + std::string(what) +
      "` without -R/--repo or GH_REPO needs the repository of the git remotes, "
      "which only gh resolves; give -R OWNER/REPO or " +
      std::string(kInstall) });
  }
  auto repo = parse_repo(*spec);
  if (!repo) {
    return std::unexpected(unsupported(std::string(what) + " -R " + *spec));
  }
  return *repo;
}

// Go's url.QueryEscape.
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

bool parse_int(std::string_view s, long long& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// ---------------------------------------------------------------------------
// Requests.

struct Client {
  const Invocation& call;
  Endpoint ep;
  int requests = 0;

  http::Result send(http::Request req, std::span<const http::Header> extra) {
    req.headers.push_back({ "Authorization", "token " + ep.token });
    req.headers.push_back({ "User-Agent", "ipfsacc/" IPFSACC_VERSION });
    for (const auto& h : extra) {
      req.headers.push_back(h);
    }
    ++requests;
    return call.transport(req);
  }
};

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
  auto doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object()) {
    return "";
  }
  std::vector<std::string> parts;
  auto msg = doc.find("message");
  const bool has_message =
    msg != doc.end() && msg->is_string() && !msg->get<std::string>().empty();
  if (auto errs = doc.find("errors"); errs != doc.end() && errs->is_array()) {
    for (const auto& e : *errs) {
      if (e.is_string()) {
        parts.push_back(e.get<std::string>());
      } else if (e.is_object() && e.contains("message") &&
                 e["message"].is_string()) {
        parts.push_back(e["message"].get<std::string>());
      }
    }
  }
  std::string out;
  if (has_message) {
    out = msg->get<std::string>() + " (HTTP " + std::to_string(r.status) + ")";
  }
  for (const auto& part : parts) {
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

// Go's textproto.CanonicalMIMEHeaderKey: "x-ratelimit-limit" →
// "X-Ratelimit-Limit".
std::string canonical_header(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    c = upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
              : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

// The status line and headers gh -i prints. gh prints Go's resp.Proto: the
// GitHub API answers HTTPS requests over HTTP/2, a plain-HTTP server (GitHub
// Enterprise without TLS, a local fake) over HTTP/1.1.
std::string include_headers(const http::Response& r, std::string_view url) {
  std::string out = url.starts_with("https://") ? "HTTP/2.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  if (auto text = http::reason_phrase(r.status); !text.empty()) {
    out += ' ';
    out += text;
  }
  out += '\n';
  std::map<std::string, std::string> headers;
  for (const auto& h : r.headers) {
    auto name = canonical_header(h.name);
    if (name == "Status") {
      continue;
    }
    auto [it, fresh] = headers.try_emplace(name, h.value);
    if (!fresh) {
      it->second += ", " + h.value;
    }
  }
  // Go's client asks for gzip itself and, having decompressed the body,
  // drops these two (the body printed is the decompressed one).
  if (auto enc = headers.find("Content-Encoding");
      enc != headers.end() && util::lower(enc->second) == "gzip") {
    headers.erase(enc);
    headers.erase("Content-Length");
  }
  for (const auto& [name, value] : headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n";
  return out;
}

// The URL of Link rel="next", or "".
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

// ---------------------------------------------------------------------------
// gh api

constexpr std::array kApiFlags{
  Flag{ "method", 'X', true },    Flag{ "header", 'H', true },
  Flag{ "paginate", 0, false },   Flag{ "include", 'i', false },
  Flag{ "raw-field", 'f', true }, Flag{ "field", 'F', true },
  Flag{ "silent", 0, false },     Flag{ "hostname", 0, true },
  Flag{ "cache", 0, true },       Flag{ "jq", 'q', true },
  Flag{ "template", 't', true },  Flag{ "input", 0, true },
  Flag{ "preview", 'p', true },
};

struct ApiPlan {
  std::string method;
  std::string path; // with placeholders filled and the query added
  std::vector<http::Header> headers;
  std::optional<std::string> hostname;
  bool paginate = false;
  bool include = false;
  bool silent = false;
};

// The repository gh's BaseRepo gives `gh api` in a git checkout: the git
// remotes pointing at the host in use (GH_HOST, else github.com), the one
// named upstream first, then github, then origin, then the others.
std::optional<Repo> git_remote_repo(const Invocation& call) {
  auto git_dir = find_git_dir(current_dir());
  if (!git_dir) {
    return std::nullopt;
  }
  std::optional<std::string> gh_host =
    call.env ? call.env("GH_HOST") : std::nullopt;
  std::string host =
    util::lower(gh_host && !gh_host->empty() ? *gh_host : "github.com");
  auto priority = [](std::string_view name) {
    return name == "upstream" ? 3
           : name == "github" ? 2
           : name == "origin" ? 1
                              : 0;
  };
  std::optional<Repo> best;
  int best_priority = -1;
  for (const auto& remote : git_remotes(*git_dir)) {
    auto eq = remote.find('=');
    std::string_view name = std::string_view(remote).substr(0, eq);
    if (eq == std::string::npos || name.ends_with(".gh-resolved")) {
      continue;
    }
    std::string_view url = std::string_view(remote).substr(eq + 1);
    // https://[user@]host[:port]/OWNER/REPO[.git], ssh://git@host/…, or
    // scp-like git@host:OWNER/REPO.
    std::string_view remote_host, path;
    if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
      auto rest = url.substr(scheme + 3);
      auto slash = rest.find('/');
      remote_host = rest.substr(0, slash);
      path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
      if (auto at = remote_host.rfind('@'); at != std::string_view::npos) {
        remote_host.remove_prefix(at + 1);
      }
      remote_host = remote_host.substr(0, remote_host.find(':'));
    } else if (auto colon = url.find(':'); colon != std::string_view::npos) {
      remote_host = url.substr(0, colon);
      if (auto at = remote_host.rfind('@'); at != std::string_view::npos) {
        remote_host.remove_prefix(at + 1);
      }
      path = url.substr(colon + 1);
    } else {
      continue;
    }
    while (path.ends_with('/')) {
      path.remove_suffix(1);
    }
    if (path.ends_with(".git")) {
      path.remove_suffix(4);
    }
    auto repo = parse_repo(path);
    if (!repo || util::lower(remote_host) != host) {
      continue;
    }
    if (priority(name) > best_priority) {
      best = std::move(repo);
      best_priority = priority(name);
    }
  }
  return best;
}

// Fills {owner} and {repo} from GH_REPO, else from the git remotes, the way
// gh does; {branch} needs the checked-out branch, which only gh reads.
std::expected<std::string, Unsupported> fill_placeholders(
  const Invocation& call,
  std::string s) {
  if (s.find('{') == std::string::npos) {
    return s;
  }
  if (s.find("{branch}") != std::string::npos) {
    return std::unexpected(
      Unsupported{ "gh: command not found, and `gh api` with "
                   "{branch} needs the checked-out git "
                   "branch, which only gh resolves; " +
                   std::string(kInstall) });
  }
  if (s.find("{owner}") == std::string::npos &&
      s.find("{repo}") == std::string::npos) {
    return s;
  }
  std::optional<std::string> spec =
    call.env ? call.env("GH_REPO") : std::nullopt;
  if (spec && spec->empty()) {
    spec.reset();
  }
  auto repo = spec ? parse_repo(*spec) : git_remote_repo(call);
  if (!repo) {
    return std::unexpected(Unsupported{
      "gh: command not found, and `gh api` with {owner}/{repo} here has no "
      "git remote on the GitHub host to take them from; set "
      "GH_REPO=OWNER/REPO or " +
      std::string(kInstall) });
  }
  for (auto [key, value] :
       { std::pair{ std::string_view("{owner}"), repo->owner },
         std::pair{ std::string_view("{repo}"), repo->name } }) {
    for (size_t pos; (pos = s.find(key)) != std::string::npos;) {
      s.replace(pos, key.size(), value);
    }
  }
  return s;
}

std::expected<ApiPlan, Unsupported> plan_api(
  const Invocation& call,
  std::span<const std::string> args) {
  auto parsed = parse_flags(args, kApiFlags);
  if (!parsed) {
    return std::unexpected(unsupported("api with " + parsed.error()));
  }
  const auto& p = *parsed;
  for (auto name : { "jq", "template", "input", "preview" }) {
    if (p.has(name)) {
      return std::unexpected(unsupported(std::string("api --") + name));
    }
  }
  if (p.positional.size() != 1) {
    return std::unexpected(unsupported("api without exactly one endpoint"));
  }
  ApiPlan plan;
  const bool has_fields = p.has("raw-field") || p.has("field");
  plan.method = p.last("method").value_or(has_fields ? "POST" : "GET");
  // gh sends the method as typed: a lowercase "head" is not what GitHub
  // answers as HEAD, so only GET and HEAD as such are mapped.
  if (plan.method != "GET" && plan.method != "HEAD") {
    return std::unexpected(unsupported("api -X " + plan.method));
  }
  if (p.positional[0] == "graphql") {
    return std::unexpected(unsupported("api graphql"));
  }
  auto path = fill_placeholders(call, p.positional[0]);
  if (!path) {
    return std::unexpected(path.error());
  }
  // Fields: a map (the last of a key wins), sent as the query string of a
  // GET sorted by key, as Go's url.Values.Encode sorts it.
  std::map<std::string, std::string> params;
  auto add_fields = [&](std::string_view flag,
                        bool typed) -> std::optional<Unsupported> {
    auto it = p.values.find(flag);
    if (it == p.values.end()) {
      return std::nullopt;
    }
    for (const auto& f : it->second) {
      auto eq = f.find('=');
      if (eq == std::string::npos) {
        return unsupported("api -" + std::string(typed ? "F " : "f ") + f);
      }
      std::string value = f.substr(eq + 1);
      if (typed) {
        if (value.starts_with('@')) {
          return unsupported("api -F " + f);
        }
        if (value == "null") {
          value.clear();
        } else if (value != "true" && value != "false") {
          long long n = 0;
          if (parse_int(value, n)) {
            value = std::to_string(n);
          } else {
            auto filled = fill_placeholders(call, value);
            if (!filled) {
              return filled.error();
            }
            value = *filled;
          }
        }
      }
      params[f.substr(0, eq)] = value;
    }
    return std::nullopt;
  };
  if (auto e = add_fields("raw-field", false)) {
    return std::unexpected(*e);
  }
  if (auto e = add_fields("field", true)) {
    return std::unexpected(*e);
  }
  plan.path = *path;
  plan.paginate = p.has("paginate");
  if (plan.paginate && !params.contains("per_page")) {
    // gh asks for 100 per page unless the call names per_page.
    auto q = plan.path.find('?');
    bool named = false;
    if (q != std::string::npos) {
      std::string_view query = std::string_view(plan.path).substr(q + 1);
      for (size_t pos = 0; pos <= query.size();) {
        auto amp = query.find('&', pos);
        auto item = query.substr(
          pos,
          amp == std::string_view::npos ? std::string_view::npos : amp - pos);
        if (item.starts_with("per_page=") && item.size() > 9) {
          named = true;
        }
        if (amp == std::string_view::npos) {
          break;
        }
        pos = amp + 1;
      }
    }
    if (!named) {
      plan.path += q == std::string::npos ? "?per_page=100" : "&per_page=100";
    }
  }
  if (!params.empty()) {
    std::string query;
    for (const auto& [k, v] : params) {
      if (!query.empty()) {
        query += '&';
      }
      query += query_escape(k) + "=" + query_escape(v);
    }
    plan.path += (plan.path.find('?') == std::string::npos ? "?" : "&") + query;
  }
  if (auto it = p.values.find("header"); it != p.values.end()) {
    for (const auto& h : it->second) {
      auto colon = h.find(':');
      if (colon == std::string::npos) {
        return std::unexpected(unsupported("api -H " + h));
      }
      auto value = std::string_view(h).substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      plan.headers.push_back({ h.substr(0, colon), std::string(value) });
    }
  }
  plan.include = p.has("include");
  plan.silent = p.has("silent");
  plan.hostname = p.last("hostname");
  return plan;
}

Answer run_api(const Invocation& call, std::span<const std::string> args) {
  auto plan = plan_api(call, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, plan->hostname);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  std::string url = plan->path;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    while (url.starts_with('/')) {
      url.erase(0, 1);
    }
    url = client.ep.rest + "/" + url;
  }
  Outcome o;
  // Rate-limit and Date headers must never be replayed as current.
  o.cacheable = !plan->include;
  while (!url.empty()) {
    http::Request req;
    req.method = plan->method;
    req.url = url;
    auto res = client.send(std::move(req), plan->headers);
    o.requests = client.requests;
    if (!res) {
      auto f = failure(transport_error(res.error()), client.requests);
      f.out = std::move(o.out);
      return f;
    }
    if (plan->include && !plan->silent) {
      o.out += include_headers(*res, url);
    }
    if (plan->method != "HEAD" && !plan->silent) {
      o.out += res->body;
    }
    if (res->status > 299) {
      auto msg = error_message(*res);
      if (msg.empty()) {
        msg = "HTTP " + std::to_string(res->status);
      }
      auto f = failure("gh: " + msg + "\n", client.requests);
      f.out = std::move(o.out);
      f.not_found = res->status == 404;
      return f;
    }
    url = plan->paginate ? next_link(*res) : "";
  }
  return o;
}

// ---------------------------------------------------------------------------
// --json: how each field is asked for and printed.

enum class Kind {
  raw,        // as received
  str,        // a Go string: null → ""
  time,       // a Go time.Time: null → the zero time
  branch_ref, // {"name"}; null → {"name":""}
  owner,      // {"id","login"}
  language,   // {"name"} or null
  license,    // {"key","name","nickname"} or null
  release,    // {"name","tagName","url","publishedAt"} or null
  parent,     // {"id","name","owner":{"id","login"}} or null
  topics,     // [{"name"}], null when none
  author,     // gh's Author: {"id","is_bot","login","name"} or a bot
  author_ptr, // the same or null
  users,      // [{"id","login","name"}]
  labels,     // [{"id","name","description","color"}]
  milestone,  // {"number","title","description","dueOn"} or null
  head_owner, // {"id","name" when set,"login"}
};

struct Field {
  std::string_view name;
  std::string_view selection; // the GraphQL gh asks for ("" = name)
  Kind kind;
};

constexpr std::array kRepoFields{
  Field{ "createdAt", "", Kind::time },
  Field{ "defaultBranchRef", "defaultBranchRef{name}", Kind::branch_ref },
  Field{ "deleteBranchOnMerge", "", Kind::raw },
  Field{ "description", "", Kind::str },
  Field{ "diskUsage", "", Kind::raw },
  Field{ "forkCount", "", Kind::raw },
  Field{ "hasIssuesEnabled", "", Kind::raw },
  Field{ "hasProjectsEnabled", "", Kind::raw },
  Field{ "hasWikiEnabled", "", Kind::raw },
  Field{ "homepageUrl", "", Kind::str },
  Field{ "id", "", Kind::str },
  Field{ "isArchived", "", Kind::raw },
  Field{ "isEmpty", "", Kind::raw },
  Field{ "isFork", "", Kind::raw },
  Field{ "isPrivate", "", Kind::raw },
  Field{ "isTemplate", "", Kind::raw },
  Field{ "latestRelease",
         "latestRelease{publishedAt,tagName,name,url}",
         Kind::release },
  Field{ "licenseInfo", "licenseInfo{key,name,nickname}", Kind::license },
  Field{ "name", "", Kind::str },
  Field{ "nameWithOwner", "", Kind::str },
  Field{ "owner", "owner{id,login}", Kind::owner },
  Field{ "parent", "parent{id,name,owner{id,login}}", Kind::parent },
  Field{ "primaryLanguage", "primaryLanguage{name}", Kind::language },
  Field{ "pushedAt", "", Kind::raw },
  Field{ "repositoryTopics",
         "repositoryTopics(first:100){nodes{topic{name}}}",
         Kind::topics },
  Field{ "sshUrl", "", Kind::str },
  Field{ "stargazerCount", "", Kind::raw },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

constexpr std::string_view kAssignees =
  "assignees(first:100){nodes{id,login,name},totalCount}";
constexpr std::string_view kAuthor = "author{login,...on User{id,name}}";
constexpr std::string_view kLabels =
  "labels(first:100){nodes{id,name,description,color},totalCount}";
constexpr std::string_view kMilestone =
  "milestone{number,title,description,dueOn}";

constexpr std::array kPrFields{
  Field{ "additions", "", Kind::raw },
  Field{ "assignees", kAssignees, Kind::users },
  Field{ "author", kAuthor, Kind::author },
  Field{ "baseRefName", "", Kind::str },
  Field{ "body", "", Kind::str },
  Field{ "changedFiles", "", Kind::raw },
  Field{ "closed", "", Kind::raw },
  Field{ "closedAt", "", Kind::raw },
  Field{ "createdAt", "", Kind::time },
  Field{ "deletions", "", Kind::raw },
  Field{ "headRefName", "", Kind::str },
  Field{ "headRefOid", "", Kind::str },
  Field{ "headRepositoryOwner",
         "headRepositoryOwner{id,login,...on User{name}}",
         Kind::head_owner },
  Field{ "id", "", Kind::str },
  Field{ "isCrossRepository", "", Kind::raw },
  Field{ "isDraft", "", Kind::raw },
  Field{ "labels", kLabels, Kind::labels },
  Field{ "mergeable", "", Kind::str },
  Field{ "mergedAt", "", Kind::raw },
  Field{ "mergedBy", "mergedBy{login,...on User{id,name}}", Kind::author_ptr },
  Field{ "milestone", kMilestone, Kind::milestone },
  Field{ "number", "", Kind::raw },
  Field{ "reviewDecision", "", Kind::str },
  Field{ "state", "", Kind::str },
  Field{ "title", "", Kind::str },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

constexpr std::array kIssueFields{
  Field{ "assignees", kAssignees, Kind::users },
  Field{ "author", kAuthor, Kind::author },
  Field{ "body", "", Kind::str },
  Field{ "closed", "", Kind::raw },
  Field{ "closedAt", "", Kind::raw },
  Field{ "createdAt", "", Kind::time },
  Field{ "id", "", Kind::str },
  Field{ "labels", kLabels, Kind::labels },
  Field{ "milestone", kMilestone, Kind::milestone },
  Field{ "number", "", Kind::raw },
  Field{ "state", "", Kind::str },
  Field{ "title", "", Kind::str },
  Field{ "updatedAt", "", Kind::time },
  Field{ "url", "", Kind::str },
};

// Workflow runs come from REST: the REST name of each field, and its kind.
constexpr std::array kRunFields{
  Field{ "conclusion", "conclusion", Kind::str },
  Field{ "createdAt", "created_at", Kind::time },
  Field{ "databaseId", "id", Kind::raw },
  Field{ "displayTitle", "display_title", Kind::str },
  Field{ "event", "event", Kind::str },
  Field{ "headBranch", "head_branch", Kind::str },
  Field{ "headSha", "head_sha", Kind::str },
  Field{ "name", "name", Kind::str },
  Field{ "number", "run_number", Kind::raw },
  Field{ "startedAt", "run_started_at", Kind::time },
  Field{ "status", "status", Kind::str },
  Field{ "updatedAt", "updated_at", Kind::time },
  Field{ "url", "html_url", Kind::str },
  Field{ "workflowDatabaseId", "workflow_id", Kind::raw },
  Field{ "workflowName", "", Kind::str },
};

const json kNull = nullptr;

const json& member(const json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return kNull;
  }
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

ojson str(const json& v) {
  return v.is_string() ? ojson(v.get<std::string>()) : ojson("");
}

ojson raw(const json& v) {
  return ojson::parse(v.dump());
}

ojson author(const json& v) {
  const auto id = str(member(v, "id"));
  const auto login =
    member(v, "login").is_string() ? member(v, "login").get<std::string>() : "";
  ojson o = ojson::object();
  if (id.get<std::string>().empty()) {
    o["is_bot"] = true;
    o["login"] = "app/" + login;
    return o;
  }
  o["id"] = id;
  o["is_bot"] = false;
  o["login"] = login;
  o["name"] = str(member(v, "name"));
  return o;
}

ojson nodes(const json& v,
            const std::vector<std::string_view>& keys,
            const std::vector<Kind>& kinds);

ojson convert(const json& v, Kind kind) {
  switch (kind) {
    case Kind::raw:
      return raw(v);
    case Kind::str:
      return str(v);
    case Kind::time:
      return v.is_string() ? ojson(v.get<std::string>())
                           : ojson("0001-01-01T00:00:00Z");
    case Kind::branch_ref:
      return ojson{ { "name", str(member(v, "name")) } };
    case Kind::owner:
      return ojson{ { "id", str(member(v, "id")) },
                    { "login", str(member(v, "login")) } };
    case Kind::language:
      return v.is_null() ? ojson(nullptr)
                         : ojson{ { "name", str(member(v, "name")) } };
    case Kind::license:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "key", str(member(v, "key")) },
                    { "name", str(member(v, "name")) },
                    { "nickname", str(member(v, "nickname")) } };
    case Kind::release:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "name", str(member(v, "name")) },
                    { "tagName", str(member(v, "tagName")) },
                    { "url", str(member(v, "url")) },
                    { "publishedAt",
                      convert(member(v, "publishedAt"), Kind::time) } };
    case Kind::parent:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "id", str(member(v, "id")) },
                    { "name", str(member(v, "name")) },
                    { "owner", convert(member(v, "owner"), Kind::owner) } };
    case Kind::topics: {
      const auto& list = member(v, "nodes");
      if (!list.is_array() || list.empty()) {
        return nullptr;
      }
      ojson out = ojson::array();
      for (const auto& n : list) {
        out.push_back(
          ojson{ { "name", str(member(member(n, "topic"), "name")) } });
      }
      return out;
    }
    case Kind::author:
      return author(v);
    case Kind::author_ptr:
      return v.is_null() ? ojson(nullptr) : author(v);
    case Kind::users:
      return nodes(
        v, { "id", "login", "name" }, { Kind::str, Kind::str, Kind::str });
    case Kind::labels:
      return nodes(v,
                   { "id", "name", "description", "color" },
                   { Kind::str, Kind::str, Kind::str, Kind::str });
    case Kind::milestone:
      if (v.is_null()) {
        return nullptr;
      }
      return ojson{ { "number", raw(member(v, "number")) },
                    { "title", str(member(v, "title")) },
                    { "description", str(member(v, "description")) },
                    { "dueOn", raw(member(v, "dueOn")) } };
    case Kind::head_owner: {
      ojson o = ojson::object();
      o["id"] = str(member(v, "id"));
      if (auto name = str(member(v, "name"));
          !name.get<std::string>().empty()) {
        o["name"] = name;
      }
      o["login"] = str(member(v, "login"));
      return o;
    }
  }
  return nullptr;
}

ojson nodes(const json& v,
            const std::vector<std::string_view>& keys,
            const std::vector<Kind>& kinds) {
  ojson out = ojson::array();
  const auto& list = member(v, "nodes");
  if (!list.is_array()) {
    return out;
  }
  for (const auto& n : list) {
    ojson o = ojson::object();
    for (size_t i = 0; i < keys.size(); ++i) {
      o[std::string(keys[i])] = convert(member(n, keys[i]), kinds[i]);
    }
    out.push_back(std::move(o));
  }
  return out;
}

// The requested fields: in the order given (for the query) and resolved in
// the table; an unknown or unmapped one is Unsupported.
std::expected<std::vector<const Field*>, Unsupported> resolve_fields(
  std::string_view list,
  std::span<const Field> table,
  std::string_view command) {
  std::vector<const Field*> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    auto name = list.substr(
      pos,
      comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!name.empty() && name.front() == ' ') {
      name.remove_prefix(1);
    }
    while (!name.empty() && name.back() == ' ') {
      name.remove_suffix(1);
    }
    if (!name.empty()) {
      auto it = std::find_if(table.begin(), table.end(), [&](const Field& f) {
        return f.name == name;
      });
      if (it == table.end()) {
        std::string known;
        for (const auto& f : table) {
          known += known.empty() ? "" : ",";
          known += f.name;
        }
        return std::unexpected(
          Unsupported{ "gh: command not found, and the HTTP path of `gh " +
                       std::string(command) + " --json` has no field \"" +
                       std::string(name) + "\" (it has " + known + "); " +
                       std::string(kInstall) });
      }
      out.push_back(&*it);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  if (out.empty()) {
    return std::unexpected(
      unsupported(std::string(command) + " --json without fields"));
  }
  return out;
}

std::string selection(const std::vector<const Field*>& fields) {
  std::string out;
  for (const auto* f : fields) {
    if (!out.empty()) {
      out += ',';
    }
    out += f->selection.empty() ? f->name : f->selection;
  }
  return out;
}

// One item: its fields in sorted order (gh exports a Go map), each
// converted.
ojson export_item(
  const json& item,
  const std::vector<const Field*>& fields,
  const std::function<ojson(const json&, const Field&)>& value) {
  std::vector<const Field*> sorted = fields;
  std::sort(sorted.begin(), sorted.end(), [](const Field* a, const Field* b) {
    return a->name < b->name;
  });
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  ojson o = ojson::object();
  for (const auto* f : sorted) {
    o[std::string(f->name)] = value(item, *f);
  }
  return o;
}

ojson graphql_value(const json& item, const Field& f) {
  return convert(member(item, f.name), f.kind);
}

std::string print(const ojson& doc) {
  std::string out;
  go_json(out, doc, EscapeHtml::no);
  out += '\n';
  return out;
}

// A GraphQL request; the data, or the failure gh would print.
// How a query is sent: gh's own client, or the shurcooL-graphql one some
// commands use (a JSON encoder's trailing newline, no charset).
enum class GraphqlClient { gh, shurcool };

std::expected<json, Outcome> graphql(Client& client,
                                     const std::string& query,
                                     const json& variables,
                                     GraphqlClient kind = GraphqlClient::gh) {
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
        text += "Message: " + str(member(e, "message")).get<std::string>() +
                ", Locations: [";
        bool first = true;
        for (const auto& loc : member(e, "locations")) {
          text += first ? "{Line:" : " {Line:";
          first = false;
          text += member(loc, "line").dump() +
                  " Column:" + member(loc, "column").dump() + "}";
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
      text += member(e, "message").is_string()
                ? member(e, "message").get<std::string>()
                : "";
      const auto& path = member(e, "path");
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
  return member(doc, "data");
}

// A REST GET for the --json commands; the body, or gh's error (what:
// gh's prefix, "failed to get runs: ").
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
    std::string msg;
    if (is_json(*res)) {
      auto doc = json::parse(res->body, nullptr, false);
      if (doc.is_object() && member(doc, "message").is_string()) {
        msg = doc["message"].get<std::string>();
      }
    }
    std::string text =
      std::string(what) + "HTTP " + std::to_string(res->status);
    text += msg.empty() ? " (" + url + ")" : ": " + msg + " (" + url + ")";
    return std::unexpected(failure(text + "\n", client.requests));
  }
  return *res;
}

Outcome success(std::string out, int requests) {
  Outcome o;
  o.out = std::move(out);
  o.requests = requests;
  return o;
}

// The flags every mapped --json command shares.
constexpr Flag kJson{ "json", 0, true };
constexpr Flag kRepoFlag{ "repo", 'R', true };
constexpr Flag kLimit{ "limit", 'L', true };
constexpr Flag kJq{ "jq", 'q', true };
constexpr Flag kTemplate{ "template", 't', true };
constexpr Flag kWeb{ "web", 'w', false };

struct ListPlan {
  std::string command; // "pr list"
  Parsed flags;
  std::vector<const Field*> fields;
  long long limit = 30;
};

// Parses a --json command's flags, refusing what the HTTP path does not map.
std::expected<ListPlan, Unsupported> plan_list(
  std::string command,
  std::span<const std::string> args,
  std::span<const Flag> flags,
  std::span<const Field> table,
  long long default_limit) {
  auto parsed = parse_flags(args, flags);
  if (!parsed) {
    return std::unexpected(unsupported(command + " " + parsed.error()));
  }
  ListPlan plan;
  plan.command = command;
  plan.flags = std::move(*parsed);
  for (auto name : { "jq", "template", "web" }) {
    if (plan.flags.has(name)) {
      return std::unexpected(unsupported(command + " --" + name));
    }
  }
  auto list = plan.flags.last("json");
  if (!list) {
    return std::unexpected(unsupported(command + " without --json"));
  }
  auto fields = resolve_fields(*list, table, command);
  if (!fields) {
    return std::unexpected(fields.error());
  }
  plan.fields = std::move(*fields);
  plan.limit = default_limit;
  if (auto l = plan.flags.last("limit")) {
    if (!parse_int(*l, plan.limit) || plan.limit <= 0) {
      return std::unexpected(unsupported(command + " --limit " + *l));
    }
  }
  return plan;
}

// ---- repo list / repo view ------------------------------------------------

constexpr std::array kRepoListFlags{ kJson,
                                     kLimit,
                                     kJq,
                                     kTemplate,
                                     Flag{ "visibility", 0, true },
                                     Flag{ "fork", 0, false },
                                     Flag{ "source", 0, false } };

std::expected<ListPlan, Unsupported> plan_repo_list(
  std::span<const std::string> args) {
  auto plan = plan_list("repo list", args, kRepoListFlags, kRepoFields, 30);
  if (plan && plan->flags.positional.size() > 1) {
    return std::unexpected(unsupported("repo list with more than one owner"));
  }
  if (plan && plan->flags.has("fork") && plan->flags.has("source")) {
    return std::unexpected(unsupported("repo list --fork --source"));
  }
  if (auto v = plan ? plan->flags.last("visibility") : std::nullopt;
      v && *v != "public" && *v != "private" && *v != "internal") {
    return std::unexpected(unsupported("repo list --visibility " + *v));
  }
  return plan;
}

Answer run_repo_list(const Invocation& call,
                     std::span<const std::string> args) {
  auto plan = plan_repo_list(args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool has_owner = !plan->flags.positional.empty();
  // gh 2.23's query, tabs and all.
  std::string query =
    std::string("query "
                "RepositoryList($perPage:Int!,$endCursor:String,$privacy:"
                "RepositoryPrivacy,"
                "$fork:Boolean") +
    (has_owner ? ",$owner:String!" : "") + ") {\n\t\t" +
    (has_owner ? "repositoryOwner(login: $owner)" : "repositoryOwner: viewer") +
    " {\n\t\t\tlogin\n\t\t\trepositories(first: $perPage, after: $endCursor, "
    "privacy: "
    "$privacy, isFork: $fork, ownerAffiliations: OWNER, orderBy: { field: "
    "PUSHED_AT, "
    "direction: DESC }) {\n\t\t\t\tnodes{" +
    selection(plan->fields) +
    "}\n\t\t\t\ttotalCount\n\t\t\t\tpageInfo{hasNextPage,endCursor}\n\t\t\t}"
    "\n\t\t}\n\t}";
  json vars = json::object();
  vars["perPage"] = std::min<long long>(plan->limit, 100);
  if (has_owner) {
    vars["owner"] = plan->flags.positional[0];
  }
  if (auto v = plan->flags.last("visibility")) {
    std::string upper = *v;
    std::transform(
      upper.begin(), upper.end(), upper.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
      });
    vars["privacy"] = upper;
  }
  if (plan->flags.has("fork")) {
    vars["fork"] = true;
  } else if (plan->flags.has("source")) {
    vars["fork"] = false;
  }
  ojson items = ojson::array();
  for (;;) {
    auto data = graphql(client, query, vars);
    if (!data) {
      return data.error();
    }
    const auto& repos =
      member(member(*data, "repositoryOwner"), "repositories");
    for (const auto& node : member(repos, "nodes")) {
      if (static_cast<long long>(items.size()) < plan->limit) {
        items.push_back(export_item(node, plan->fields, graphql_value));
      }
    }
    const auto& info = member(repos, "pageInfo");
    if (!member(info, "hasNextPage").is_boolean() ||
        !member(info, "hasNextPage").get<bool>() ||
        static_cast<long long>(items.size()) >= plan->limit) {
      break;
    }
    vars["endCursor"] = member(info, "endCursor");
  }
  return success(print(items), client.requests);
}

constexpr std::array kRepoViewFlags{ kJson,
                                     kJq,
                                     kTemplate,
                                     kWeb,
                                     Flag{ "branch", 'b', true } };

std::expected<ListPlan, Unsupported> plan_repo_view(
  std::span<const std::string> args) {
  auto plan = plan_list("repo view", args, kRepoViewFlags, kRepoFields, 1);
  if (!plan) {
    return plan;
  }
  if (plan->flags.has("branch")) {
    return std::unexpected(unsupported("repo view --branch"));
  }
  if (plan->flags.positional.size() > 1) {
    return std::unexpected(
      unsupported("repo view with more than one repository"));
  }
  // With no argument gh 2.23 reads the git remotes (it ignores GH_REPO here).
  if (plan->flags.positional.empty()) {
    return std::unexpected(Unsupported{
      "gh: command not found, and `gh repo view` without OWNER/REPO needs the "
      "repository of the git remotes, which only gh resolves; name the "
      "repository or " +
      std::string(kInstall) });
  }
  if (!parse_repo(plan->flags.positional[0])) {
    return std::unexpected(
      unsupported("repo view " + plan->flags.positional[0]));
  }
  return plan;
}

Answer run_repo_view(const Invocation& call,
                     std::span<const std::string> args) {
  auto plan = plan_repo_view(args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const auto repo = *parse_repo(plan->flags.positional[0]);
  const std::string query = "query RepositoryInfo($owner: String!, $name: "
                            "String!) {\n\t\trepository(owner: $owner, "
                            "name: $name) {" +
                            selection(plan->fields) + "}\n\t}";
  json vars = { { "owner", repo.owner }, { "name", repo.name } };
  auto data = graphql(client, query, vars);
  if (!data) {
    return data.error();
  }
  const auto& r = member(*data, "repository");
  if (r.is_null()) {
    return failure(
      "GraphQL: Could not resolve to a Repository with the name '" +
        repo.owner + "/" + repo.name + "'. (repository)\n",
      client.requests);
  }
  return success(print(export_item(r, plan->fields, graphql_value)),
                 client.requests);
}

// ---- pr list / issue list -------------------------------------------------

constexpr std::array kPrListFlags{ kJson,
                                   kRepoFlag,
                                   kLimit,
                                   kJq,
                                   kTemplate,
                                   kWeb,
                                   Flag{ "state", 's', true },
                                   Flag{ "base", 'B', true },
                                   Flag{ "head", 'H', true } };

constexpr std::array kIssueListFlags{ kJson,
                                      kRepoFlag,
                                      kLimit,
                                      kJq,
                                      kTemplate,
                                      kWeb,
                                      Flag{ "state", 's', true },
                                      Flag{ "author", 'A', true },
                                      Flag{ "assignee", 'a', true },
                                      Flag{ "mention", 0, true } };

enum class Listing { pulls, issues };

std::expected<ListPlan, Unsupported> plan_pr_issue(
  const Invocation& call,
  Listing listing,
  std::span<const std::string> args) {
  const bool pulls = listing == Listing::pulls;
  auto plan =
    pulls ? plan_list("pr list", args, kPrListFlags, kPrFields, 30)
          : plan_list("issue list", args, kIssueListFlags, kIssueFields, 30);
  if (!plan) {
    return plan;
  }
  if (!plan->flags.positional.empty()) {
    return std::unexpected(
      unsupported(plan->command + " " + plan->flags.positional[0]));
  }
  auto state = plan->flags.last("state").value_or("open");
  const bool ok = state == "open" || state == "closed" || state == "all" ||
                  (pulls && state == "merged");
  if (!ok) {
    return std::unexpected(unsupported(plan->command + " --state " + state));
  }
  auto repo = base_repo(call, plan->flags, plan->command);
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan->flags.positional = { repo->owner, repo->name };
  return plan;
}

Answer run_pr_issue(const Invocation& call,
                    Listing listing,
                    std::span<const std::string> args) {
  auto plan = plan_pr_issue(call, listing, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool pulls = listing == Listing::pulls;
  const auto& owner = plan->flags.positional[0];
  const auto& name = plan->flags.positional[1];
  const auto state = plan->flags.last("state").value_or("open");
  json states;
  if (state == "open") {
    states = { "OPEN" };
  } else if (state == "closed") {
    states = pulls ? json{ "CLOSED", "MERGED" } : json{ "CLOSED" };
  } else if (state == "merged") {
    states = { "MERGED" };
  } else {
    states =
      pulls ? json{ "OPEN", "CLOSED", "MERGED" } : json{ "OPEN", "CLOSED" };
  }
  std::string query;
  json vars = { { "owner", owner }, { "repo", name } };
  if (pulls) {
    query =
      "fragment pr on PullRequest{" + selection(plan->fields) +
      "}\n\t\tquery PullRequestList(\n\t\t\t$owner: String!,\n\t\t\t$repo: "
      "String!,\n\t\t\t$limit: Int!,\n\t\t\t$endCursor: "
      "String,\n\t\t\t$baseBranch: "
      "String,\n\t\t\t$headBranch: String,\n\t\t\t$state: [PullRequestState!] "
      "= "
      "OPEN\n\t\t) {\n\t\t\trepository(owner: $owner, name: $repo) "
      "{\n\t\t\t\tpullRequests(\n\t\t\t\t\tstates: "
      "$state,\n\t\t\t\t\tbaseRefName: "
      "$baseBranch,\n\t\t\t\t\theadRefName: $headBranch,\n\t\t\t\t\tfirst: "
      "$limit,\n\t\t\t\t\tafter: $endCursor,\n\t\t\t\t\torderBy: {field: "
      "CREATED_AT, "
      "direction: DESC}\n\t\t\t\t) {\n\t\t\t\t\ttotalCount\n\t\t\t\t\tnodes "
      "{\n\t\t\t\t\t\t...pr\n\t\t\t\t\t}\n\t\t\t\t\tpageInfo "
      "{\n\t\t\t\t\t\thasNextPage\n\t\t\t\t\t\tendCursor\n\t\t\t\t\t}"
      "\n\t\t\t\t}\n\t\t\t}"
      "\n\t\t}";
    vars["state"] = states;
    if (auto b = plan->flags.last("base")) {
      vars["baseBranch"] = *b;
    }
    if (auto h = plan->flags.last("head")) {
      vars["headBranch"] = *h;
    }
  } else {
    query =
      "fragment issue on Issue {" + selection(plan->fields) +
      "}\n\tquery IssueList($owner: String!, $repo: String!, $limit: Int, "
      "$endCursor: "
      "String, $states: [IssueState!] = OPEN, $assignee: String, $author: "
      "String, "
      "$mention: String) {\n\t\trepository(owner: $owner, name: $repo) "
      "{\n\t\t\thasIssuesEnabled\n\t\t\tissues(first: $limit, after: "
      "$endCursor, "
      "orderBy: {field: CREATED_AT, direction: DESC}, states: $states, "
      "filterBy: "
      "{assignee: $assignee, createdBy: $author, mentioned: $mention}) "
      "{\n\t\t\t\ttotalCount\n\t\t\t\tnodes "
      "{\n\t\t\t\t\t...issue\n\t\t\t\t}\n\t\t\t\t"
      "pageInfo "
      "{\n\t\t\t\t\thasNextPage\n\t\t\t\t\tendCursor\n\t\t\t\t}\n\t\t\t}\n\t\t}"
      "\n\t}\n\t";
    vars["states"] = states;
    for (auto [flag, var] : { std::pair{ "author", "author" },
                              std::pair{ "assignee", "assignee" },
                              std::pair{ "mention", "mention" } }) {
      if (auto v = plan->flags.last(flag)) {
        vars[var] = *v;
      }
    }
  }
  ojson items = ojson::array();
  for (;;) {
    vars["limit"] = std::min<long long>(
      plan->limit - static_cast<long long>(items.size()), 100);
    auto data = graphql(client, query, vars);
    if (!data) {
      return data.error();
    }
    const auto& repository = member(*data, "repository");
    if (repository.is_null()) {
      return failure(
        "GraphQL: Could not resolve to a Repository with the name '" + owner +
          "/" + name + "'. (repository)\n",
        client.requests);
    }
    if (!pulls && member(repository, "hasIssuesEnabled").is_boolean() &&
        !member(repository, "hasIssuesEnabled").get<bool>()) {
      return failure("the '" + owner + "/" + name +
                       "' repository has disabled issues\n",
                     client.requests);
    }
    const auto& conn = member(repository, pulls ? "pullRequests" : "issues");
    for (const auto& node : member(conn, "nodes")) {
      if (static_cast<long long>(items.size()) < plan->limit) {
        items.push_back(export_item(node, plan->fields, graphql_value));
      }
    }
    const auto& info = member(conn, "pageInfo");
    if (!member(info, "hasNextPage").is_boolean() ||
        !member(info, "hasNextPage").get<bool>() ||
        static_cast<long long>(items.size()) >= plan->limit) {
      break;
    }
    vars["endCursor"] = member(info, "endCursor");
  }
  return success(print(items), client.requests);
}

// ---- run list -------------------------------------------------------------

constexpr std::array kRunListFlags{ kJson,
                                    kRepoFlag,
                                    kLimit,
                                    kJq,
                                    kTemplate,
                                    Flag{ "branch", 'b', true },
                                    Flag{ "user", 'u', true } };

std::expected<ListPlan, Unsupported> plan_run_list(
  const Invocation& call,
  std::span<const std::string> args) {
  auto plan = plan_list("run list", args, kRunListFlags, kRunFields, 20);
  if (!plan) {
    return plan;
  }
  if (!plan->flags.positional.empty()) {
    return std::unexpected(
      unsupported("run list " + plan->flags.positional[0]));
  }
  auto repo = base_repo(call, plan->flags, "run list");
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan->flags.positional = { repo->owner, repo->name };
  return plan;
}

Answer run_run_list(const Invocation& call, std::span<const std::string> args) {
  auto plan = plan_run_list(call, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const std::string full =
    plan->flags.positional[0] + "/" + plan->flags.positional[1];
  std::string url = client.ep.rest + "/repos/" + full +
                    "/actions/runs?per_page=" +
                    std::to_string(std::min<long long>(plan->limit, 100)) +
                    "&exclude_pull_requests=true";
  if (auto b = plan->flags.last("branch")) {
    url += "&branch=" + query_escape(*b);
  }
  if (auto u = plan->flags.last("user")) {
    url += "&actor=" + query_escape(*u);
  }
  std::vector<json> runs;
  while (!url.empty() && static_cast<long long>(runs.size()) < plan->limit) {
    auto res = rest_get(client, url, "failed to get runs: ");
    if (!res) {
      return res.error();
    }
    auto doc = json::parse(res->body, nullptr, false);
    for (const auto& r : member(doc, "workflow_runs")) {
      if (static_cast<long long>(runs.size()) < plan->limit) {
        runs.push_back(r);
      }
    }
    url = next_link(*res);
  }
  // gh names each run's workflow from the repository's workflow list.
  std::map<long long, std::string> workflow_names;
  for (int page = 1;; ++page) {
    auto res =
      rest_get(client,
               client.ep.rest + "/repos/" + full +
                 "/actions/workflows?per_page=100&page=" + std::to_string(page),
               "failed to get workflows: ");
    if (!res) {
      return res.error();
    }
    auto doc = json::parse(res->body, nullptr, false);
    const auto& list = member(doc, "workflows");
    for (const auto& w : list) {
      if (member(w, "id").is_number_integer() &&
          member(w, "name").is_string()) {
        workflow_names[w["id"].get<long long>()] = w["name"].get<std::string>();
      }
    }
    if (!list.is_array() || list.size() < 100) {
      break;
    }
  }
  ojson items = ojson::array();
  for (const auto& r : runs) {
    items.push_back(
      export_item(r, plan->fields, [&](const json& item, const Field& f) {
        if (f.name == "workflowName") {
          const auto& id = member(item, "workflow_id");
          auto it = id.is_number_integer()
                      ? workflow_names.find(id.get<long long>())
                      : workflow_names.end();
          return ojson(it == workflow_names.end() ? "" : it->second);
        }
        return convert(member(item, f.selection), f.kind);
      }));
  }
  return success(print(items), client.requests);
}

// ---- release list ---------------------------------------------------------

constexpr std::array kReleaseFields{
  Field{ "createdAt", "", Kind::time }, Field{ "isDraft", "", Kind::raw },
  Field{ "isLatest", "", Kind::raw },   Field{ "isPrerelease", "", Kind::raw },
  Field{ "name", "", Kind::str },       Field{ "publishedAt", "", Kind::time },
  Field{ "tagName", "", Kind::str },
};

constexpr std::array kReleaseListFlags{
  kJson,
  kRepoFlag,
  kLimit,
  kJq,
  kTemplate,
  Flag{ "exclude-drafts", 0, false },
  Flag{ "exclude-pre-releases", 0, false }
};

// The table form (gh 2.23 has no --json here; later versions add it with
// these seven fields).
std::expected<ListPlan, Unsupported> plan_release_list(
  const Invocation& call,
  std::span<const std::string> args) {
  auto parsed = parse_flags(args, kReleaseListFlags);
  if (!parsed) {
    return std::unexpected(unsupported("release list " + parsed.error()));
  }
  ListPlan plan;
  if (parsed->has("json")) {
    auto json_plan =
      plan_list("release list", args, kReleaseListFlags, kReleaseFields, 30);
    if (!json_plan) {
      return json_plan;
    }
    plan = std::move(*json_plan);
  } else {
    plan.command = "release list";
    plan.flags = std::move(*parsed);
    for (auto name : { "jq", "template" }) {
      if (plan.flags.has(name)) {
        return std::unexpected(
          unsupported(std::string("release list --") + name));
      }
    }
    if (auto l = plan.flags.last("limit")) {
      if (!parse_int(*l, plan.limit) || plan.limit <= 0) {
        return std::unexpected(unsupported("release list --limit " + *l));
      }
    }
  }
  if (!plan.flags.positional.empty()) {
    return std::unexpected(
      unsupported("release list " + plan.flags.positional[0]));
  }
  auto repo = base_repo(call, plan.flags, "release list");
  if (!repo) {
    return std::unexpected(repo.error());
  }
  plan.flags.positional = { repo->owner, repo->name };
  return plan;
}

// Go's text.RemoveExcessiveWhitespace: runs of \s as one space, trimmed.
std::string collapse_whitespace(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

Answer run_release_list(const Invocation& call,
                        std::span<const std::string> args) {
  auto plan = plan_release_list(call, args);
  if (!plan) {
    return std::unexpected(plan.error());
  }
  auto ep = endpoint(call, std::nullopt);
  if (!ep) {
    return std::unexpected(ep.error());
  }
  Client client{ call, *ep };
  const bool drafts = !plan->flags.has("exclude-drafts");
  const bool prereleases = !plan->flags.has("exclude-pre-releases");
  json vars = { { "owner", plan->flags.positional[0] },
                { "name", plan->flags.positional[1] },
                { "perPage", std::min<long long>(plan->limit, 100) },
                { "endCursor", nullptr } };
  std::vector<json> releases;
  for (;;) {
    // The variable's type follows the Go value: a nil pointer first, a
    // string once there is a cursor.
    const std::string query =
      std::string("query RepositoryReleaseList($endCursor:String") +
      (vars["endCursor"].is_null() ? "" : "!") +
      "$name:String!$owner:String!$perPage:Int!){repository(owner: $owner, "
      "name: $name){releases(first: $perPage, orderBy: {field: CREATED_AT, "
      "direction: DESC}, after: "
      "$endCursor){nodes{name,tagName,isDraft,isLatest,isPrerelease,"
      "createdAt,publishedAt},pageInfo{hasNextPage,endCursor}}}}";
    auto data = graphql(client, query, vars, GraphqlClient::shurcool);
    if (!data) {
      return data.error();
    }
    const auto& conn = member(member(*data, "repository"), "releases");
    bool full = false;
    for (const auto& r : member(conn, "nodes")) {
      auto flag = [&](std::string_view k) {
        return member(r, k).is_boolean() && member(r, k).get<bool>();
      };
      if ((!drafts && flag("isDraft")) ||
          (!prereleases && flag("isPrerelease"))) {
        continue;
      }
      releases.push_back(r);
      if (static_cast<long long>(releases.size()) == plan->limit) {
        full = true;
        break;
      }
    }
    const auto& info = member(conn, "pageInfo");
    if (full || !member(info, "hasNextPage").is_boolean() ||
        !member(info, "hasNextPage").get<bool>()) {
      break;
    }
    vars["endCursor"] = str(member(info, "endCursor")).get<std::string>();
  }
  if (!plan->fields.empty()) {
    ojson items = ojson::array();
    for (const auto& r : releases) {
      items.push_back(export_item(r, plan->fields, graphql_value));
    }
    return success(print(items), client.requests);
  }
  // gh's table when stdout is not a terminal: tab-separated, the date as
  // RFC 3339. No releases: nothing, exit 0.
  std::string out;
  for (const auto& r : releases) {
    auto text = [&](std::string_view k) {
      return str(member(r, k)).get<std::string>();
    };
    auto flag = [&](std::string_view k) {
      return member(r, k).is_boolean() && member(r, k).get<bool>();
    };
    std::string title = collapse_whitespace(text("name"));
    if (title.empty()) {
      title = text("tagName");
    }
    std::string badge = flag("isLatest")       ? "Latest"
                        : flag("isDraft")      ? "Draft"
                        : flag("isPrerelease") ? "Pre-release"
                                               : "";
    auto published = convert(member(r, "publishedAt"), Kind::time);
    std::string date = published.get<std::string>();
    if (date == "0001-01-01T00:00:00Z") {
      date = convert(member(r, "createdAt"), Kind::time).get<std::string>();
    }
    out += title + "\t" + badge + "\t" + text("tagName") + "\t" + date + "\n";
  }
  return success(out, client.requests);
}

// ---------------------------------------------------------------------------

enum class Command {
  api,
  repo_list,
  repo_view,
  pr_list,
  issue_list,
  run_list,
  release_list,
  none
};

Command command_of(std::span<const std::string> args) {
  if (args.empty()) {
    return Command::none;
  }
  if (args[0] == "api") {
    return Command::api;
  }
  if (args.size() < 2) {
    return Command::none;
  }
  const auto& a = args[0];
  const auto& b = args[1];
  if (a == "repo" && b == "list") {
    return Command::repo_list;
  }
  if (a == "repo" && b == "view") {
    return Command::repo_view;
  }
  if (a == "pr" && b == "list") {
    return Command::pr_list;
  }
  if (a == "issue" && b == "list") {
    return Command::issue_list;
  }
  if (a == "run" && b == "list") {
    return Command::run_list;
  }
  if (a == "release" && b == "list") {
    return Command::release_list;
  }
  return Command::none;
}

} // namespace

bool gh_identical(const Invocation& call) {
  std::span<const std::string> args = call.args;
  switch (command_of(args)) {
    case Command::api: {
      auto plan = plan_api(call, args.subspan(1));
      return plan && !plan->include;
    }
    case Command::repo_list:
      return plan_repo_list(args.subspan(2)).has_value();
    case Command::repo_view:
      return plan_repo_view(args.subspan(2)).has_value();
    case Command::pr_list:
      return plan_pr_issue(call, Listing::pulls, args.subspan(2)).has_value();
    case Command::issue_list:
      return plan_pr_issue(call, Listing::issues, args.subspan(2)).has_value();
    case Command::run_list:
      return plan_run_list(call, args.subspan(2)).has_value();
    case Command::release_list: {
      // The table is gh 2.23's; --json only exists in later versions, whose
      // output the HTTP path follows but cannot be checked against 2.23.
      auto plan = plan_release_list(call, args.subspan(2));
      return plan && plan->fields.empty();
    }
    case Command::none:
      return false;
  }
  return false;
}

Answer gh_run(const Invocation& call) {
  std::span<const std::string> args = call.args;
  switch (command_of(args)) {
    case Command::api:
      return run_api(call, args.subspan(1));
    case Command::repo_list:
      return run_repo_list(call, args.subspan(2));
    case Command::repo_view:
      return run_repo_view(call, args.subspan(2));
    case Command::pr_list:
      return run_pr_issue(call, Listing::pulls, args.subspan(2));
    case Command::issue_list:
      return run_pr_issue(call, Listing::issues, args.subspan(2));
    case Command::run_list:
      return run_run_list(call, args.subspan(2));
    case Command::release_list:
      return run_release_list(call, args.subspan(2));
    case Command::none:
      break;
  }
  std::string shown;
  for (size_t i = 0; i < args.size() && i < 2; ++i) {
    shown += (i ? " " : "") + args[i];
  }
  return std::unexpected(
    Unsupported{ "gh: command not found, and `gh " + shown +
                 "` has no HTTP path (mapped: gh api GET/HEAD, and --json of "
                 "repo list, repo view, "
                 "pr list, issue list, run list, release list); " +
                 std::string(kInstall) });
}

} // namespace ipfsacc::sdk
