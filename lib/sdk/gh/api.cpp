// `gh api`: GET and HEAD of a REST path, made and printed as gh makes and
// prints them.
// - The body of each response is copied as it came; --paginate follows
//   Link rel="next" and prints the pages one after the other (gh 2.23 does
//   not merge JSON arrays: `[..][..]`); -i prints "PROTO STATUS\n", the
//   headers sorted by canonical name as "Name: v1, v2\r\n", then "\r\n".
// - An HTTP error prints the body, then "gh: MESSAGE (HTTP N)" on stderr,
//   exit 1.
// - -i/--include answers are never cacheable: they carry the response's
//   Date and X-RateLimit-* headers, which replayed later would look current.
//   (The gh rule file does not cache -i calls either.)
#include "core/context.hpp"
#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"
#include "util/text.hpp"

#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc::sdk::gh {

namespace {

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

std::expected<ApiPlan, Unsupported> plan_api(const Invocation& call,
                                             Args args) {
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

} // namespace

Answer run_api(const Invocation& call, Args args) {
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

bool api_identical(const Invocation& call, Args args) {
  auto plan = plan_api(call, args);
  return plan && !plan->include;
}

} // namespace ipfsacc::sdk::gh
