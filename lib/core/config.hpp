#pragma once

#include "core/usage.hpp"
#include "util/duration.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc {

// Where a configuration value came from. Priority, highest first:
//   1. the command line
//   2. an IPFSACC_* environment variable
//   3. the config file (~/.config/ipfsacc/ipfsacc.conf)
//   4. the built-in default
enum class Origin { default_value, config_file, environment, command_line };

std::string_view origin_name(Origin origin);

enum class ValueType { string, size, duration, boolean };

struct ConfigKey {
  std::string_view name;
  std::string_view env; // "" when there is no environment variable
  ValueType type;
  std::string_view default_value;
  std::string_view description;
};

// Every configuration key. `ttl.TOOL`, `ttl.TOOL/RULE`, `prefer.TOOL`,
// `price.MODEL` (dollars per million input/output tokens, "3/15"; MODEL may
// be a glob pattern) and `serve_upstream.ROUTE` (the URL `ipfsacc serve`
// sends a route to) are accepted too.
std::span<const ConfigKey> config_keys();

// Environment variables that are ipfsacc's own but not config keys.
std::span<const std::string_view> other_env_vars();

// How to treat problems in the config file and the environment: an error for
// ipfsacc's own commands, a warning when wrapping a tool (the tool must run).
enum class Strictness { error, warn };

class Config {
public:
  // Reads the config file and the environment. With Strictness::error a
  // problem is returned as the error; with ::warn it goes to warnings().
  static std::expected<Config, std::string> load(Strictness strictness);

  // The directory holding ipfsacc.conf, wrappers/ and the secrets.
  static std::filesystem::path config_dir();
  static std::filesystem::path config_file();
  // Whether nobody but this user (and root) can change the config file: its
  // directory and the file, as util::check_trusted_dir says (a file others
  // can change could point the cache at their remote). The error says
  // which and why. load() ignores a file that is not trusted, with a
  // warning, or fails with Strictness::error (a management command must
  // not act on another cache than the one configured). No file is trusted.
  static std::expected<void, std::string> check_config_file_trusted();

  // Sets a value from the command line. Returns a message if it is invalid.
  std::expected<void, std::string> set(std::string_view key,
                                       std::string_view value,
                                       Origin origin);

  std::string get(std::string_view key) const;
  Origin origin(std::string_view key) const;
  // All explicitly set values plus defaults, by key, as they may be shown:
  // passwords in `remote` are redacted (get() has them).
  std::map<std::string, std::string> values() const;

  std::filesystem::path cache_dir() const;
  uint64_t max_size() const;
  // The largest answer taken in (max_answer_size): an HTTP answer's body as
  // decoded, the outputs of an entry from a remote.
  uint64_t max_answer_size() const;
  util::Millis default_ttl() const;
  // The TTL forced by --ttl or IPFSACC_TTL, if any.
  std::optional<util::Millis> ttl_override() const;
  // A per-tool or per-rule TTL from the config file (`ttl.gh`, `ttl.gh/api`).
  std::optional<util::Millis> tool_ttl(std::string_view tool,
                                       std::string_view rule) const;
  // How long past its TTL an answer may be served while a fresh one is
  // fetched in the background; nullopt when off.
  std::optional<util::Millis> stale_while_revalidate() const;
  // The price of a model's tokens from `price.MODEL` (exact name first, else
  // the longest matching pattern); nullopt when none is configured.
  std::optional<Price> price(std::string_view model) const;
  // "cli" or "sdk": which path a tool's call takes first (--prefer,
  // IPFSACC_PREFER, then `prefer.TOOL`, then `prefer` in the config file);
  // nullopt leaves it to the tool (the CLI, but for groq).
  std::optional<std::string> prefer(std::string_view tool) const;
  // The timeouts of the HTTP path's requests.
  util::Millis http_timeout() const;
  util::Millis http_connect_timeout() const;
  bool disabled() const;
  bool stats_enabled() const;
  // Whether cached outputs are stored encrypted (encrypt_cache = true).
  bool encrypt_cache() const;
  // The zstd level outputs are stored at (compression_level), or 0 when
  // compression is off (compression = off).
  int compression_level() const;
  std::string account() const;
  // The tools named in `exclude` (binary or rule file names), in order.
  std::vector<std::string> excluded() const;
  bool excludes(std::string_view name) const;

  const std::vector<std::string>& warnings() const { return warnings_; }

  // Validates key and value; returns the message that explains a problem.
  static std::expected<void, std::string> validate(std::string_view key,
                                                   std::string_view value);

private:
  struct Value {
    std::string text;
    Origin origin;
  };
  std::map<std::string, Value, std::less<>> values_;
  std::vector<std::string> warnings_;
};

// Checks the environment for IPFSACC_* variables ipfsacc does not know.
// Returns one message per unknown variable, with a suggestion.
std::vector<std::string> unknown_env_vars();

// Parses a `key = value` config text. Comments start with '#'. Returns the
// pairs with their line numbers, or a message naming the line.
struct ConfigLine {
  std::string key;
  std::string value;
  int line;
};
std::expected<std::vector<ConfigLine>, std::string> parse_config_text(
  std::string_view text,
  std::string_view origin);

} // namespace ipfsacc
