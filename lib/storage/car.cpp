#include "storage/car.hpp"

#include "storage/exchange.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <optional>

namespace ipfsacc::storage {

namespace {

constexpr uint8_t kCidVersion = 0x01;
constexpr uint8_t kSha256 = 0x12;
constexpr uint8_t kSha256Size = 0x20;
// CBOR's tag for an IPLD link.
constexpr uint64_t kLinkTag = 42;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Reads an unsigned LEB128 varint at pos; nullopt when truncated or longer
// than 9 bytes (the multiformats limit).
std::optional<uint64_t> get_varint(std::span<const uint8_t> in, size_t& pos) {
  uint64_t v = 0;
  for (int i = 0; i < 9 && pos < in.size(); ++i) {
    uint8_t b = in[pos++];
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      return v;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// CBOR, the part DAG-CBOR uses for our blocks.

enum Major : uint8_t {
  kUint = 0,
  kNegint = 1,
  kBytes = 2,
  kText = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6,
  kSimple = 7,
};

// Heads use the shortest form, as DAG-CBOR requires.
void head(std::string& out, Major major, uint64_t n) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out += static_cast<char>(m | n);
    return;
  }
  int size = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffu ? 4 : 8;
  out += static_cast<char>(m | (size == 1   ? 24
                                : size == 2 ? 25
                                : size == 4 ? 26
                                            : 27));
  for (int i = size - 1; i >= 0; --i) {
    out += static_cast<char>((n >> (8 * i)) & 0xff);
  }
}

void cbor_int(std::string& out, int64_t v) {
  if (v >= 0) {
    head(out, kUint, static_cast<uint64_t>(v));
  } else {
    head(out, kNegint, static_cast<uint64_t>(-(v + 1)));
  }
}

void cbor_text(std::string& out, std::string_view s) {
  head(out, kText, s.size());
  out += s;
}

void cbor_bytes(std::string& out, std::span<const uint8_t> bytes) {
  head(out, kBytes, bytes.size());
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void cbor_link(std::string& out, const BlockId& id) {
  head(out, kTag, kLinkTag);
  std::string cid = id.bytes();
  // A link's bytes start with the identity multibase prefix 0x00.
  head(out, kBytes, cid.size() + 1);
  out += '\0';
  out += cid;
}

// A map being built: DAG-CBOR sorts keys by length, then bytewise.
class CborMap {
public:
  std::string& add(std::string_view key) {
    fields_.push_back({ std::string(key), {} });
    return fields_.back().second;
  }
  void write(std::string& out) {
    std::sort(fields_.begin(), fields_.end(), [](auto& a, auto& b) {
      return a.first.size() != b.first.size() ? a.first.size() < b.first.size()
                                              : a.first < b.first;
    });
    head(out, kMap, fields_.size());
    for (const auto& [key, value] : fields_) {
      cbor_text(out, key);
      out += value;
    }
  }

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// A decoded CBOR item: enough of CBOR for our own blocks and CAR headers.
struct Item {
  Major major = kUint;
  uint64_t n = 0;             // value, length or tag
  std::string_view bytes;     // text or byte string
  std::vector<Item> children; // array items; map keys and values alternate
  bool negative() const { return major == kNegint; }
};

class CborReader {
public:
  explicit CborReader(std::span<const uint8_t> in)
    : in_(in) {}

  std::optional<Item> item(int depth = 0) {
    if (depth > 16 || pos_ >= in_.size()) {
      return std::nullopt;
    }
    uint8_t first = in_[pos_++];
    Item it;
    it.major = static_cast<Major>(first >> 5);
    uint8_t info = first & 31;
    if (info < 24) {
      it.n = info;
    } else if (info <= 27) {
      size_t size = size_t{ 1 } << (info - 24);
      if (in_.size() - pos_ < size) {
        return std::nullopt;
      }
      for (size_t i = 0; i < size; ++i) {
        it.n = (it.n << 8) | in_[pos_++];
      }
    } else {
      return std::nullopt; // indefinite lengths are not DAG-CBOR
    }
    switch (it.major) {
      case kUint:
      case kNegint:
      case kSimple:
        break;
      case kBytes:
      case kText:
        if (in_.size() - pos_ < it.n) {
          return std::nullopt;
        }
        it.bytes = std::string_view(
          reinterpret_cast<const char*>(in_.data() + pos_), it.n);
        pos_ += it.n;
        break;
      case kArray:
      case kMap: {
        uint64_t count = it.major == kMap ? it.n * 2 : it.n;
        if (count > in_.size() - pos_) {
          return std::nullopt; // every item takes at least one byte
        }
        for (uint64_t i = 0; i < count; ++i) {
          auto child = item(depth + 1);
          if (!child) {
            return std::nullopt;
          }
          it.children.push_back(std::move(*child));
        }
        break;
      }
      case kTag: {
        auto child = item(depth + 1);
        if (!child) {
          return std::nullopt;
        }
        it.children.push_back(std::move(*child));
        break;
      }
    }
    return it;
  }
  bool at_end() const { return pos_ == in_.size(); }

private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

const Item* find(const Item& map, std::string_view key) {
  if (map.major != kMap) {
    return nullptr;
  }
  for (size_t i = 0; i + 1 < map.children.size(); i += 2) {
    if (map.children[i].major == kText && map.children[i].bytes == key) {
      return &map.children[i + 1];
    }
  }
  return nullptr;
}

// Parses a binary CIDv1 with a sha2-256 multihash.
std::optional<BlockId> parse_block_id(std::span<const uint8_t> in,
                                      size_t& pos) {
  auto version = get_varint(in, pos);
  auto codec = version ? get_varint(in, pos) : std::nullopt;
  auto hash = codec ? get_varint(in, pos) : std::nullopt;
  auto size = hash ? get_varint(in, pos) : std::nullopt;
  if (!size || *version != kCidVersion || *hash != kSha256 ||
      *size != kSha256Size || in.size() - pos < 32) {
    return std::nullopt;
  }
  BlockId id;
  id.codec = *codec;
  std::memcpy(id.digest.data(), in.data() + pos, 32);
  pos += 32;
  return id;
}

std::optional<BlockId> link(const Item* item) {
  if (!item || item->major != kTag || item->n != kLinkTag ||
      item->children.size() != 1 || item->children[0].major != kBytes ||
      item->children[0].bytes.empty() || item->children[0].bytes[0] != '\0') {
    return std::nullopt;
  }
  auto bytes = item->children[0].bytes.substr(1);
  std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(bytes.data()),
                              bytes.size());
  size_t pos = 0;
  auto id = parse_block_id(in, pos);
  if (!id || pos != in.size()) {
    return std::nullopt;
  }
  return id;
}

std::optional<uint64_t> uint_field(const Item& map, std::string_view key) {
  const Item* it = find(map, key);
  return it && it->major == kUint ? std::optional(it->n) : std::nullopt;
}

std::optional<int64_t> int_field(const Item& map, std::string_view key) {
  const Item* it = find(map, key);
  if (!it || (it->major != kUint && it->major != kNegint) ||
      it->n > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  auto v = static_cast<int64_t>(it->n);
  return it->negative() ? -v - 1 : v;
}

std::optional<std::string> text_field(const Item& map, std::string_view key) {
  const Item* it = find(map, key);
  return it && it->major == kText ? std::optional(std::string(it->bytes))
                                  : std::nullopt;
}

} // namespace

std::string BlockId::bytes() const {
  std::string out;
  put_varint(out, kCidVersion);
  put_varint(out, codec);
  put_varint(out, kSha256);
  put_varint(out, kSha256Size);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

std::string BlockId::text() const {
  std::string b = bytes();
  return multibase32(
    std::span(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
}

std::string encode_car_entry(const Digest& key,
                             const Entry& e,
                             const secrets::SigningKey* signer) {
  // Unsigned fields are written as unsigned: as a signed integer, a value
  // over 2^63 would turn negative, and the block would not read back.
  CborMap map;
  if (signer) {
    auto signature = sign_exported(key, e, *signer);
    cbor_bytes(map.add("signer"), signature.signer);
    cbor_bytes(map.add("signature"), signature.signature);
  }
  cbor_text(map.add("format"), kCarEntryFormat);
  cbor_text(map.add("key"), cid_string(key));
  cbor_text(map.add("tool"), e.tool);
  cbor_text(map.add("operation"), e.operation);
  cbor_text(map.add("command"), e.display);
  cbor_int(map.add("exit_code"), e.exit_code);
  cbor_int(map.add("created_ms"), e.created_ms);
  cbor_int(map.add("expires_ms"), e.expires_ms);
  cbor_int(map.add("last_used_ms"), e.last_used_ms);
  cbor_int(map.add("duration_ms"), e.duration_ms);
  head(map.add("hits"), kUint, e.hits);
  cbor_link(map.add("stdout"), { kCodecRaw, e.stdout_digest });
  head(map.add("stdout_size"), kUint, e.stdout_size);
  cbor_link(map.add("stderr"), { kCodecRaw, e.stderr_digest });
  head(map.add("stderr_size"), kUint, e.stderr_size);
  auto& segments = map.add("segments");
  head(segments, kArray, e.segments.size());
  for (const auto& s : e.segments) {
    head(segments, kArray, 2);
    cbor_text(segments, s.stream == Stream::out ? "out" : "err");
    head(segments, kUint, s.size);
  }
  auto& tags = map.add("tags");
  head(tags, kArray, e.tags.size());
  for (const auto& tag : e.tags) {
    cbor_text(tags, tag);
  }
  if (!e.usage.empty()) {
    auto& usage = map.add("usage");
    head(usage, kArray, e.usage.size());
    for (const auto& u : e.usage) {
      CborMap m;
      cbor_text(m.add("model"), u.model);
      head(m.add("input_tokens"), kUint, u.input);
      head(m.add("output_tokens"), kUint, u.output);
      m.write(usage);
    }
  }
  if (e.reported_cost_micro_usd >= 0) {
    cbor_int(map.add("reported_cost_micro_usd"), e.reported_cost_micro_usd);
  }
  std::string out;
  map.write(out);
  return out;
}

std::expected<CarEntry, std::string> decode_car_entry(std::string_view block) {
  CborReader reader(
    std::span(reinterpret_cast<const uint8_t*>(block.data()), block.size()));
  auto root = reader.item();
  if (!root || !reader.at_end() || root->major != kMap) {
    return std::unexpected("not a CBOR map");
  }
  auto format = text_field(*root, "format");
  if (!format || *format != kCarEntryFormat) {
    return std::unexpected(
      fmt::format("not an {} block (\"format\")", kCarEntryFormat));
  }
  CarEntry out;
  auto key = text_field(*root, "key");
  auto parsed = key ? parse_cid(*key) : std::nullopt;
  if (!parsed) {
    return std::unexpected("\"key\" is not a CID");
  }
  out.key = *parsed;
  auto& e = out.entry;
  auto tool = text_field(*root, "tool");
  auto operation = text_field(*root, "operation");
  auto command = text_field(*root, "command");
  auto exit_code = int_field(*root, "exit_code");
  auto created = int_field(*root, "created_ms");
  auto expires = int_field(*root, "expires_ms");
  auto last_used = int_field(*root, "last_used_ms");
  auto duration = uint_field(*root, "duration_ms");
  auto hits = uint_field(*root, "hits");
  auto stdout_id = link(find(*root, "stdout"));
  auto stderr_id = link(find(*root, "stderr"));
  auto stdout_size = uint_field(*root, "stdout_size");
  auto stderr_size = uint_field(*root, "stderr_size");
  if (!tool || !operation || !command || !exit_code || !created || !expires ||
      !last_used || !duration || !hits || !stdout_id || !stderr_id ||
      !stdout_size || !stderr_size || stdout_id->codec != kCodecRaw ||
      stderr_id->codec != kCodecRaw) {
    return std::unexpected("a field is missing or has the wrong type");
  }
  e.tool = *tool;
  e.operation = *operation;
  e.display = *command;
  e.exit_code = static_cast<int32_t>(*exit_code);
  e.created_ms = *created;
  e.expires_ms = *expires;
  e.last_used_ms = *last_used;
  e.duration_ms = static_cast<uint32_t>(*duration);
  e.hits = *hits;
  e.stdout_digest = stdout_id->digest;
  e.stdout_size = *stdout_size;
  e.stderr_digest = stderr_id->digest;
  e.stderr_size = *stderr_size;
  const Item* segments = find(*root, "segments");
  if (!segments || segments->major != kArray) {
    return std::unexpected("missing \"segments\"");
  }
  for (const auto& s : segments->children) {
    if (s.major != kArray || s.children.size() != 2 ||
        s.children[0].major != kText || s.children[1].major != kUint ||
        (s.children[0].bytes != "out" && s.children[0].bytes != "err")) {
      return std::unexpected("a segment is not [\"out\"|\"err\", size]");
    }
    bool is_out = s.children[0].bytes == "out";
    e.segments.push_back(
      { is_out ? Stream::out : Stream::err, s.children[1].n });
  }
  if (!segments_fit(e)) {
    return std::unexpected("the segments do not add up to the outputs");
  }
  const Item* tags = find(*root, "tags");
  if (!tags || tags->major != kArray) {
    return std::unexpected("missing \"tags\"");
  }
  for (const auto& t : tags->children) {
    if (t.major != kText) {
      return std::unexpected("a tag is not a string");
    }
    e.tags.emplace_back(t.bytes);
  }
  if (const Item* usage = find(*root, "usage")) {
    if (usage->major != kArray) {
      return std::unexpected("\"usage\" is not a list");
    }
    for (const auto& u : usage->children) {
      auto model = text_field(u, "model");
      auto input = uint_field(u, "input_tokens");
      auto output = uint_field(u, "output_tokens");
      if (!model || !input || !output) {
        return std::unexpected(
          "a usage item is not {model, input_tokens, output_tokens}");
      }
      e.usage.push_back({ *model, *input, *output });
    }
  }
  if (auto cost = int_field(*root, "reported_cost_micro_usd")) {
    e.reported_cost_micro_usd = *cost;
  }
  const Item* signer = find(*root, "signer");
  const Item* signature = find(*root, "signature");
  if (signer || signature) {
    if (!signer || !signature || signer->major != kBytes ||
        signature->major != kBytes || signer->bytes.size() != 32 ||
        signature->bytes.size() != 64) {
      return std::unexpected(
        "\"signer\" and \"signature\" are not an Ed25519 key and signature");
    }
    auto& s = out.signature.emplace();
    std::memcpy(s.signer.data(), signer->bytes.data(), 32);
    std::memcpy(s.signature.data(), signature->bytes.data(), 64);
  }
  return out;
}

bool CarWriter::header(std::span<const BlockId> roots) {
  CborMap map;
  auto& list = map.add("roots");
  head(list, kArray, roots.size());
  for (const auto& root : roots) {
    cbor_link(list, root);
  }
  cbor_int(map.add("version"), 1);
  std::string body;
  map.write(body);
  std::string out;
  put_varint(out, body.size());
  out += body;
  return sink_(out);
}

bool CarWriter::block(const BlockId& id, std::span<const uint8_t> data) {
  std::string cid = id.bytes();
  std::string prefix;
  put_varint(prefix, cid.size() + data.size());
  prefix += cid;
  return sink_(prefix) &&
         sink_(std::string_view(reinterpret_cast<const char*>(data.data()),
                                data.size()));
}

std::expected<CarContents, std::string> read_car(
  std::span<const uint8_t> archive) {
  size_t pos = 0;
  auto header_size = get_varint(archive, pos);
  if (!header_size || *header_size == 0) {
    return std::unexpected("not a CAR archive (no header)");
  }
  if (*header_size > archive.size() - pos) {
    return std::unexpected("truncated CAR archive (the header is cut short)");
  }
  CborReader reader(archive.subspan(pos, *header_size));
  auto header = reader.item();
  if (!header || !reader.at_end() || header->major != kMap) {
    return std::unexpected("not a CAR archive (the header is not a map)");
  }
  auto version = uint_field(*header, "version");
  if (!version || *version != 1) {
    return std::unexpected("not a CARv1 archive (\"version\" is not 1)");
  }
  CarContents contents;
  const Item* roots = find(*header, "roots");
  if (!roots || roots->major != kArray) {
    return std::unexpected("the CAR header has no \"roots\" list");
  }
  for (const auto& r : roots->children) {
    auto id = link(&r);
    if (!id) {
      return std::unexpected("a root of the CAR header is not a CID we read");
    }
    contents.roots.push_back(*id);
  }
  pos += *header_size;
  size_t number = 0;
  while (pos < archive.size()) {
    size_t start = pos;
    ++number;
    auto size = get_varint(archive, pos);
    if (!size || *size > archive.size() - pos) {
      return std::unexpected(
        fmt::format("block {} at byte {}: truncated", number, start));
    }
    auto section = archive.subspan(pos, *size);
    pos += *size;
    size_t cid_end = 0;
    auto id = parse_block_id(section, cid_end);
    if (!id) {
      contents.rejected.push_back(
        fmt::format("block {} at byte {}: not a CIDv1 with a sha2-256 hash",
                    number,
                    start));
      continue;
    }
    auto data = section.subspan(cid_end);
    if (sha256(data) != id->digest) {
      contents.rejected.push_back(
        fmt::format("block {} at byte {} ({}): its bytes do not hash to its "
                    "CID",
                    number,
                    start,
                    id->text()));
      continue;
    }
    contents.blocks.push_back({ *id, data });
  }
  return contents;
}

bool looks_like_car(std::span<const uint8_t> start) {
  size_t pos = 0;
  auto size = get_varint(start, pos);
  // A CBOR map of one to three entries ("roots", "version").
  return size && *size > 0 && pos < start.size() &&
         (start[pos] & 0xe0) == (kMap << 5) && (start[pos] & 31) >= 1 &&
         (start[pos] & 31) <= 3;
}

} // namespace ipfsacc::storage
