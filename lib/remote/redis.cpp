// The Redis tier (hiredis). Layout, as the README documents it:
//   ipfsacc:entry:<request CID>  the encoded entry (storage/entry.cpp's
//                                format), expiring with the entry
//   ipfsacc:blob:<blob CID>      an output's bytes as they are (the local
//                                store does not compress), expiring with the
//                                last entry stored that uses it
//
// The URL may name one server or any node of a Redis Cluster. A key goes to
// the node its slot lives on, as the cluster's slot map says; the map is
// learned from the first MOVED a node answers (or before listing keys, which
// asks every master), and learned again at every MOVED. ASK is followed once
// without changing it. At most kMaxRedirects redirections per operation.
// The map learned is kept in the cache directory (remote/redis_slot_file),
// so the next process starts with it: a stale one is corrected by the
// MOVED it meets, one naming a node that does not answer is dropped for
// the URL's node.

#include "remote/builtin_engines.hpp"
#include "remote/redis_cluster.hpp"
#include "remote/redis_connection.hpp"
#include "remote/redis_slot_file.hpp"
#include "util/duration.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <sodium.h>

namespace ipfsacc::remote {

namespace {

using redis::Command;
using redis::Connection;
using redis::Reply;

constexpr std::string_view kEntryPrefix = "ipfsacc:entry:";
constexpr std::string_view kBlobPrefix = "ipfsacc:blob:";
constexpr uint16_t kRedisDefaultPort = 6379;
// Redirections one operation follows (a reshard moves a slot once; MOVED
// then ASK is two).
constexpr int kMaxRedirects = 5;

std::string entry_key(const Digest& key) {
  return std::string(kEntryPrefix) + cid_string(key);
}

std::string blob_key(const Digest& digest) {
  return std::string(kBlobPrefix) + cid_string(digest);
}

class RedisTier final : public Tier {
public:
  explicit RedisTier(Spec spec)
    : spec_(std::move(spec)) {
    nodes_.push_back(std::make_unique<Connection>(
      spec_, spec_.host, spec_.port ? spec_.port : kRedisDefaultPort));
    if (!spec_.state_dir.empty()) {
      slot_file_ = redis::slot_map_file(spec_.state_dir, spec_.label());
    }
  }
  ~RedisTier() override {
    sodium_memzero(spec_.password.data(), spec_.password.size());
  }

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    return get(entry_key(key));
  }

  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t expires_ms) override {
    return set(entry_key(key), encoded, expires_ms);
  }

  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    // At most size + 1 bytes: a longer value is found out without reading it
    // whole. GETRANGE answers "" for a missing key, and no blob is empty.
    auto key = blob_key(digest);
    auto last = std::to_string(size);
    auto reply = one(key, { "GETRANGE", key, "0", last });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    const auto* r = reply->get();
    if (r->type != REDIS_REPLY_STRING) {
      return std::unexpected(redis::unexpected_reply("GETRANGE"));
    }
    if (r->len == 0) {
      return std::optional<std::string>();
    }
    if (r->len != size) {
      return std::unexpected(Failure{
        Failure::Kind::rejected,
        r->len > size
          ? fmt::format("over the {} bytes of its entry", size)
          : fmt::format("{} bytes, not the {} of its entry", r->len, size) });
    }
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  // Blobs expire with the longest-lived entry that uses them: the default
  // remove_blobs_except (none) is right. The overrides below do in place,
  // in one round trip, what the defaults would do by writing again.
  Result<bool> has_blob(const Digest& digest, int64_t expires_ms) override {
    auto key = blob_key(digest);
    auto ms = std::to_string(expires_ms);
    // EXISTS says whether it is there; PEXPIREAT … GT only ever lengthens
    // its life (and does nothing when it is absent).
    auto replies =
      on_key(key, { { "EXISTS", key }, { "PEXPIREAT", key, ms, "GT" } });
    if (!replies) {
      return std::unexpected(replies.error());
    }
    return (*replies)[0]->type == REDIS_REPLY_INTEGER &&
           (*replies)[0]->integer == 1;
  }

  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t expires_ms) override {
    return set(blob_key(digest),
               std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                bytes.size()),
               expires_ms);
  }

  Result<void> refresh_entry(const Digest& key, int64_t expires_ms) override {
    auto name = entry_key(key);
    auto ms = std::to_string(expires_ms);
    auto reply = one(name, { "PEXPIREAT", name, ms, "GT" });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return {};
  }

  Result<bool> remove_entry(const Digest& key) override {
    auto name = entry_key(key);
    auto reply = one(name, { "UNLINK", name });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer > 0;
  }

  Result<uint64_t> purge() override {
    uint64_t removed = 0;
    auto scanned =
      scan("ipfsacc:*", [&](Connection& node, std::vector<std::string> keys) {
        // One UNLINK per key: in a cluster, keys of several
        // slots may not share a command.
        std::vector<Command> unlink;
        for (const auto& key : keys) {
          unlink.push_back({ "UNLINK", key });
        }
        auto gone = node.exchange(unlink, deadline_from_now());
        if (!gone) {
          return Result<void>(std::unexpected(gone.error()));
        }
        for (const auto& reply : *gone) {
          if (reply->type == REDIS_REPLY_INTEGER) {
            removed += static_cast<uint64_t>(reply->integer);
          }
        }
        return Result<void>();
      });
    if (!scanned) {
      return std::unexpected(scanned.error());
    }
    return removed;
  }

  Result<std::vector<Digest>> list_entries() override {
    std::vector<Digest> found;
    auto scanned =
      scan(std::string(kEntryPrefix) + "*",
           [&](Connection&, std::vector<std::string> keys) {
             for (const auto& key : keys) {
               if (auto digest = parse_cid(std::string_view(key).substr(
                     std::min(key.size(), kEntryPrefix.size())))) {
                 found.push_back(*digest);
               }
             }
             return Result<void>();
           });
    if (!scanned) {
      return std::unexpected(scanned.error());
    }
    return found;
  }

  // PING and a probe outside the entries' keys: doctor's check touches no
  // key that `purge --remote --expired` lists.
  Result<void> ping() override {
    auto replies = nodes_[0]->exchange(std::vector<Command>{ { "PING" } },
                                       deadline_from_now());
    if (!replies) {
      return std::unexpected(replies.error());
    }
    return checked((*replies)[0], "PING");
  }

  Result<void> probe_write() override {
    uint8_t random[8];
    randombytes_buf(random, sizeof(random));
    std::string key = "ipfsacc:probe:";
    for (auto b : random) {
      key += fmt::format("{:02x}", b);
    }
    auto replies =
      on_key(key, { { "SET", key, "1", "PX", "10000" }, { "DEL", key } });
    if (!replies) {
      return std::unexpected(replies.error());
    }
    return {};
  }

private:
  // When an operation starting now must have ended (a util::steady_ms()
  // time): `timeout=` is the longest one operation may take, however many
  // reads, writes and redirections it needs.
  int64_t deadline_from_now() const {
    return util::steady_ms() + spec_.timeout.count();
  }

  static Result<void> checked(const Reply& reply, std::string_view what) {
    if (reply->type == REDIS_REPLY_ERROR) {
      return std::unexpected(redis::error_reply(*reply, what));
    }
    return {};
  }

  // The connection to host:port, made on first use; "" host is the asked
  // node's.
  size_t node_at(std::string host, int port, size_t asked) {
    if (host.empty()) {
      host = nodes_[asked]->host();
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->host() == host && nodes_[i]->port() == port) {
        return i;
      }
    }
    nodes_.push_back(std::make_unique<Connection>(spec_, host, port));
    return nodes_.size() - 1;
  }

  // Learns the slot map from node (CLUSTER SLOTS). A server that is not in
  // a cluster says so, and everything then goes to it.
  Result<void> learn_slots(size_t node, int64_t deadline) {
    auto replies = nodes_[node]->exchange(
      std::vector<Command>{ { "CLUSTER", "SLOTS" } }, deadline);
    if (!replies) {
      return std::unexpected(replies.error());
    }
    const auto& reply = (*replies)[0];
    topology_known_ = true;
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string_view message(reply->str, reply->len);
      if (message.find("cluster support disabled") != std::string_view::npos) {
        slots_.clear();
        if (map_from_file_) {
          redis::forget_slot_map(slot_file_);
          map_from_file_ = false;
        }
        return {};
      }
      return std::unexpected(redis::error_reply(*reply, "CLUSTER SLOTS"));
    }
    auto ranges = redis::parse_cluster_slots(*reply);
    if (!ranges) {
      return std::unexpected(ranges.error());
    }
    // A slot no master serves goes to the node asked, which says so.
    slots_.assign(redis::kClusterSlots, static_cast<uint16_t>(node));
    for (const auto& range : *ranges) {
      auto at = static_cast<uint16_t>(node_at(range.host, range.port, node));
      std::fill(
        slots_.begin() + range.first, slots_.begin() + range.last + 1, at);
    }
    map_from_file_ = false;
    save_slots();
    return {};
  }

  // The ranges of slots_, each with the host and port of its node.
  std::vector<redis::SlotRange> slot_ranges() const {
    std::vector<redis::SlotRange> ranges;
    for (size_t first = 0; first < slots_.size();) {
      size_t last = first;
      while (last + 1 < slots_.size() && slots_[last + 1] == slots_[first]) {
        ++last;
      }
      const auto& node = *nodes_[slots_[first]];
      ranges.push_back({ static_cast<uint16_t>(first),
                         static_cast<uint16_t>(last),
                         node.host(),
                         node.port() });
      first = last + 1;
    }
    return ranges;
  }

  // Keeps the map just learned for the next process, unless it is the one
  // the file holds already.
  void save_slots() {
    if (slot_file_.empty()) {
      return;
    }
    auto ranges = slot_ranges();
    if (ranges == saved_ranges_) {
      return;
    }
    if (redis::save_slot_map(slot_file_, spec_.label(), ranges)) {
      saved_ranges_ = std::move(ranges);
    }
  }

  // Starts from the map an earlier process kept, once, before the first
  // command on a key.
  void load_saved_slots() {
    if (slot_file_read_ || slot_file_.empty()) {
      return;
    }
    slot_file_read_ = true;
    auto ranges = redis::load_slot_map(slot_file_, spec_.label());
    if (!ranges || ranges->empty()) {
      return;
    }
    // A slot the file leaves out goes to the URL's node, which says where
    // it lives.
    slots_.assign(redis::kClusterSlots, 0);
    for (const auto& range : *ranges) {
      auto at = static_cast<uint16_t>(node_at(range.host, range.port, 0));
      std::fill(
        slots_.begin() + range.first, slots_.begin() + range.last + 1, at);
    }
    map_from_file_ = true;
    saved_ranges_ = std::move(*ranges);
  }

  // A node the kept map named did not answer: the map is dropped (here and
  // for the next process) and the URL's node asked instead.
  void forget_saved_slots() {
    slots_.clear();
    saved_ranges_.clear();
    map_from_file_ = false;
    redis::forget_slot_map(slot_file_);
  }

  // Sends commands on key (all on the same key, so on one node) to the node
  // its slot lives on, following redirections; every reply read, error
  // replies included. One operation: one deadline.
  Result<std::vector<Reply>> on_key(const std::string& key,
                                    const std::vector<Command>& commands) {
    int64_t deadline = deadline_from_now();
    load_saved_slots();
    uint16_t slot = redis::key_slot(key);
    size_t node = slots_.empty() ? 0 : slots_[slot];
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
      std::vector<Command> sent;
      for (const auto& command : commands) {
        if (asking) {
          sent.push_back({ "ASKING" });
        }
        sent.push_back(command);
      }
      auto replies = nodes_[node]->exchange(sent, deadline);
      if (!replies && map_from_file_ && node != 0 &&
          redirects < kMaxRedirects) {
        forget_saved_slots();
        node = 0;
        asking = false;
        continue;
      }
      if (!replies) {
        return std::unexpected(replies.error());
      }
      if (asking) {
        // Only the commands' replies, not ASKING's.
        std::vector<Reply> answers;
        for (size_t i = 1; i < replies->size(); i += 2) {
          answers.push_back(std::move((*replies)[i]));
        }
        *replies = std::move(answers);
      }
      std::optional<redis::Redirect> redirect;
      if ((*replies)[0]->type == REDIS_REPLY_ERROR) {
        redirect = redis::parse_redirect(
          std::string_view((*replies)[0]->str, (*replies)[0]->len));
      }
      if (!redirect) {
        return replies;
      }
      if (redirects == kMaxRedirects) {
        return std::unexpected(
          Failure{ Failure::Kind::error,
                   fmt::format("{}: more than {} cluster redirections",
                               commands[0][0],
                               kMaxRedirects) });
      }
      size_t asked = node;
      node = node_at(redirect->host, redirect->port, asked);
      asking = redirect->ask;
      if (!asking) {
        // The map is out of date (or was never learned): learn it again,
        // from the node that knows the slot. Should that fail, the slot is
        // still known.
        if (!learn_slots(node, deadline)) {
          if (slots_.empty()) {
            slots_.assign(redis::kClusterSlots, static_cast<uint16_t>(asked));
          }
        }
        if (!slots_.empty()) {
          slots_[redirect->slot] = static_cast<uint16_t>(node);
        }
      }
    }
  }

  // One command on key, whose error reply is a failure.
  Result<Reply> one(const std::string& key, Command command) {
    auto what = command[0];
    auto replies = on_key(key, { std::move(command) });
    if (!replies) {
      return std::unexpected(replies.error());
    }
    if (auto ok = checked((*replies)[0], what); !ok) {
      return std::unexpected(ok.error());
    }
    return std::move((*replies)[0]);
  }

  // Calls each with every batch of keys matching pattern on every master
  // (SCAN: a server is never blocked walking all of them at once). Each
  // SCAN is an operation of its own.
  Result<void> scan(
    const std::string& pattern,
    const std::function<Result<void>(Connection&, std::vector<std::string>)>&
      each) {
    if (!topology_known_) {
      if (auto ok = learn_slots(0, deadline_from_now()); !ok) {
        return ok;
      }
    }
    std::vector<size_t> masters{ 0 };
    if (!slots_.empty()) {
      masters.assign(slots_.begin(), slots_.end());
      std::sort(masters.begin(), masters.end());
      masters.erase(std::unique(masters.begin(), masters.end()), masters.end());
    }
    for (size_t node : masters) {
      std::string cursor = "0";
      do {
        auto replies = nodes_[node]->exchange(
          std::vector<Command>{
            { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" } },
          deadline_from_now());
        if (!replies) {
          return std::unexpected(replies.error());
        }
        const auto& reply = (*replies)[0];
        if (auto ok = checked(reply, "SCAN"); !ok) {
          return ok;
        }
        const auto* r = reply.get();
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
          return std::unexpected(redis::unexpected_reply("SCAN"));
        }
        cursor.assign(r->element[0]->str, r->element[0]->len);
        std::vector<std::string> keys;
        const auto* found = r->element[1];
        for (size_t i = 0; i < found->elements; ++i) {
          keys.emplace_back(found->element[i]->str, found->element[i]->len);
        }
        if (!keys.empty()) {
          if (auto ok = each(*nodes_[node], std::move(keys)); !ok) {
            return ok;
          }
        }
      } while (cursor != "0");
    }
    return {};
  }

  Result<std::optional<std::string>> get(const std::string& key) {
    auto reply = one(key, { "GET", key });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    const auto* r = reply->get();
    if (r->type == REDIS_REPLY_NIL) {
      return std::optional<std::string>();
    }
    if (r->type != REDIS_REPLY_STRING) {
      return std::unexpected(redis::unexpected_reply("GET"));
    }
    return std::optional<std::string>(std::string(r->str, r->len));
  }

  Result<void> set(const std::string& key,
                   std::string_view bytes,
                   int64_t expires_ms) {
    auto ms = std::to_string(expires_ms);
    auto reply = one(key, { "SET", key, bytes, "PXAT", ms });
    if (!reply) {
      return std::unexpected(reply.error());
    }
    return {};
  }

  Spec spec_;
  // nodes_[0] is the URL's server; other nodes of a cluster are added as
  // the slot map or a redirection names them.
  std::vector<std::unique_ptr<Connection>> nodes_;
  // The node of each slot (an index into nodes_); empty while no cluster is
  // known of.
  std::vector<uint16_t> slots_;
  bool topology_known_ = false;
  // Where the slot map is kept between processes ("" when it is not): what
  // the file was last read or written with, whether it has been read, and
  // whether slots_ is still the file's (no node of this process has given
  // it since).
  std::filesystem::path slot_file_;
  std::vector<redis::SlotRange> saved_ranges_;
  bool slot_file_read_ = false;
  bool map_from_file_ = false;
};

} // namespace

Engine redis_engine() {
  // rediss:// is known so that its failure says why (hiredis here is built
  // without TLS).
  return { { "redis", "rediss" },
           [](const Spec& spec) -> Result<std::unique_ptr<Tier>> {
             return std::make_unique<RedisTier>(spec);
           },
           "redis_password" };
}

} // namespace ipfsacc::remote
