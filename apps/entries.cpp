#include "entries.hpp"

#include "core/redact.hpp"
#include "secrets/store.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <sys/stat.h>

namespace ipfsacc::app {

int error(std::string_view message) {
  fmt::print(stderr, "ipfsacc: error: {}\n", message);
  return kExitError;
}

int usage_error(std::string_view message) {
  fmt::print(stderr, "ipfsacc: {}\n", message);
  return kExitUsage;
}

bool cache_exists(const Config& config) {
  struct stat st;
  return ::stat((config.cache_dir() / "data.mdb").c_str(), &st) == 0;
}

std::expected<std::unique_ptr<storage::Store>, std::string> open_cache(
  const Config& config,
  storage::Access access) {
  auto dir = config.cache_dir();
  if (access == storage::Access::read_only && !cache_exists(config)) {
    return nullptr;
  }
  auto store = storage::Store::open(dir, access);
  if (!store) {
    return std::unexpected(store.error());
  }
  if (access == storage::Access::read_write && (*store)->read_only()) {
    return std::unexpected(
      fmt::format("the cache in {} is read-only", dir.string()));
  }
  // Hit counts and last uses as they are now (purge --max-size plans by
  // them before it writes); a read-only open folded them already.
  (*store)->fold_hits();
  // What it stores (import) is stored as a call would.
  (*store)->set_compression(config.compression_level());
  return std::move(*store);
}

bool Selection::matches(const storage::Entry& entry, int64_t now_ms) const {
  if (!tool.empty() && entry.tool != tool) {
    return false;
  }
  if (expired && entry.expires_ms > now_ms) {
    return false;
  }
  if (older_than && now_ms - entry.created_ms <= older_than->count()) {
    return false;
  }
  if (!glob.empty() &&
      ::fnmatch(glob.c_str(), shown_command(entry).c_str(), 0) != 0) {
    return false;
  }
  return true;
}

std::expected<Digest, std::string> resolve_key(storage::StoreReader& reader,
                                               std::string_view text) {
  if (auto full = parse_cid(text)) {
    // Looked up without decoding: a corrupt record can still be named.
    bool exists = false;
    reader.for_each_key(*full, [&](const Digest& key) {
      exists = key == *full;
      return false;
    });
    if (!exists) {
      return std::unexpected(fmt::format("no entry has the key {}", text));
    }
    return *full;
  }
  // Keys with a CID prefix share the leading bits of their digest: pad the
  // prefix with zero bits ('a' in base32) to find where they start in key
  // order, and walk while the CIDs keep the prefix.
  std::string padded(text);
  if (padded.size() < 59) {
    padded.append(59 - padded.size(), 'a');
  }
  auto start = parse_cid(padded);
  if (text.size() < 2 || !start) {
    return std::unexpected(fmt::format(
      "'{}' is not a key CID or the start of one (bafkrei…)", text));
  }
  std::vector<Digest> found;
  reader.for_each_key(*start, [&](const Digest& key) {
    if (!cid_string(key).starts_with(text)) {
      return false;
    }
    found.push_back(key);
    return found.size() <= 10;
  });
  if (found.empty()) {
    return std::unexpected(fmt::format("no entry's key starts with {}", text));
  }
  if (found.size() == 1) {
    return found.front();
  }
  std::string message = fmt::format(
    "{} is ambiguous: {}{} entries start with it; give more of the key:",
    text,
    found.size() > 10 ? "more than " : "",
    std::min<size_t>(found.size(), 10));
  for (size_t i = 0; i < found.size() && i < 10; ++i) {
    auto entry = reader.entry(found[i]);
    message += fmt::format("\n  {}  {}",
                           cid_string(found[i]),
                           entry ? shown_command(*entry) : "(unreadable)");
  }
  return std::unexpected(message);
}

namespace {

// The values of the secrets store when it opens without asking (a key file,
// or IPFSACC_PASSPHRASE): read once per command, for redaction.
std::span<const std::string_view> stored_secret_values() {
  static std::optional<secrets::Secrets> stored;
  static std::vector<std::string_view> values;
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    auto location = secrets::Location::from_environment();
    if (secrets::exists(location)) {
      if (auto opened =
            secrets::load(location, secrets::passphrase_from_env())) {
        stored = std::move(*opened);
        for (const auto& info : stored->list()) {
          if (auto value = stored->get(info.name)) {
            values.push_back(*value);
          }
        }
      }
    }
  }
  return values;
}

} // namespace

std::string shown_command(const storage::Entry& entry) {
  return redact_display(entry.display, stored_secret_values());
}

std::string format_ttl_left(int64_t left_ms) {
  if (left_ms > 0) {
    return util::format_duration(util::Millis(left_ms));
  }
  return "expired";
}

nlohmann::json entry_json(const Digest& key,
                          const storage::Entry& entry,
                          int64_t now_ms) {
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& s : entry.segments) {
    segments.push_back(nlohmann::json::array(
      { s.stream == storage::Stream::out ? "out" : "err", s.size }));
  }
  return {
    { "key", cid_string(key) },
    { "tool", entry.tool },
    { "operation", entry.operation },
    { "command", shown_command(entry) },
    { "exit_code", entry.exit_code },
    { "created_ms", entry.created_ms },
    { "expires_ms", entry.expires_ms },
    { "last_used_ms", entry.last_used_ms },
    { "age_ms", now_ms - entry.created_ms },
    { "ttl_left_ms", std::max<int64_t>(0, entry.expires_ms - now_ms) },
    { "expired", entry.expires_ms <= now_ms },
    { "duration_ms", entry.duration_ms },
    { "hits", entry.hits },
    { "size", entry.stdout_size + entry.stderr_size },
    { "stdout",
      { { "cid", cid_string(entry.stdout_digest) },
        { "size", entry.stdout_size } } },
    { "stderr",
      { { "cid", cid_string(entry.stderr_digest) },
        { "size", entry.stderr_size } } },
    { "segments", std::move(segments) },
    { "tags", entry.tags },
  };
}

} // namespace ipfsacc::app
