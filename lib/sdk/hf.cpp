// hf over HTTP: the Hub reads of `hf models|datasets|spaces info|ls` and
// `hf auth whoami`, and the legacy `huggingface-cli whoami`, against the Hub
// API (HF_ENDPOINT), printed byte for byte the way hf prints them.
//
// Followed source (huggingface/huggingface_hub):
// - commit b3c3d94d32b2adbb69c68991b4fb4b974c691e10 (huggingface_hub 1.x, the
//   last releases whose `hf models|datasets|spaces` print plain JSON):
//   src/huggingface_hub/cli/models.py, cli/_cli_utils.py (repo_info_to_dict)
//   and hf_api.py (ModelInfo, DatasetInfo, SpaceInfo, list_models, …); the
//   spaces.py and datasets.py of the same series (same shape as models.py);
//   cli/auth.py of the 1.x typer CLI (auth_whoami); utils/_terminal.py
//   (ANSI: escapes unless NO_COLOR is set, whether or not stdout is a
//   terminal); utils/_datetime.py (parse_datetime).
// - huggingface_hub 0.3x commands/user.py (WhoamiCommand) for the legacy
//   `huggingface-cli whoami`, with its show_deprecation_warning line.
// Later hf releases (2026, `_output.py`) print tables by default; their
// output is not what this file reproduces.
//
// What hf prints:
// - info: json.dumps(repo_info_to_dict(info), indent=2): the dataclass
//   fields in declaration order, None dropped at the top level, datetimes as
//   isoformat() ("2022-03-02T23:29:04+00:00"), nested dataclasses as dicts
//   (their None kept as null), card_data as {} (CardData is a dataclass
//   without fields, so dataclasses.asdict gives an empty dict).
//   parse_datetime adds the UTC offset of the moment hf started and then
//   converts from local time, which is exact wherever the offset of that
//   date is the same (UTC, no daylight saving); the exact UTC time is
//   printed here.
// - ls: a JSON list of the same dicts, indent=2; --limit defaults to 10.
// - a missing repository (RepositoryNotFoundError: X-Error-Code RepoNotFound,
//   or a 401 on a repo URL) prints "Model <bold>ID</bold> not found." on
//   stdout and exits 1; a missing revision likewise.
// - any other HTTP error is an uncaught HfHubHTTPError: Python prints a
//   traceback on stderr and exits 1. Only its last line is reproduced here
//   (the frames depend on the installation); such answers are never cached.
//
// Not mapped (unsupported, exit 127): --expand, --filter, --sort, --token,
// listing a repository's files, cards, HF_HUB_OFFLINE, any other command.
#include "sdk/pyjson.hpp"
#include "sdk/sdk.hpp"
#include "util/fs.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::sdk {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";
constexpr int kDefaultLimit = 10;
constexpr int kMaxPages = 100;

// ---------------------------------------------------------------------------
// The Hub's objects as hf's dataclasses turn them into dicts.

// How one dataclass field is made from the API's JSON.
enum class Conv {
  raw,               // kwargs.pop(key, None)
  datetime,          // parse_datetime(v) if v else None
  card_data,         // CardData(**v) if dict, which asdict makes {}
  siblings,          // [RepoSibling(…)]
  transformers_info, // TransformersInfo(**v) if v else None
  safetensors,       // SafeTensorsInfo(parameters, total) if v else None
  provider_mapping,  // [InferenceProviderMapping(…)]
  space_runtime,     // SpaceRuntime(v) if v else None
  not_reproducible,  // present: this file cannot print it the way hf does
};

struct Field {
  std::string_view name;
  // The API's keys, tried as `pop(a, None) or pop(b, None)`.
  std::string_view key;
  std::string_view alt_key = {};
  Conv conv = Conv::raw;
};

// hf_api.py ModelInfo, in declaration order.
constexpr Field kModelFields[] = {
  { "id", "id" },
  { "author", "author" },
  { "sha", "sha" },
  { "created_at", "createdAt", "created_at", Conv::datetime },
  { "last_modified", "lastModified", "last_modified", Conv::datetime },
  { "private", "private" },
  { "disabled", "disabled" },
  { "downloads", "downloads" },
  { "downloads_all_time", "downloadsAllTime" },
  { "gated", "gated" },
  { "gguf", "gguf" },
  { "inference", "inference" },
  { "inference_provider_mapping",
    "inferenceProviderMapping",
    {},
    Conv::provider_mapping },
  { "likes", "likes" },
  { "library_name", "library_name" },
  { "tags", "tags" },
  { "pipeline_tag", "pipeline_tag" },
  { "mask_token", "mask_token" },
  { "card_data", "cardData", "card_data", Conv::card_data },
  { "widget_data", "widgetData" },
  { "model_index", "model-index", "model_index" },
  { "config", "config" },
  { "transformers_info",
    "transformersInfo",
    "transformers_info",
    Conv::transformers_info },
  { "trending_score", "trendingScore" },
  { "siblings", "siblings", {}, Conv::siblings },
  { "spaces", "spaces" },
  { "safetensors", "safetensors", {}, Conv::safetensors },
  { "security_repo_status", "securityRepoStatus" },
  { "eval_results", "evalResults", {}, Conv::not_reproducible },
};

// hf_api.py DatasetInfo.
constexpr Field kDatasetFields[] = {
  { "id", "id" },
  { "author", "author" },
  { "sha", "sha" },
  { "created_at", "createdAt", "created_at", Conv::datetime },
  { "last_modified", "lastModified", "last_modified", Conv::datetime },
  { "private", "private" },
  { "gated", "gated" },
  { "disabled", "disabled" },
  { "downloads", "downloads" },
  { "downloads_all_time", "downloadsAllTime" },
  { "likes", "likes" },
  { "paperswithcode_id", "paperswithcode_id" },
  { "tags", "tags" },
  { "trending_score", "trendingScore" },
  { "card_data", "cardData", "card_data", Conv::card_data },
  { "siblings", "siblings", {}, Conv::siblings },
};

// hf_api.py SpaceInfo.
constexpr Field kSpaceFields[] = {
  { "id", "id" },
  { "author", "author" },
  { "sha", "sha" },
  { "created_at", "createdAt", "created_at", Conv::datetime },
  { "last_modified", "lastModified", "last_modified", Conv::datetime },
  { "private", "private" },
  { "gated", "gated" },
  { "disabled", "disabled" },
  { "host", "host" },
  { "subdomain", "subdomain" },
  { "likes", "likes" },
  { "sdk", "sdk" },
  { "tags", "tags" },
  { "siblings", "siblings", {}, Conv::siblings },
  { "trending_score", "trendingScore" },
  { "card_data", "cardData", "card_data", Conv::card_data },
  { "runtime", "runtime", {}, Conv::space_runtime },
  { "models", "models" },
  { "datasets", "datasets" },
};

// The kind of repository a command reads.
struct RepoKind {
  std::string_view group; // "models"
  std::string_view api;   // "/api/models"
  std::string_view noun;  // "Model" (of "Model X not found.")
  std::span<const Field> fields;
};

const RepoKind kKinds[] = {
  { "models", "/api/models", "Model", kModelFields },
  { "datasets", "/api/datasets", "Dataset", kDatasetFields },
  { "spaces", "/api/spaces", "Space", kSpaceFields },
};

// Python truthiness of a JSON value.
bool truthy(const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::null:
      return false;
    case ojson::value_t::boolean:
      return v.get<bool>();
    case ojson::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case ojson::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case ojson::value_t::number_float:
      return v.get<double>() != 0;
    case ojson::value_t::string:
    case ojson::value_t::array:
    case ojson::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

// The value of key in object, or null.
ojson get(const ojson& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(std::string(key));
  return it == object.end() ? ojson(nullptr) : *it;
}

// parse_datetime(s).isoformat(): strptime("%Y-%m-%dT%H:%M:%S.%fZ") moved to
// UTC; nullopt when hf would fail to parse it.
std::optional<std::string> iso_datetime(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS.f{1,6}Z
  if (s.size() < 22 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || s[19] != '.' || s.back() != 'Z') {
    return std::nullopt;
  }
  for (size_t i : { 0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18 }) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
  }
  std::string fraction = s.substr(20, s.size() - 21);
  if (fraction.empty() || fraction.size() > 6) {
    return std::nullopt;
  }
  for (char c : fraction) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  fraction.resize(6, '0');
  std::string out = s.substr(0, 19);
  if (fraction != "000000") {
    out += '.';
    out += fraction;
  }
  return out + "+00:00";
}

// Why a response cannot be printed the way hf would print it.
struct NotReproducible {
  std::string what;
};

using Converted = std::expected<ojson, NotReproducible>;

ojson sibling_dict(const ojson& s) {
  ojson d = ojson::object();
  d["rfilename"] = get(s, "rfilename");
  d["size"] = get(s, "size");
  d["blob_id"] = get(s, "blobId");
  auto lfs = get(s, "lfs");
  if (truthy(lfs)) {
    ojson l = ojson::object();
    l["size"] = get(lfs, "size");
    l["sha256"] = get(lfs, "sha256");
    l["pointer_size"] = get(lfs, "pointerSize");
    d["lfs"] = std::move(l);
  } else {
    d["lfs"] = nullptr;
  }
  return d;
}

Converted provider_mapping(const ojson& mapping, const ojson& model_id) {
  auto one = [&](const ojson& value,
                 const ojson& provider) -> std::optional<ojson> {
    if (!value.is_object() || provider.is_null() ||
        !value.contains("providerId") || !value.contains("status") ||
        !value.contains("task")) {
      return std::nullopt;
    }
    ojson d = ojson::object();
    d["provider"] = provider;
    d["hf_model_id"] = model_id;
    d["provider_id"] = value["providerId"];
    d["status"] = value["status"];
    d["task"] = value["task"];
    d["adapter"] = get(value, "adapter");
    d["adapter_weights_path"] = get(value, "adapterWeightsPath");
    d["type"] = get(value, "type");
    return d;
  };
  ojson list = ojson::array();
  if (mapping.is_array()) {
    for (const auto& value : mapping) {
      auto d = one(value, get(value, "provider"));
      if (!d) {
        return std::unexpected(NotReproducible{ "inferenceProviderMapping" });
      }
      list.push_back(std::move(*d));
    }
  } else if (mapping.is_object()) {
    for (const auto& [provider, value] : mapping.items()) {
      auto d = one(value, provider);
      if (!d) {
        return std::unexpected(NotReproducible{ "inferenceProviderMapping" });
      }
      list.push_back(std::move(*d));
    }
  } else {
    return std::unexpected(NotReproducible{ "inferenceProviderMapping" });
  }
  return list;
}

// The dict repo_info_to_dict(XInfo(**item)) gives.
Converted info_dict(const ojson& item, std::span<const Field> fields) {
  if (!item.is_object() || !item.contains("id")) {
    return std::unexpected(NotReproducible{ "an answer without an id" });
  }
  ojson out = ojson::object();
  for (const auto& field : fields) {
    ojson v = get(item, field.key);
    if (!field.alt_key.empty() && !truthy(v)) {
      v = get(item, field.alt_key);
    }
    ojson value = nullptr;
    switch (field.conv) {
      case Conv::raw:
        value = v;
        break;
      case Conv::datetime:
        if (truthy(v)) {
          auto iso =
            v.is_string() ? iso_datetime(v.get<std::string>()) : std::nullopt;
          if (!iso) {
            return std::unexpected(NotReproducible{ std::string(field.key) });
          }
          value = *iso;
        }
        break;
      case Conv::card_data:
        value = v.is_object() ? ojson::object() : v;
        break;
      case Conv::siblings:
        if (v.is_array()) {
          value = ojson::array();
          for (const auto& s : v) {
            if (!s.is_object() || !s.contains("rfilename")) {
              return std::unexpected(NotReproducible{ "siblings" });
            }
            value.push_back(sibling_dict(s));
          }
        } else if (!v.is_null()) {
          return std::unexpected(NotReproducible{ "siblings" });
        }
        break;
      case Conv::transformers_info:
        if (truthy(v)) {
          if (!v.is_object() || !v.contains("auto_model")) {
            return std::unexpected(NotReproducible{ "transformersInfo" });
          }
          for (const auto& [key, _] : v.items()) {
            if (key != "auto_model" && key != "custom_class" &&
                key != "pipeline_tag" && key != "processor") {
              return std::unexpected(NotReproducible{ "transformersInfo" });
            }
          }
          value = ojson::object();
          value["auto_model"] = v["auto_model"];
          value["custom_class"] = get(v, "custom_class");
          value["pipeline_tag"] = get(v, "pipeline_tag");
          value["processor"] = get(v, "processor");
        }
        break;
      case Conv::safetensors:
        if (truthy(v)) {
          if (!v.is_object() || !v.contains("parameters") ||
              !v.contains("total")) {
            return std::unexpected(NotReproducible{ "safetensors" });
          }
          value = ojson::object();
          value["parameters"] = v["parameters"];
          value["total"] = v["total"];
        }
        break;
      case Conv::provider_mapping:
        if (!v.is_null()) {
          auto list = provider_mapping(v, item["id"]);
          if (!list) {
            return std::unexpected(list.error());
          }
          value = std::move(*list);
        }
        break;
      case Conv::space_runtime:
        // _space_api.py SpaceRuntime: stage, hardware, requested_hardware,
        // sleep_time, storage, raw.
        if (truthy(v)) {
          if (!v.is_object() || !v.contains("stage")) {
            return std::unexpected(NotReproducible{ "runtime" });
          }
          auto hardware = get(v, "hardware");
          if (!hardware.is_null() && !hardware.is_object()) {
            return std::unexpected(NotReproducible{ "runtime" });
          }
          value = ojson::object();
          value["stage"] = v["stage"];
          value["hardware"] = get(hardware, "current");
          value["requested_hardware"] = get(hardware, "requested");
          value["sleep_time"] = get(v, "gcTimeout");
          value["storage"] = get(v, "storage");
          value["raw"] = v;
        }
        break;
      case Conv::not_reproducible:
        if (truthy(v)) {
          return std::unexpected(NotReproducible{ std::string(field.key) });
        }
        break;
    }
    if (!value.is_null()) {
      out[std::string(field.name)] = std::move(value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Who calls and where.

bool env_true(const Invocation& call, std::string_view name) {
  auto v = env(call, name);
  if (!v) {
    return false;
  }
  std::string upper;
  for (char c : *v) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return upper == "1" || upper == "ON" || upper == "YES" || upper == "TRUE";
}

// constants.ENDPOINT: HF_ENDPOINT without a trailing slash.
std::string endpoint(const Invocation& call) {
  std::string e =
    env(call, "HF_ENDPOINT").value_or(std::string(kDefaultEndpoint));
  while (!e.empty() && e.back() == '/') {
    e.pop_back();
  }
  return e.empty() ? std::string(kDefaultEndpoint) : e;
}

// get_token(): HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file
// (HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token).
std::optional<std::string> token(const Invocation& call) {
  for (auto name : { "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" }) {
    if (auto t = env(call, name)) {
      return t;
    }
  }
  std::string path;
  if (auto p = env(call, "HF_TOKEN_PATH")) {
    path = *p;
  } else if (auto home = env(call, "HF_HOME")) {
    path = *home + "/token";
  } else if (auto xdg = env(call, "XDG_CACHE_HOME")) {
    path = *xdg + "/huggingface/token";
  } else {
    path = (util::home_dir() / ".cache/huggingface/token").string();
  }
  if (auto text = util::read_file(path)) {
    std::string t = *text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) {
      t.pop_back();
    }
    if (!t.empty()) {
      return t;
    }
  }
  return std::nullopt;
}

// ANSI.bold and friends: escapes unless NO_COLOR is set (hf does not look
// at whether stdout is a terminal).
std::string ansi(const Invocation& call,
                 std::string_view code,
                 std::string_view text) {
  if (env(call, "NO_COLOR")) {
    return std::string(text);
  }
  return fmt::format("{}{}\x1b[0m", code, text);
}

std::string bold(const Invocation& call, std::string_view text) {
  return ansi(call, "\x1b[1m", text);
}

http::Request hub_request(const Invocation& call,
                          std::string url,
                          const std::optional<std::string>& tok) {
  http::Request req;
  req.url = std::move(url);
  req.headers.push_back({ "Accept", "application/json" });
  if (tok) {
    req.headers.push_back({ "Authorization", "Bearer " + *tok });
  }
  (void)call;
  return req;
}

// The token hf sends on a read: none when HF_HUB_DISABLE_IMPLICIT_TOKEN is
// set (build_hf_headers with token=None).
std::optional<std::string> read_token(const Invocation& call) {
  if (env_true(call, "HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
    return std::nullopt;
  }
  return token(call);
}

// The last line of the traceback of an uncaught HfHubHTTPError.
Outcome hub_http_error(const http::Response& r, const std::string& url, int n) {
  Outcome o;
  o.exit_code = 1;
  o.cacheable = false;
  o.requests = n;
  o.not_found = r.status == 404;
  o.err = fmt::format(
    "huggingface_hub.errors.HfHubHTTPError: {} {} Error: {} for url: {}\n",
    r.status,
    r.status >= 500 ? "Server" : "Client",
    http::reason_phrase(r.status),
    url);
  return o;
}

// hf_raise_for_status's RepositoryNotFoundError, or its subclass
// GatedRepoError (a gated repository asked without access), which hf's
// `except RepositoryNotFoundError` catches too.
bool repo_not_found(const http::Response& r) {
  auto code = r.header("X-Error-Code");
  auto message = r.header("X-Error-Message");
  if (message && *message == "Access to this resource is disabled.") {
    return false; // DisabledRepoError: a traceback
  }
  if (code && (*code == "RepoNotFound" || *code == "GatedRepo")) {
    return true;
  }
  return r.status == 401 &&
         (!message ||
          *message != "Invalid credentials in Authorization header");
}

bool revision_not_found(const http::Response& r) {
  auto code = r.header("X-Error-Code");
  return code && *code == "RevisionNotFound";
}

// The rel="next" URL of a Link header, or "".
std::string next_link(const http::Response& r) {
  auto link = r.header("Link");
  if (!link) {
    return {};
  }
  std::string_view rest = *link;
  while (!rest.empty()) {
    auto open = rest.find('<');
    auto close = rest.find('>', open);
    if (open == std::string_view::npos || close == std::string_view::npos) {
      break;
    }
    auto url = rest.substr(open + 1, close - open - 1);
    auto end = rest.find(',', close);
    auto params = rest.substr(
      close + 1,
      end == std::string_view::npos ? std::string_view::npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string_view::npos) {
      return std::string(url);
    }
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + 1);
  }
  return {};
}

// ---------------------------------------------------------------------------
// The commands.

const OptionSpec kInfoOptions[] = {
  { { "--revision" } },
  { { "--expand" } },
  { { "--token" } },
  { { "--help" }, false },
};

const OptionSpec kListOptions[] = {
  { { "--search" } }, { { "--author" } },      { { "--limit" } },
  { { "--filter" } }, { { "--sort" } },        { { "--expand" } },
  { { "--token" } },  { { "--help" }, false },
};

// Options parsed, or the Unsupported of one this file does not map.
std::expected<ParsedArgs, Unsupported> options(
  const Invocation& call,
  std::span<const std::string> args,
  std::span<const OptionSpec> specs,
  std::string_view command) {
  auto parsed = parse_args(args, specs);
  if (!parsed) {
    return std::unexpected(unsupported(
      call, fmt::format("`hf {}` with {}", command, parsed.error())));
  }
  for (auto name : { "--expand", "--filter", "--sort", "--token", "--help" }) {
    if (parsed->has(name)) {
      return std::unexpected(
        unsupported(call, fmt::format("`hf {} {}`", command, name)));
    }
  }
  return *parsed;
}

Answer info(const Invocation& call, const RepoKind& kind) {
  const std::string command = fmt::format("{} info", kind.group);
  auto parsed =
    options(call, std::span(call.args).subspan(2), kInfoOptions, command);
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  if (parsed->positionals.size() != 1) {
    return std::unexpected(unsupported(
      call, fmt::format("`hf {}` without exactly one repository id", command)));
  }
  const std::string& id = parsed->positionals.front();
  auto revision = parsed->value("--revision");
  std::string url = endpoint(call) + std::string(kind.api) + "/" + id;
  if (revision) {
    url += "/revision/" + url_encode(*revision);
  }
  auto res = call.transport(hub_request(call, url, read_token(call)));
  if (!res) {
    return transport_failure(call, res.error());
  }
  Outcome o;
  o.requests = 1;
  if (res->status >= 400) {
    if (revision_not_found(*res)) {
      o.exit_code = 1;
      o.cacheable = false;
      o.not_found = res->status == 404;
      o.out = fmt::format("Revision {} not found on {}.\n",
                          bold(call, revision.value_or("None")),
                          bold(call, id));
      return o;
    }
    if (repo_not_found(*res)) {
      o.exit_code = 1;
      o.cacheable = false;
      o.not_found = res->status == 404;
      o.out = fmt::format("{} {} not found.\n", kind.noun, bold(call, id));
      return o;
    }
    return hub_http_error(*res, url, 1);
  }
  auto body = ojson::parse(res->body, nullptr, false);
  auto dict = info_dict(body, kind.fields);
  if (!dict) {
    return std::unexpected(unsupported(
      call,
      fmt::format("`hf {}` of a repository whose {} hf prints from its own "
                  "objects",
                  command,
                  dict.error().what)));
  }
  o.out = pyjson::dumps(*dict, 2) + "\n";
  return o;
}

Answer list(const Invocation& call, const RepoKind& kind) {
  const std::string command = fmt::format("{} ls", kind.group);
  auto parsed =
    options(call, std::span(call.args).subspan(2), kListOptions, command);
  if (!parsed) {
    return std::unexpected(parsed.error());
  }
  if (!parsed->positionals.empty()) {
    return std::unexpected(unsupported(
      call, fmt::format("`hf {}` of a repository's files", command)));
  }
  int limit = kDefaultLimit;
  if (auto text = parsed->value("--limit")) {
    auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size() || limit < 0) {
      return std::unexpected(
        unsupported(call, fmt::format("`hf {} --limit {}`", command, *text)));
    }
  }
  // list_models' params in order: author, search, limit.
  std::string query;
  auto add = [&](std::string_view name, std::string_view value) {
    query += query.empty() ? '?' : '&';
    query += name;
    query += '=';
    query += url_encode(value);
  };
  if (auto author = parsed->value("--author"); author && !author->empty()) {
    add("author", *author);
  }
  if (auto search = parsed->value("--search"); search && !search->empty()) {
    add("search", *search);
  }
  add("limit", std::to_string(limit));
  if (limit == 0) {
    // islice(items, 0) never starts the paginated request.
    Outcome none;
    none.out = "[]\n";
    return none;
  }

  const auto tok = read_token(call);
  std::string url = endpoint(call) + std::string(kind.api) + query;
  ojson items = ojson::array();
  Outcome o;
  for (int page = 0; !url.empty() && page < kMaxPages &&
                     static_cast<int>(items.size()) < limit;
       ++page) {
    auto res = call.transport(hub_request(call, url, tok));
    ++o.requests;
    if (!res) {
      auto f = transport_failure(call, res.error());
      f.requests = o.requests;
      return f;
    }
    if (res->status >= 400) {
      return hub_http_error(*res, url, o.requests);
    }
    auto body = ojson::parse(res->body, nullptr, false);
    if (!body.is_array()) {
      return std::unexpected(unsupported(
        call, fmt::format("`hf {}` of an answer that is not a list", command)));
    }
    for (auto& item : body) {
      if (static_cast<int>(items.size()) >= limit) {
        break;
      }
      auto dict = info_dict(item, kind.fields);
      if (!dict) {
        return std::unexpected(unsupported(
          call,
          fmt::format("`hf {}` of a repository whose {} hf prints from its "
                      "own objects",
                      command,
                      dict.error().what)));
      }
      items.push_back(std::move(*dict));
    }
    url = next_link(*res);
  }
  o.out = pyjson::dumps(items, 2) + "\n";
  return o;
}

// `hf auth whoami` (legacy: `huggingface-cli whoami`, which first prints
// its deprecation warning).
Answer whoami(const Invocation& call, bool legacy) {
  Outcome o;
  if (legacy) {
    o.out =
      ansi(call,
           "\x1b[33m",
           "\u26a0\ufe0f  Warning: 'huggingface-cli whoami' is deprecated. "
           "Use 'hf auth whoami' instead.") +
      "\n";
  }
  auto tok = token(call);
  if (!tok) {
    o.out += "Not logged in\n";
    o.cacheable = false;
    return o;
  }
  const std::string url = endpoint(call) + "/api/whoami-v2";
  auto res = call.transport(hub_request(call, url, tok));
  if (!res) {
    return transport_failure(call, res.error());
  }
  o.requests = 1;
  if (res->status >= 400) {
    std::string message;
    if (res->status == 401) {
      message = "Invalid user token.";
      if (env(call, "HF_TOKEN") || env(call, "HUGGING_FACE_HUB_TOKEN")) {
        message +=
          " The token from HF_TOKEN environment variable is invalid. Note that "
          "HF_TOKEN takes precedence over `hf auth login`.";
      }
    } else {
      message = fmt::format("{} {} Error: {} for url: {}",
                            res->status,
                            res->status >= 500 ? "Server" : "Client",
                            http::reason_phrase(res->status),
                            url);
    }
    o.exit_code = 1;
    o.cacheable = false;
    if (legacy) {
      // print(e); print(ANSI.red(e.response.text)); exit(1)
      o.out += message + "\n" + ansi(call, "\x1b[1m\x1b[31m", res->body) + "\n";
    } else {
      o.err = "huggingface_hub.errors.HfHubHTTPError: " + message + "\n";
    }
    return o;
  }
  auto info = ojson::parse(res->body, nullptr, false);
  if (!info.is_object() || !info.contains("name") ||
      !info["name"].is_string()) {
    return std::unexpected(
      unsupported(call, "`hf auth whoami` of an answer without a name"));
  }
  // print(ANSI.bold("user: "), info["name"]): print's separator is a space.
  o.out += bold(call, "user: ") + " " + info["name"].get<std::string>() + "\n";
  std::string orgs;
  for (const auto& org : get(info, "orgs")) {
    if (org.is_object() && org.contains("name") && org["name"].is_string()) {
      orgs += (orgs.empty() ? "" : ",") + org["name"].get<std::string>();
    }
  }
  if (!orgs.empty()) {
    o.out += bold(call, "orgs: ") + " " + orgs + "\n";
  }
  if (auto e = endpoint(call); e != kDefaultEndpoint) {
    o.out += "Authenticated through private endpoint: " + e + "\n";
  }
  return o;
}

} // namespace

Answer hf_run(const Invocation& call) {
  if (env(call, "HF_HUB_OFFLINE")) {
    return std::unexpected(unsupported(call, "a call with HF_HUB_OFFLINE set"));
  }
  const auto& a = call.args;
  if (call.binary == "huggingface-cli") {
    if (a.size() == 1 && a[0] == "whoami") {
      return whoami(call, true);
    }
    return std::unexpected(unsupported(call, "this huggingface-cli call"));
  }
  if (a.size() == 2 && a[0] == "auth" && a[1] == "whoami") {
    return whoami(call, false);
  }
  if (a.size() >= 2) {
    for (const auto& kind : kKinds) {
      if (a[0] != kind.group) {
        continue;
      }
      if (a[1] == "info") {
        return info(call, kind);
      }
      if (a[1] == "ls") {
        return list(call, kind);
      }
    }
  }
  return std::unexpected(unsupported(call, "this hf call"));
}

} // namespace ipfsacc::sdk
