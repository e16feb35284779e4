#include "secrets/secrets.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace ipfsacc::secrets {

namespace {

constexpr uint8_t kPlainFormat = 1;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

void put_i64(uint8_t* p, int64_t value) {
  auto v = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= uint32_t(p[i]) << (8 * i);
  }
  return v;
}

int64_t get_i64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t(p[i]) << (8 * i);
  }
  return static_cast<int64_t>(v);
}

} // namespace

std::string_view canonical_name(std::string_view name) {
  if (name == "google_api_key") {
    return "gemini_api_key";
  }
  return name;
}

std::expected<void, std::string> check_name(std::string_view name) {
  // The name is not repeated in these messages: what was typed in its place
  // may be a value.
  if (name.empty()) {
    return std::unexpected("a secret name cannot be empty");
  }
  if (name.size() > kMaxNameSize) {
    return std::unexpected(
      fmt::format("a secret name is at most {} characters long", kMaxNameSize));
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return std::unexpected(
        "a secret name may only hold a-z, 0-9 and _ (like github_token)");
    }
  }
  return {};
}

std::optional<std::string_view> Secrets::get(std::string_view name) const {
  name = canonical_name(name);
  auto it = std::lower_bound(
    records_.begin(), records_.end(), name, [](const Record& r, auto n) {
      return r.name < n;
    });
  if (it == records_.end() || it->name != name) {
    return std::nullopt;
  }
  return it->value.view();
}

std::vector<SecretInfo> Secrets::list() const {
  std::vector<SecretInfo> out;
  for (const auto& r : records_) {
    out.push_back({ r.name, r.set_ms });
  }
  return out;
}

std::expected<void, std::string> Secrets::set(std::string_view name,
                                              std::string_view value,
                                              int64_t set_ms) {
  if (auto ok = check_name(name); !ok) {
    return ok;
  }
  name = canonical_name(name);
  if (value.empty()) {
    return std::unexpected(
      fmt::format("the value of {} is empty; nothing to store", name));
  }
  if (value.find('\0') != std::string_view::npos) {
    return std::unexpected(
      fmt::format("the value of {} holds a NUL byte, which no environment "
                  "variable can carry",
                  name));
  }
  if (value.size() > kMaxValueSize) {
    return std::unexpected(fmt::format(
      "the value of {} is larger than {} KiB", name, kMaxValueSize / 1024));
  }
  auto copy = SecureBuffer::copy_of(value);
  if (!copy) {
    return std::unexpected(copy.error());
  }
  auto it = std::lower_bound(
    records_.begin(), records_.end(), name, [](const Record& r, auto n) {
      return r.name < n;
    });
  if (it != records_.end() && it->name == name) {
    it->value = std::move(*copy);
    it->set_ms = set_ms;
    return {};
  }
  records_.insert(it, Record{ std::string(name), set_ms, std::move(*copy) });
  return {};
}

bool Secrets::remove(std::string_view name) {
  name = canonical_name(name);
  auto it = std::find_if(
    records_.begin(), records_.end(), [&](auto& r) { return r.name == name; });
  if (it == records_.end()) {
    return false;
  }
  records_.erase(it);
  return true;
}

std::expected<SecureBuffer, std::string> Secrets::serialize() const {
  size_t size = 1;
  for (const auto& r : records_) {
    size += 1 + r.name.size() + 8 + 4 + r.value.size();
  }
  auto out = SecureBuffer::allocate(size);
  if (!out) {
    return out;
  }
  uint8_t* p = out->data();
  *p++ = kPlainFormat;
  for (const auto& r : records_) {
    *p++ = static_cast<uint8_t>(r.name.size());
    std::memcpy(p, r.name.data(), r.name.size());
    p += r.name.size();
    put_i64(p, r.set_ms);
    p += 8;
    put_u32(p, static_cast<uint32_t>(r.value.size()));
    p += 4;
    if (!r.value.empty()) {
      std::memcpy(p, r.value.data(), r.value.size());
    }
    p += r.value.size();
  }
  return out;
}

std::expected<Secrets, std::string> Secrets::parse(
  std::span<const uint8_t> plain) {
  auto malformed = [](std::string_view why) {
    return std::unexpected(
      fmt::format("the decrypted secrets are malformed ({})", why));
  };
  if (plain.empty() || plain[0] != kPlainFormat) {
    return malformed("unknown format");
  }
  Secrets secrets;
  size_t pos = 1;
  while (pos < plain.size()) {
    size_t name_size = plain[pos++];
    if (plain.size() - pos < name_size + 12) {
      return malformed("truncated record");
    }
    std::string name(reinterpret_cast<const char*>(&plain[pos]), name_size);
    pos += name_size;
    int64_t set_ms = get_i64(&plain[pos]);
    pos += 8;
    size_t value_size = get_u32(&plain[pos]);
    pos += 4;
    if (plain.size() - pos < value_size) {
      return malformed("truncated value");
    }
    if (!check_name(name) || value_size == 0 || value_size > kMaxValueSize ||
        (!secrets.records_.empty() && secrets.records_.back().name >= name)) {
      return malformed("bad record");
    }
    auto value = SecureBuffer::allocate(value_size);
    if (!value) {
      return std::unexpected(value.error());
    }
    std::memcpy(value->data(), &plain[pos], value_size);
    pos += value_size;
    secrets.records_.push_back(
      Record{ std::move(name), set_ms, std::move(*value) });
  }
  return secrets;
}

} // namespace ipfsacc::secrets
