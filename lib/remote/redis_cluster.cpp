#include "remote/redis_cluster.hpp"

#include <charconv>
#include <fmt/format.h>

namespace ipfsacc::remote::redis {

namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the cluster
// specification gives it.
uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

template<typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  auto [end, ec] =
    std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// "host:port" (the host may hold colons: an IPv6 address); "" host allowed.
std::optional<std::pair<std::string, int>> endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  auto port = number<int>(text.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) {
    return std::nullopt;
  }
  return std::pair{ std::string(text.substr(0, colon)), *port };
}

} // namespace

uint16_t key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(crc16(key) % kClusterSlots);
}

std::optional<Redirect> parse_redirect(std::string_view message) {
  Redirect redirect;
  if (message.starts_with("MOVED ")) {
    message.remove_prefix(6);
  } else if (message.starts_with("ASK ")) {
    redirect.ask = true;
    message.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = message.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  auto slot = number<uint16_t>(message.substr(0, space));
  auto where = endpoint(message.substr(space + 1));
  if (!slot || *slot >= kClusterSlots || !where) {
    return std::nullopt;
  }
  redirect.slot = *slot;
  redirect.host = std::move(where->first);
  redirect.port = where->second;
  return redirect;
}

Result<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply) {
  auto bad = [] {
    return std::unexpected(
      Failure{ Failure::Kind::error, "CLUSTER SLOTS: unexpected reply" });
  };
  if (reply.type != REDIS_REPLY_ARRAY) {
    return bad();
  }
  std::vector<SlotRange> ranges;
  for (size_t i = 0; i < reply.elements; ++i) {
    const auto* range = reply.element[i];
    // [first, last, [host, port, id, …] (the master), replicas…]
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
        range->element[0]->type != REDIS_REPLY_INTEGER ||
        range->element[1]->type != REDIS_REPLY_INTEGER) {
      return bad();
    }
    const auto* master = range->element[2];
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        master->element[1]->type != REDIS_REPLY_INTEGER) {
      return bad();
    }
    long long first = range->element[0]->integer;
    long long last = range->element[1]->integer;
    long long port = master->element[1]->integer;
    if (first < 0 || last < first ||
        last >= static_cast<long long>(kClusterSlots) || port <= 0 ||
        port > 65535) {
      return bad();
    }
    SlotRange slots;
    slots.first = static_cast<uint16_t>(first);
    slots.last = static_cast<uint16_t>(last);
    slots.host.assign(master->element[0]->str, master->element[0]->len);
    // "?" is an endpoint the node does not know (cluster-preferred-endpoint).
    if (slots.host == "?") {
      slots.host.clear();
    }
    slots.port = static_cast<int>(port);
    ranges.push_back(std::move(slots));
  }
  return ranges;
}

} // namespace ipfsacc::remote::redis
