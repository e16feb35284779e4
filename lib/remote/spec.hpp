#pragma once

#include "core/cid.hpp"
#include "util/duration.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote {

// Whether a remote is only read from (CI jobs on untrusted pull requests).
enum class Access { read_write, read_only };

// The longest a connection attempt may take unless `connect-timeout=` says
// otherwise: an unreachable remote costs at most this, once per process.
constexpr util::Millis kDefaultConnectTimeout{ 100 };
// The longest one operation may take unless `timeout=` says otherwise.
constexpr util::Millis kDefaultTimeout{ 500 };

// One remote of the `remote` setting:
// `scheme://[user[:password]@]host[:port][/path][|attr[=value]…]`.
struct Spec {
  std::string scheme; // "redis", "rediss", "ipfs", "http", "s3"
  std::string user;
  std::string password; // never shown: see label() and redact_remotes()
  std::string host;     // may hold a '*' that shards= fills in
  uint16_t port = 0;    // 0: the scheme's default
  std::string path;     // "/1" for a Redis database, "/api/v0"
  Access access = Access::read_write;
  util::Millis timeout = kDefaultTimeout;
  util::Millis connect_timeout = kDefaultConnectTimeout;
  bool ttl_refresh = false;
  std::vector<std::string> shards; // names that replace '*' in host
  // Attributes a tier reads itself (`type=kubo`, `region=`, `endpoint=`).
  std::map<std::string, std::string> extra;
  // Not part of the URL: the directory where a tier may keep what it
  // learned of the remote for the next process (the cache directory; a
  // Redis Cluster's slot map); "" when nowhere.
  std::filesystem::path state_dir;

  // How people and statistics name this remote: the URL without
  // credentials or attributes ("redis://cache-*:6379/1").
  std::string label() const;
  // The spec of one shard: host with '*' replaced by name.
  Spec shard(std::string_view name) const;
};

// Parses one remote URL with its attributes. Returns a message that names
// the problem (and never the password) when it is not valid.
std::expected<Spec, std::string> parse_remote(std::string_view text);

// Parses the `remote` setting: remotes separated by spaces, in order.
std::expected<std::vector<Spec>, std::string> parse_remotes(
  std::string_view text);

// Whether a statically linked program can reach every remote of the
// `remote` setting by itself: Redis (hiredis is linked in) at an address,
// or at a name when glibc looks host names up with the sources built into a
// static program (util::static_host_lookup_safe). The other engines make
// HTTP requests through libcurl, which only a dynamic program can load; a
// setting that does not parse is left to the dynamic program too.
bool static_program_reaches(std::string_view setting);

// The `remote` setting as it may be shown: every URL password replaced by
// "***" (user names stay, they are not secrets).
std::string redact_remotes(std::string_view text);

// Rendezvous (highest random weight) hashing: the index of the shard that
// holds key. Adding or removing a shard moves only the keys that go to or
// come from it. shards must not be empty.
size_t pick_shard(std::span<const std::string> shards, std::string_view key);

} // namespace ipfsacc::remote
