#include "storage/entry.hpp"

#include <cstring>

namespace ipfsacc::storage {

namespace {

// Version 2 added token usage; version 1 records are still read. Version 3
// adds the frames an entry's outputs are kept as on a remote (compression);
// it is written only for an entry that has one, so that every other entry
// stays readable by the versions before it.
constexpr uint8_t kFormatVersionPacked = 3;
constexpr uint8_t kFormatVersion = 2;
constexpr uint8_t kFormatVersionNoUsage = 1;

// Which outputs a version 3 entry has frames of.
constexpr uint8_t kPackedOut = 1;
constexpr uint8_t kPackedErr = 2;

class Writer {
public:
  void u8(uint8_t v) { out_ += static_cast<char>(v); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<uint8_t>(v));
  }
  void i64(int64_t v) { varint(static_cast<uint64_t>(v)); }
  void bytes(const void* data, size_t size) {
    out_.append(static_cast<const char*>(data), size);
  }
  void str(std::string_view s) {
    varint(s.size());
    bytes(s.data(), s.size());
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class Reader {
public:
  explicit Reader(std::string_view in)
    : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  uint8_t u8() {
    if (in_.empty()) {
      ok_ = false;
      return 0;
    }
    auto v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        return v;
      }
    }
    ok_ = false;
    return 0;
  }
  int64_t i64() { return static_cast<int64_t>(varint()); }
  void bytes(void* out, size_t size) {
    if (in_.size() < size) {
      ok_ = false;
      return;
    }
    std::memcpy(out, in_.data(), size);
    in_.remove_prefix(size);
  }
  std::string str() {
    uint64_t size = varint();
    if (in_.size() < size) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, size));
    in_.remove_prefix(size);
    return s;
  }

private:
  std::string_view in_;
  bool ok_ = true;
};

} // namespace

bool segments_fit(const Entry& e) {
  uint64_t out = 0;
  uint64_t err = 0;
  for (const auto& s : e.segments) {
    bool is_out = s.stream == Stream::out;
    uint64_t& at = is_out ? out : err;
    if (s.size > (is_out ? e.stdout_size : e.stderr_size) - at) {
      return false;
    }
    at += s.size;
  }
  return out == e.stdout_size && err == e.stderr_size;
}

std::string encode_entry(const Entry& e) {
  Writer w;
  bool packed = e.stdout_packed || e.stderr_packed;
  w.u8(packed ? kFormatVersionPacked : kFormatVersion);
  w.i64(e.exit_code);
  w.i64(e.created_ms);
  w.i64(e.expires_ms);
  w.varint(e.duration_ms);
  w.varint(e.hits);
  w.i64(e.last_used_ms);
  w.bytes(e.stdout_digest.data(), 32);
  w.varint(e.stdout_size);
  w.bytes(e.stderr_digest.data(), 32);
  w.varint(e.stderr_size);
  w.str(e.tool);
  w.str(e.operation);
  w.str(e.display);
  w.varint(e.segments.size());
  for (const auto& s : e.segments) {
    w.varint((s.size << 1) | (s.stream == Stream::err ? 1 : 0));
  }
  w.varint(e.tags.size());
  for (const auto& tag : e.tags) {
    w.str(tag);
  }
  w.varint(e.usage.size());
  for (const auto& u : e.usage) {
    w.str(u.model);
    w.varint(u.input);
    w.varint(u.output);
  }
  // Shifted by one so that "none" (-1) is stored as 0 (in unsigned
  // arithmetic, which wraps where a signed sum would overflow).
  w.varint(static_cast<uint64_t>(e.reported_cost_micro_usd) + 1);
  if (packed) {
    w.u8((e.stdout_packed ? kPackedOut : 0) |
         (e.stderr_packed ? kPackedErr : 0));
    for (const auto* p : { &e.stdout_packed, &e.stderr_packed }) {
      if (*p) {
        w.bytes((*p)->digest.data(), 32);
        w.varint((*p)->size);
      }
    }
  }
  return w.take();
}

std::optional<Entry> decode_entry(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version = r.u8();
  if (version != kFormatVersionPacked && version != kFormatVersion &&
      version != kFormatVersionNoUsage) {
    return std::nullopt;
  }
  Entry e;
  e.exit_code = static_cast<int32_t>(r.i64());
  e.created_ms = r.i64();
  e.expires_ms = r.i64();
  e.duration_ms = static_cast<uint32_t>(r.varint());
  e.hits = r.varint();
  e.last_used_ms = r.i64();
  r.bytes(e.stdout_digest.data(), 32);
  e.stdout_size = r.varint();
  r.bytes(e.stderr_digest.data(), 32);
  e.stderr_size = r.varint();
  e.tool = r.str();
  e.operation = r.str();
  e.display = r.str();
  uint64_t segments = r.varint();
  for (uint64_t i = 0; i < segments && r.ok(); ++i) {
    uint64_t v = r.varint();
    e.segments.push_back({ (v & 1) ? Stream::err : Stream::out, v >> 1 });
  }
  uint64_t tags = r.varint();
  for (uint64_t i = 0; i < tags && r.ok(); ++i) {
    e.tags.push_back(r.str());
  }
  if (version >= 2) {
    uint64_t models = r.varint();
    for (uint64_t i = 0; i < models && r.ok(); ++i) {
      ModelTokens u;
      u.model = r.str();
      u.input = r.varint();
      u.output = r.varint();
      e.usage.push_back(std::move(u));
    }
    e.reported_cost_micro_usd = static_cast<int64_t>(r.varint() - 1);
  }
  if (version >= kFormatVersionPacked) {
    uint8_t which = r.u8();
    // A frame is named only when it is smaller than its output (the rule a
    // writer keeps it by), and a version 3 entry names at least one.
    if ((which & ~(kPackedOut | kPackedErr)) != 0 || which == 0) {
      return std::nullopt;
    }
    std::pair<uint8_t, std::optional<PackedBlob>*> outputs[] = {
      { kPackedOut, &e.stdout_packed }, { kPackedErr, &e.stderr_packed }
    };
    for (auto [bit, p] : outputs) {
      if (which & bit) {
        PackedBlob packed;
        r.bytes(packed.digest.data(), 32);
        packed.size = r.varint();
        *p = packed;
      }
    }
    if ((e.stdout_packed && (e.stdout_packed->size == 0 ||
                             e.stdout_packed->size >= e.stdout_size)) ||
        (e.stderr_packed && (e.stderr_packed->size == 0 ||
                             e.stderr_packed->size >= e.stderr_size))) {
      return std::nullopt;
    }
  }
  // The segments must account for every byte, or replay would be wrong.
  if (!r.ok() || !r.at_end() || !segments_fit(e)) {
    return std::nullopt;
  }
  return e;
}

} // namespace ipfsacc::storage
