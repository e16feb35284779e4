// vastai over HTTP: the --raw (JSON) forms of `search offers`, `show
// instances`, `show machines` and `show user`, against the Vast.ai REST API,
// printed byte for byte the way vast-cli prints them.
//
// Followed source: vast-ai/vast-cli, vast.py at commit
// 01163020f1dd1b1e3ef17401cef47286d001844a: main(), apiurl(), apiheaders(),
// parse_query(), search__offers(), show__instances(), show__machines(),
// show__user(). Under --raw, show__machines() returns the Response itself:
// json.dumps fails on it and main() prints its JSON, the whole answer.
//
// What vast-cli does:
// - The server is --url, else VAST_URL, else https://console.vast.ai; the
//   API is under /api/v0. The key (--api-key, else VAST_API_KEY, else
//   ~/.config/vastai/vast_api_key) goes in an `Authorization: Bearer`
//   header and also in an api_key query parameter; the API accepts the
//   header alone, so the key is never put in a URL here.
// - --raw prints json.dumps(result, indent=1, sort_keys=True) and exits 0.
// - An HTTP error prints "failed with error STATUS: MSG" on stdout (MSG is
//   the body's "msg"; for a body that is not JSON, "Please log in or sign
//   up" on a 401, else "(no detail message supplied)") and exits 0.
// - search offers POSTs its query to /bundles/: the default query
//   (verified, external, rentable, rented), the parsed QUERY words, "order"
//   (default score-), "type" (default on-demand), "limit", and
//   "allocated_storage" (default 5.0); the rows come back under "offers" and
//   are filtered on "rented" the way the CLI filters them.
//
// Not mapped (unsupported, exit 127): anything without --raw (tables),
// --explain, --curl, --new, -q/--quiet, driver_version values with dots
// (vast-cli's numeric_version), query text parse_query would reject, and
// every other command.
#include "sdk/pyjson.hpp"
#include "sdk/sdk.hpp"
#include "sdk/vast_query.hpp"
#include "util/fs.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc::sdk {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kDefaultServer = "https://console.vast.ai";

const OptionSpec kSearchOffers[] = {
  { { "--raw" }, false },
  { { "--url" } },
  { { "--retry" } },
  { { "--api-key" } },
  { { "--explain" }, false },
  { { "--curl" }, false },
  { { "-t", "--type" } },
  { { "-i", "--interruptible" }, false },
  { { "-b", "--bid" }, false },
  { { "-r", "--reserved" }, false },
  { { "-d", "--on-demand" }, false },
  { { "-n", "--no-default" }, false },
  { { "--new" }, false },
  { { "--limit" } },
  { { "--disable-bundling" }, false },
  { { "--storage" } },
  { { "-o", "--order" } },
};

const OptionSpec kShow[] = {
  { { "--raw" }, false },
  { { "--url" } },
  { { "--retry" } },
  { { "--api-key" } },
  { { "--explain" }, false },
  { { "--curl" }, false },
  { { "-q", "--quiet" }, false },
};

// main()'s key: --api-key, else VAST_API_KEY, else the key file.
std::optional<std::string> api_key(const Invocation& call,
                                   const ParsedArgs& parsed) {
  if (auto key = parsed.value("--api-key"); key && !key->empty()) {
    return key;
  }
  if (auto key = env(call, "VAST_API_KEY")) {
    return key;
  }
  std::string config = env(call, "XDG_CONFIG_HOME")
                         .value_or((util::home_dir() / ".config").string());
  for (const auto& path : { config + "/vastai/vast_api_key",
                            (util::home_dir() / ".vast_api_key").string() }) {
    if (auto text = util::read_file(path)) {
      std::string key = *text;
      while (!key.empty() &&
             std::isspace(static_cast<unsigned char>(key.back()))) {
        key.pop_back();
      }
      while (!key.empty() &&
             std::isspace(static_cast<unsigned char>(key.front()))) {
        key.erase(0, 1);
      }
      if (!key.empty()) {
        return key;
      }
    }
  }
  return std::nullopt;
}

// apiurl() without the api_key parameter.
std::string api_url(const Invocation& call,
                    const ParsedArgs& parsed,
                    std::string_view subpath,
                    std::string_view query) {
  std::string base = parsed.value("--url").value_or(
    env(call, "VAST_URL").value_or(std::string(kDefaultServer)));
  std::string url = base + "/api/v0" + std::string(subpath);
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

// What Python's str() prints for a JSON value read with json.loads.
std::string python_str(const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::null:
      return "None";
    case ojson::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case ojson::value_t::string:
      return v.get<std::string>();
    case ojson::value_t::number_float:
      return pyjson::float_repr(v.get<double>());
    default:
      return v.dump();
  }
}

// main()'s handling of requests.exceptions.HTTPError.
Outcome vast_http_error(const http::Response& r, int requests) {
  Outcome o;
  o.requests = requests;
  o.cacheable = false;
  o.not_found = r.status == 404;
  std::string message;
  auto body = ojson::parse(r.body, nullptr, false);
  if (body.is_discarded()) {
    message = r.status == 401 ? "Please log in or sign up"
                              : "(no detail message supplied)";
  } else if (body.is_object()) {
    message = python_str(body.contains("msg") ? body["msg"] : ojson(nullptr));
  } else {
    // .get on a list: an AttributeError and its traceback.
    o.exit_code = 1;
    o.err = "AttributeError: 'list' object has no attribute 'get'\n";
    return o;
  }
  o.out = fmt::format("failed with error {}: {}\n", r.status, message);
  return o;
}

struct Common {
  ParsedArgs parsed;
  std::optional<std::string> key;
};

// The options of a mapped command, or why the call is not mapped.
std::expected<Common, Unsupported> common(const Invocation& call,
                                          std::span<const OptionSpec> specs,
                                          std::string_view command) {
  auto parsed = parse_args(std::span(call.args).subspan(2), specs);
  if (!parsed) {
    return std::unexpected(unsupported(
      call, fmt::format("`vastai {}` with {}", command, parsed.error())));
  }
  for (auto name : { "--explain", "--curl", "--new", "-q" }) {
    if (parsed->has(name)) {
      return std::unexpected(
        unsupported(call, fmt::format("`vastai {} {}`", command, name)));
    }
  }
  if (!parsed->has("--raw")) {
    return std::unexpected(unsupported(
      call, fmt::format("`vastai {}` without --raw (its table)", command)));
  }
  Common c;
  c.key = api_key(call, *parsed);
  c.parsed = std::move(*parsed);
  return c;
}

http::Request request(std::string method,
                      std::string url,
                      const std::optional<std::string>& key) {
  http::Request req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.headers.push_back({ "Accept", "application/json" });
  if (key) {
    req.headers.push_back({ "Authorization", "Bearer " + *key });
  }
  return req;
}

// Prints what --raw prints for result.
Outcome raw(const ojson& result, int requests) {
  Outcome o;
  o.requests = requests;
  o.out = pyjson::dumps(result, 1, pyjson::SortKeys::yes) + "\n";
  return o;
}

// The show commands mapped, by what their --raw form prints.
enum class Show {
  instances, // show__instances returns the "instances" rows
  machines,  // show__machines returns the Response: main prints its JSON
  user,      // show__user returns the answer without its "api_key"
};

// `show instances|machines|user --raw`: GET subpath?owner=me, printed the
// way `what` says.
Answer show(const Invocation& call,
            std::string_view command,
            std::string_view subpath,
            Show what) {
  auto c = common(call, kShow, command);
  if (!c) {
    return std::unexpected(c.error());
  }
  if (!c->parsed.positionals.empty()) {
    return std::unexpected(
      unsupported(call, fmt::format("`vastai {}` with arguments", command)));
  }
  auto res = call.transport(
    request("GET", api_url(call, c->parsed, subpath, "owner=me"), c->key));
  if (!res) {
    return transport_failure(call, res.error());
  }
  if (res->status >= 400) {
    return vast_http_error(*res, 1);
  }
  auto body = ojson::parse(res->body, nullptr, false);
  // What vastai reads before printing (a KeyError otherwise).
  const std::string_view needed = what == Show::instances  ? "instances"
                                  : what == Show::machines ? "machines"
                                                           : "api_key";
  if (!body.is_object() || !body.contains(needed)) {
    return std::unexpected(unsupported(
      call,
      fmt::format("`vastai {}` of an answer vastai would fail on", command)));
  }
  if (what == Show::user) {
    body.erase("api_key"); // user_blob.pop("api_key")
    return raw(body, 1);
  }
  if (what == Show::machines) {
    return raw(body, 1);
  }
  const ojson& rows = body["instances"];
  // show__instances reads each row's start_date and extra_env pairs (into
  // a copy it drops); a row without them makes vastai fail.
  bool readable = rows.is_array();
  for (const auto& row : rows) {
    readable = readable && row.is_object() && row.contains("start_date") &&
               row["start_date"].is_number() && row.contains("extra_env") &&
               row["extra_env"].is_array();
    for (const auto& pair : readable ? row["extra_env"] : ojson::array()) {
      readable = readable && pair.is_array() && pair.size() >= 2;
    }
  }
  if (!readable) {
    return std::unexpected(unsupported(
      call,
      fmt::format("`vastai {}` of an answer vastai would fail on", command)));
  }
  return raw(rows, 1);
}

Answer search_offers(const Invocation& call) {
  auto c = common(call, kSearchOffers, "search offers");
  if (!c) {
    return std::unexpected(c.error());
  }
  const auto& p = c->parsed;
  // -t/-i/-b/-r/-d all set args.type; the last one wins.
  std::string type = "on-demand";
  for (const auto& [name, value] : p.options) {
    if (name == "-t") {
      type = value;
    } else if (name == "-i" || name == "-b") {
      type = "bid";
    } else if (name == "-r") {
      type = "reserved";
    } else if (name == "-d") {
      type = "on-demand";
    }
  }
  std::optional<long> limit;
  if (auto text = p.value("--limit")) {
    long n = 0;
    auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return std::unexpected(unsupported(
        call, fmt::format("`vastai search offers --limit {}`", *text)));
    }
    limit = n;
  }
  double storage = 5.0;
  if (auto text = p.value("--storage")) {
    auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), storage);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return std::unexpected(unsupported(
        call, fmt::format("`vastai search offers --storage {}`", *text)));
    }
  }
  auto built =
    vast::offers_query(p.positionals,
                       p.has("-n") ? vast::Defaults::no : vast::Defaults::yes,
                       p.value("-o").value_or("score-"),
                       type,
                       limit,
                       storage,
                       p.has("--disable-bundling"));
  if (!built) {
    return std::unexpected(unsupported(
      call, fmt::format("`vastai search offers` of {}", built.error())));
  }
  auto req = request("POST", api_url(call, p, "/bundles/", ""), c->key);
  req.headers.push_back({ "Content-Type", "application/json" });
  req.body = pyjson::dumps(built->query, -1);
  auto res = call.transport(req);
  if (!res) {
    return transport_failure(call, res.error());
  }
  if (res->status >= 400) {
    auto o = vast_http_error(*res, 1);
    o.err = built->warnings + o.err;
    return o;
  }
  Outcome o;
  o.requests = 1;
  o.err = built->warnings;
  auto content_type = res->header("Content-Type");
  if (!content_type || *content_type != "application/json") {
    o.cacheable = false;
    o.out = fmt::format("invalid return Content-Type: {}\nnull\n",
                        content_type ? std::string(*content_type) : "None");
    return o;
  }
  auto body = ojson::parse(res->body, nullptr, false);
  if (!body.is_object() || !body.contains("offers") ||
      !body["offers"].is_array()) {
    return std::unexpected(unsupported(
      call, "`vastai search offers` of an answer vastai would fail on"));
  }
  auto rows = vast::filter_rented(body["offers"], built->query);
  o.out = pyjson::dumps(rows, 1, pyjson::SortKeys::yes) + "\n";
  return o;
}

} // namespace

Answer vastai_run(const Invocation& call) {
  const auto& a = call.args;
  if (a.size() >= 2) {
    if (a[0] == "search" && a[1] == "offers") {
      return search_offers(call);
    }
    if (a[0] == "show" && a[1] == "instances") {
      return show(call, "show instances", "/instances", Show::instances);
    }
    if (a[0] == "show" && a[1] == "machines") {
      return show(call, "show machines", "/machines", Show::machines);
    }
    if (a[0] == "show" && a[1] == "user") {
      return show(call, "show user", "/users/current", Show::user);
    }
  }
  return std::unexpected(unsupported(call, "this vastai call"));
}

} // namespace ipfsacc::sdk
