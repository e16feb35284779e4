#pragma once

// What a Redis Cluster client must know (the cluster specification): the
// hash slot of a key, the redirections a node answers with, and the slot map
// CLUSTER SLOTS describes.

#include "remote/tier.hpp"

#include <cstdint>
#include <hiredis/hiredis.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::remote::redis {

constexpr size_t kClusterSlots = 16384;

// The slot of key: CRC16 (XMODEM) of the key, or of its hash tag (what is
// between the first '{' and the next '}', when that is not empty), modulo
// 16384.
uint16_t key_slot(std::string_view key);

// `MOVED 3999 127.0.0.1:6381` (the slot lives there now) or `ASK 3999 …`
// (ask there once, after ASKING: the slot is being moved).
struct Redirect {
  bool ask = false;
  uint16_t slot = 0;
  std::string host; // "" when the node did not say (the asked node's host)
  int port = 0;
};

// The redirection an error reply's message is; nullopt for any other error.
std::optional<Redirect> parse_redirect(std::string_view message);

// Slots first..last are served by the master at host:port.
struct SlotRange {
  uint16_t first = 0;
  uint16_t last = 0;
  std::string host; // "" when the node did not say (the asked node's host)
  int port = 0;

  bool operator==(const SlotRange&) const = default;
};

// The masters of a CLUSTER SLOTS reply.
Result<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply);

} // namespace ipfsacc::remote::redis
