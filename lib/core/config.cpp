#include "core/config.hpp"

#include "remote/spec.hpp"
#include "secrets/signing.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/trusted_dir.hpp"
#include "util/zstd.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fmt/format.h>
#include <fnmatch.h>

extern char** environ;

namespace ipfsacc {

using util::trim;

namespace fs = std::filesystem;

namespace {

const ConfigKey kKeys[] = {
  { "cache_dir",
    "IPFSACC_DIR",
    ValueType::string,
    "",
    "where the cache lives (default $XDG_CACHE_HOME/ipfsacc or "
    "~/.cache/ipfsacc)" },
  { "max_size",
    "IPFSACC_MAX_SIZE",
    ValueType::size,
    "1G",
    "largest size of the cache; least recently used entries are evicted" },
  { "max_answer_size",
    "IPFSACC_MAX_ANSWER_SIZE",
    ValueType::size,
    "100M",
    "largest answer taken in: an HTTP answer of the HTTP path (decoded) or "
    "the outputs of a remote entry; a larger one is refused" },
  { "ttl",
    "IPFSACC_TTL",
    ValueType::duration,
    "",
    "a TTL that replaces every rule's TTL" },
  { "default_ttl",
    "",
    ValueType::duration,
    "1m",
    "TTL of `ipfsacc run` and of rules without one" },
  { "stale_while_revalidate",
    "IPFSACC_STALE_WHILE_REVALIDATE",
    ValueType::duration,
    "",
    "serve an expired answer up to this long past its TTL, and fetch a "
    "fresh one in the background" },
  { "disable",
    "IPFSACC_DISABLE",
    ValueType::boolean,
    "false",
    "run every tool directly, touching no cache" },
  { "stats", "IPFSACC_STATS", ValueType::boolean, "true", "keep statistics" },
  { "account",
    "IPFSACC_ACCOUNT",
    ValueType::string,
    "",
    "account name used in keys instead of a hash of the token (CI)" },
  { "encrypt_cache",
    "",
    ValueType::boolean,
    "false",
    "store cached outputs encrypted (key: the secret cache_key)" },
  { "compression",
    "IPFSACC_COMPRESSION",
    ValueType::string,
    "zstd",
    "zstd or off: store outputs as zstd frames, locally and on Redis and S3 "
    "remotes, when that saves at least a tenth of their size (off: as "
    "printed; entries stored either way stay readable)" },
  { "compression_level",
    "IPFSACC_COMPRESSION_LEVEL",
    ValueType::string,
    "3",
    "zstd level of compression, 1 (fastest) to 19 (smallest)" },
  { "remote",
    "IPFSACC_REMOTE",
    ValueType::string,
    "",
    "shared remote tiers, tried in order after the local cache: "
    "URL[|ATTR…] … (redis://[user:password@]host:port[/db], "
    "ipfs://host:port or http://host:port/api/v0|type=kubo; attributes "
    "read-only, timeout=, connect-timeout=, ttl-refresh, shards=)" },
  { "remote_trusted_keys",
    "IPFSACC_REMOTE_TRUSTED_KEYS",
    ValueType::string,
    "",
    "public keys (64 hex digits each; `ipfsacc secrets signing-key` prints "
    "one) of which a remote entry must carry a signature to be served, and "
    "an exported one to be imported; empty: any entry bound to its key" },
  { "prefer",
    "IPFSACC_PREFER",
    ValueType::string,
    "",
    "cli or sdk: run the tool's CLI first and fall back to HTTP when it is "
    "missing or crashes (cli, the default but for groq), or make the call "
    "over HTTP first (sdk)" },
  { "http_timeout",
    "IPFSACC_HTTP_TIMEOUT",
    ValueType::duration,
    "2m",
    "longest time an HTTP request of the HTTP path may take" },
  { "http_connect_timeout",
    "IPFSACC_HTTP_CONNECT_TIMEOUT",
    ValueType::duration,
    "10s",
    "longest time connecting to an API may take" },
  { "serve_listen",
    "",
    ValueType::string,
    "127.0.0.1:8100",
    "HOST:PORT `ipfsacc serve` listens on, unless --listen (an address that "
    "is not loopback needs a token: --token or the secret serve_token)" },
  { "serve_upstream_timeout",
    "",
    ValueType::duration,
    "10m",
    "longest wait of `ipfsacc serve` for an upstream's answer to begin, "
    "unless --upstream-timeout; past it the client gets a 504" },
  { "exclude",
    "IPFSACC_EXCLUDE",
    ValueType::string,
    "",
    "tools that shell-init and shims leave alone (space or comma separated); "
    "their shims run them uncached" },
};

// IPFSACC_PATH: where to look for the wrapped tools instead of PATH (like
// ccache's CCACHE_PATH). IPFSACC_NOW: the cache's clock (util::now_ms).
// IPFSACC_PROGRESS_DELAY: how long import, export and purge run before
// they show progress (apps/progress_flags).
const std::string_view kOtherEnv[] = {
  "IPFSACC_CONFIG_DIR",     "IPFSACC_NOW",         "IPFSACC_PATH",
  "IPFSACC_PROGRESS_DELAY", "IPFSACC_SECRETS_DIR", "IPFSACC_PASSPHRASE"
};

// A zstd level from 1 to 19, nullopt for anything else.
std::optional<int> parse_level(std::string_view text) {
  int level = 0;
  auto [end, ec] =
    std::from_chars(text.data(), text.data() + text.size(), level);
  if (ec != std::errc() || end != text.data() + text.size() ||
      level < util::kZstdMinLevel || level > util::kZstdMaxLevel) {
    return std::nullopt;
  }
  return level;
}

bool parse_bool(std::string_view text, bool& out) {
  auto t = util::lower(text);
  if (t == "1" || t == "true" || t == "yes" || t == "on") {
    out = true;
    return true;
  }
  if (t == "0" || t == "false" || t == "no" || t == "off" || t.empty()) {
    out = false;
    return true;
  }
  return false;
}

const ConfigKey* find_key(std::string_view name) {
  for (const auto& key : kKeys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

std::vector<std::string_view> all_names() {
  std::vector<std::string_view> names;
  for (const auto& key : kKeys) {
    names.push_back(key.name);
  }
  return names;
}

} // namespace

std::string_view origin_name(Origin origin) {
  switch (origin) {
    case Origin::default_value:
      return "default";
    case Origin::config_file:
      return "config file";
    case Origin::environment:
      return "environment";
    case Origin::command_line:
      return "command line";
  }
  return "?";
}

std::span<const ConfigKey> config_keys() {
  return kKeys;
}

std::span<const std::string_view> other_env_vars() {
  return kOtherEnv;
}

std::expected<void, std::string> Config::validate(std::string_view key,
                                                  std::string_view value) {
  ValueType type;
  if (key == "prefer" || (key.starts_with("prefer.") && key.size() > 7)) {
    if (value != "cli" && value != "sdk" && !value.empty()) {
      return std::unexpected(
        fmt::format("{}: '{}' is not cli or sdk", key, value));
    }
    return {};
  }
  if (key == "compression") {
    if (value != "zstd" && value != "off") {
      return std::unexpected(
        fmt::format("{}: '{}' is not zstd or off", key, value));
    }
    return {};
  }
  if (key == "compression_level") {
    if (!parse_level(value)) {
      return std::unexpected(
        fmt::format("{}: '{}' is not a level from {} to {}",
                    key,
                    value,
                    util::kZstdMinLevel,
                    util::kZstdMaxLevel));
    }
    return {};
  }
  if (key.starts_with("serve_upstream.") && key.size() > 15) {
    if (!value.starts_with("http://") && !value.starts_with("https://") &&
        !value.empty()) {
      return std::unexpected(
        fmt::format("{}: '{}' is not an http:// or https:// URL", key, value));
    }
    return {};
  }
  if (key.starts_with("ttl.") && key.size() > 4) {
    type = ValueType::duration;
  } else if (key.starts_with("price.") && key.size() > 6) {
    if (!parse_price(value)) {
      return std::unexpected(
        fmt::format("{}: '{}' is not a price: give dollars per million "
                    "input and output tokens, as in '3/15'",
                    key,
                    value));
    }
    return {};
  } else if (const auto* k = find_key(key)) {
    type = k->type;
  } else {
    auto names = all_names();
    auto suggestion = util::closest(key, names);
    return std::unexpected(
      suggestion.empty()
        ? fmt::format("unknown config key '{}'", key)
        : fmt::format(
            "unknown config key '{}' (did you mean '{}'?)", key, suggestion));
  }
  switch (type) {
    case ValueType::size:
      if (auto r = util::parse_size(value); !r) {
        return std::unexpected(fmt::format("{}: {}", key, r.error()));
      }
      break;
    case ValueType::duration:
      if (auto r = util::parse_duration(value); !r && !value.empty()) {
        return std::unexpected(fmt::format("{}: {}", key, r.error()));
      }
      break;
    case ValueType::boolean: {
      bool ignored;
      if (!parse_bool(value, ignored)) {
        return std::unexpected(
          fmt::format("{}: '{}' is not true or false", key, value));
      }
      break;
    }
    case ValueType::string:
      if (key == "remote") {
        if (auto r = remote::parse_remotes(value); !r) {
          return std::unexpected(r.error());
        }
      }
      if (key == "remote_trusted_keys") {
        if (auto r = secrets::parse_public_keys(value); !r) {
          return std::unexpected(fmt::format("{}: {}", key, r.error()));
        }
      }
      break;
  }
  return {};
}

std::expected<std::vector<ConfigLine>, std::string> parse_config_text(
  std::string_view text,
  std::string_view origin) {
  std::vector<ConfigLine> lines;
  int number = 0;
  while (!text.empty()) {
    ++number;
    size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text =
      end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return std::unexpected(
        fmt::format("{}:{}: expected 'key = value'", origin, number));
    }
    lines.push_back({ std::string(trim(line.substr(0, eq))),
                      std::string(trim(line.substr(eq + 1))),
                      number });
  }
  return lines;
}

fs::path Config::config_dir() {
  if (const char* dir = std::getenv("IPFSACC_CONFIG_DIR"); dir && *dir) {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "ipfsacc";
  }
  return util::home_dir() / ".config" / "ipfsacc";
}

fs::path Config::config_file() {
  return config_dir() / "ipfsacc.conf";
}

std::expected<void, std::string> Config::check_config_file_trusted() {
  auto path = config_file();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return {}; // nothing to read
  }
  auto dir =
    util::check_trusted_dir(path.parent_path(), util::Sharing::owner_only);
  if (!dir) {
    return std::unexpected(
      fmt::format("the config file {} is not trusted: its directory {} {}",
                  path.string(),
                  path.parent_path().string(),
                  dir.error()));
  }
  if (auto file = util::check_trusted_file(path, *dir); !file) {
    return std::unexpected(fmt::format(
      "the config file {} is not trusted: {}", path.string(), file.error()));
  }
  return {};
}

std::expected<Config, std::string> Config::load(Strictness strictness) {
  Config config;
  auto problem = [&](std::string message) -> bool {
    if (strictness == Strictness::error) {
      return false;
    }
    config.warnings_.push_back(std::move(message));
    return true;
  };

  auto path = config_file();
  // A config file others can change could point the cache at their remote:
  // like the secrets beside it, it is read only from a trusted directory.
  if (auto trusted = check_config_file_trusted(); !trusted) {
    if (!problem(trusted.error() + "; ignoring it")) {
      return std::unexpected(trusted.error());
    }
  } else if (auto text = util::read_file(path)) {
    auto lines = parse_config_text(*text, path.string());
    if (!lines) {
      if (!problem(lines.error())) {
        return std::unexpected(lines.error());
      }
    } else {
      for (const auto& line : *lines) {
        if (auto ok = validate(line.key, line.value); !ok) {
          auto message =
            fmt::format("{}:{}: {}", path.string(), line.line, ok.error());
          if (!problem(message)) {
            return std::unexpected(message);
          }
          continue;
        }
        config.values_[line.key] = { line.value, Origin::config_file };
      }
    }
  }

  for (const auto& key : kKeys) {
    if (key.env.empty()) {
      continue;
    }
    const char* value = std::getenv(std::string(key.env).c_str());
    if (!value) {
      continue;
    }
    if (auto ok = validate(key.name, value); !ok) {
      auto message = fmt::format("{}: {}", key.env, ok.error());
      if (!problem(message)) {
        return std::unexpected(message);
      }
      continue;
    }
    config.values_[std::string(key.name)] = { value, Origin::environment };
  }

  for (auto& message : unknown_env_vars()) {
    if (!problem(message)) {
      return std::unexpected(message);
    }
  }
  return config;
}

std::expected<void, std::string> Config::set(std::string_view key,
                                             std::string_view value,
                                             Origin origin) {
  if (auto ok = validate(key, value); !ok) {
    return ok;
  }
  values_[std::string(key)] = { std::string(value), origin };
  return {};
}

std::string Config::get(std::string_view key) const {
  if (auto it = values_.find(key); it != values_.end()) {
    return it->second.text;
  }
  if (key == "cache_dir") {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
      return (fs::path(xdg) / "ipfsacc").string();
    }
    return (util::home_dir() / ".cache" / "ipfsacc").string();
  }
  if (const auto* k = find_key(key)) {
    return std::string(k->default_value);
  }
  return {};
}

Origin Config::origin(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? Origin::default_value : it->second.origin;
}

std::map<std::string, std::string> Config::values() const {
  std::map<std::string, std::string> out;
  for (const auto& key : kKeys) {
    out[std::string(key.name)] = get(key.name);
  }
  for (const auto& [key, value] : values_) {
    out[key] = value.text;
  }
  // What is shown never holds a remote's password.
  out["remote"] = remote::redact_remotes(out["remote"]);
  return out;
}

fs::path Config::cache_dir() const {
  return get("cache_dir");
}

uint64_t Config::max_size() const {
  return util::parse_size(get("max_size")).value_or(1'000'000'000);
}

uint64_t Config::max_answer_size() const {
  return util::parse_size(get("max_answer_size")).value_or(100'000'000);
}

util::Millis Config::default_ttl() const {
  return util::parse_duration(get("default_ttl"))
    .value_or(std::chrono::minutes(1));
}

std::optional<util::Millis> Config::ttl_override() const {
  auto text = get("ttl");
  if (text.empty()) {
    return std::nullopt;
  }
  auto ttl = util::parse_duration(text);
  return ttl ? std::optional(*ttl) : std::nullopt;
}

std::optional<util::Millis> Config::tool_ttl(std::string_view tool,
                                             std::string_view rule) const {
  for (auto key :
       { fmt::format("ttl.{}/{}", tool, rule), fmt::format("ttl.{}", tool) }) {
    if (auto it = values_.find(key); it != values_.end()) {
      if (auto ttl = util::parse_duration(it->second.text)) {
        return *ttl;
      }
    }
  }
  return std::nullopt;
}

std::optional<Price> Config::price(std::string_view model) const {
  if (model.empty()) {
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "price.";
  if (auto it = values_.find(fmt::format("price.{}", model));
      it != values_.end()) {
    return parse_price(it->second.text);
  }
  // Patterns ("price.claude-sonnet-4*"): the longest that matches wins.
  std::string name(model);
  std::optional<Price> best;
  size_t best_length = 0;
  for (auto it = values_.lower_bound(kPrefix);
       it != values_.end() && it->first.starts_with(kPrefix);
       ++it) {
    std::string pattern = it->first.substr(kPrefix.size());
    if (pattern.size() > best_length &&
        ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
      if (auto price = parse_price(it->second.text)) {
        best = price;
        best_length = pattern.size();
      }
    }
  }
  return best;
}

std::optional<std::string> Config::prefer(std::string_view tool) const {
  // 1. --prefer and IPFSACC_PREFER, 2. prefer.TOOL, 3. prefer, all from the
  // config file.
  auto global = values_.find("prefer");
  if (global != values_.end() && !global->second.text.empty() &&
      global->second.origin != Origin::config_file) {
    return global->second.text;
  }
  if (auto it = values_.find(fmt::format("prefer.{}", tool));
      it != values_.end() && !it->second.text.empty()) {
    return it->second.text;
  }
  if (global != values_.end() && !global->second.text.empty()) {
    return global->second.text;
  }
  return std::nullopt;
}

util::Millis Config::http_timeout() const {
  return util::parse_duration(get("http_timeout"))
    .value_or(std::chrono::minutes(2));
}

util::Millis Config::http_connect_timeout() const {
  return util::parse_duration(get("http_connect_timeout"))
    .value_or(std::chrono::seconds(10));
}

std::optional<util::Millis> Config::stale_while_revalidate() const {
  auto text = get("stale_while_revalidate");
  auto d = util::parse_duration(text);
  if (text.empty() || !d || d->count() <= 0) {
    return std::nullopt;
  }
  return *d;
}

bool Config::disabled() const {
  bool value = false;
  parse_bool(get("disable"), value);
  return value;
}

bool Config::stats_enabled() const {
  bool value = true;
  parse_bool(get("stats"), value);
  return value;
}

bool Config::encrypt_cache() const {
  bool value = false;
  parse_bool(get("encrypt_cache"), value);
  return value;
}

int Config::compression_level() const {
  if (get("compression") == "off") {
    return 0;
  }
  return parse_level(get("compression_level"))
    .value_or(util::kZstdDefaultLevel);
}

std::string Config::account() const {
  return get("account");
}

std::vector<std::string> Config::excluded() const {
  std::vector<std::string> names;
  std::string text = get("exclude");
  for (auto name : util::split_list(text, ", \t")) {
    names.emplace_back(name);
  }
  return names;
}

bool Config::excludes(std::string_view name) const {
  auto names = excluded();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> unknown_env_vars() {
  std::vector<std::string_view> known;
  for (const auto& key : kKeys) {
    if (!key.env.empty()) {
      known.push_back(key.env);
    }
  }
  for (auto name : kOtherEnv) {
    known.push_back(name);
  }
  std::vector<std::string> messages;
  for (char** env = environ; env && *env; ++env) {
    std::string_view entry(*env);
    if (!entry.starts_with("IPFSACC_")) {
      continue;
    }
    auto name = entry.substr(0, entry.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    auto suggestion = util::closest(name, known);
    messages.push_back(
      suggestion.empty()
        ? fmt::format("unknown environment variable {}", name)
        : fmt::format("unknown environment variable {} (did you mean {}?)",
                      name,
                      suggestion));
  }
  return messages;
}

} // namespace ipfsacc
