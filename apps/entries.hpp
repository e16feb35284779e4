#pragma once

// Selecting and describing cache entries: shared by list, show, purge and
// export.

#include "core/config.hpp"
#include "storage/store.hpp"
#include "util/duration.hpp"

#include <expected>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc::app {

// Exit codes of ipfsacc's own commands.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Prints "ipfsacc: error: message" and returns kExitError.
int error(std::string_view message);

// Prints "ipfsacc: message" and returns kExitUsage.
int usage_error(std::string_view message);

// True when config's cache directory holds a cache (without opening it: a
// process must not open one LMDB environment twice, and closing one copy
// drops the locks of the other).
bool cache_exists(const Config& config);

// Opens the cache of config. Returns nullptr (not an error) when there is no
// cache yet and access is read-only; an error when it cannot be opened.
std::expected<std::unique_ptr<storage::Store>, std::string> open_cache(
  const Config& config,
  storage::Access access);

// Which entries a command acts on; every condition given must hold.
struct Selection {
  std::string tool;
  std::string glob; // matched against the redacted command line
  bool expired = false;
  std::optional<util::Millis> older_than; // by age since creation

  bool matches(const storage::Entry& entry, int64_t now_ms) const;
  // True when only --expired (or nothing) is asked: the expiry index alone
  // answers, no record needs decoding.
  bool by_expiry_only() const {
    return tool.empty() && glob.empty() && !older_than;
  }
};

// Resolves a full key CID or a prefix of one that is unique (like git) to
// the entry's key. Returns a message when nothing matches or, listing the
// candidates, when several do.
std::expected<Digest, std::string> resolve_key(storage::StoreReader& reader,
                                               std::string_view text);

// The command line shown for an entry: its display with secrets redacted,
// the values of the secrets store included when it opens without asking.
std::string shown_command(const storage::Entry& entry);

// An entry's metadata as JSON (list --json, show --json).
nlohmann::json entry_json(const Digest& key,
                          const storage::Entry& entry,
                          int64_t now_ms);

// "3m2s", or "expired" / "expired 5m ago" style texts for a time left.
std::string format_ttl_left(int64_t left_ms);

} // namespace ipfsacc::app
