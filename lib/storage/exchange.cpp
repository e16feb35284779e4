#include "storage/exchange.hpp"

#include "util/base64.hpp"
#include "util/text.hpp"

#include <charconv>
#include <cstdlib>
#include <deque>
#include <fmt/format.h>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

namespace ipfsacc::storage {

namespace {

using json = nlohmann::json;

// How deeply a line may nest arrays and objects. An export line nests three
// levels; the bound keeps reading a hostile line from exhausting the stack.
constexpr int kMaxLineDepth = 32;

// Appends text as a JSON string the way nlohmann's dump writes it (no
// ASCII escaping; a byte that is not UTF-8 becomes U+FFFD).
void append_json_string(std::string& line, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  line += '"';
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      uint32_t cp;
      size_t n = util::utf8_sequence(text, i, cp);
      if (n == 0) {
        line += "\xEF\xBF\xBD";
        ++i;
      } else {
        line.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        line += "\\\"";
        break;
      case '\\':
        line += "\\\\";
        break;
      case '\b':
        line += "\\b";
        break;
      case '\f':
        line += "\\f";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (c < 0x20) {
          line += "\\u00";
          line += kHex[c >> 4];
          line += kHex[c & 15];
        } else {
          line += static_cast<char>(c);
        }
    }
    ++i;
  }
  line += '"';
}

// text as a line reads it back: append_json_string writes a byte that is
// not UTF-8 as U+FFFD.
std::string as_read_back(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t n = static_cast<unsigned char>(text[i]) < 0x80
                 ? 1
                 : util::utf8_sequence(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// The entry as its export line reads back: what a line's signature covers.
Entry read_back(const Entry& entry) {
  Entry e = entry;
  e.tool = as_read_back(e.tool);
  e.operation = as_read_back(e.operation);
  e.display = as_read_back(e.display);
  for (auto& tag : e.tags) {
    tag = as_read_back(tag);
  }
  for (auto& u : e.usage) {
    u.model = as_read_back(u.model);
  }
  return e;
}

void append_output(std::string& line,
                   std::string_view name,
                   const Digest& digest,
                   std::span<const uint8_t> bytes) {
  // Base64 needs no JSON escaping: it is written straight into the line.
  line += fmt::format(R"("{}":{{"cid":"{}","size":{},"base64":")",
                      name,
                      cid_string(digest),
                      bytes.size());
  util::base64_append(line, bytes);
  line += "\"}";
}

// An export line's JSON, read without building a library DOM: strings are
// views into the line, so the long base64 outputs are never copied before
// they are decoded. Reading the lines was most of an import's time with
// nlohmann's DOM.
struct Json {
  enum class Kind : uint8_t {
    null,
    boolean,
    integer,  // negative
    uinteger, // zero or positive
    floating,
    string,
    array,
    object
  };
  Kind kind = Kind::null;
  int64_t integer = 0;
  uint64_t uinteger = 0;
  std::string_view string;
  std::vector<Json> items;            // array items; object member values
  std::vector<std::string_view> keys; // object member names

  bool is_string() const { return kind == Kind::string; }
  bool is_unsigned() const { return kind == Kind::uinteger; }
  bool is_integer() const {
    return kind == Kind::integer || kind == Kind::uinteger;
  }
  // The member's value (the last one of that name, as JSON libraries keep),
  // or nullptr.
  const Json* find(std::string_view name) const {
    for (size_t i = keys.size(); i-- > 0;) {
      if (keys[i] == name) {
        return &items[i];
      }
    }
    return nullptr;
  }
};

// Reads the strict subset of JSON our writer produces (ASCII strings, simple
// escapes, integers) straight from the line. Anything else, valid or not,
// returns nullopt, and the line goes to nlohmann, which accepts and rejects
// exactly as the JSON standard says.
class FastReader {
public:
  FastReader(std::string_view text, std::deque<std::string>& owned)
    : text_(text)
    , owned_(owned) {}

  std::optional<Json> document() {
    Json value;
    if (!read(value, 0)) {
      return std::nullopt;
    }
    skip_space();
    if (at_ != text_.size()) {
      return std::nullopt;
    }
    return value;
  }

private:
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                  text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool read(Json& value, int depth) {
    skip_space();
    if (at_ >= text_.size() || depth > kMaxLineDepth) {
      return false;
    }
    char c = text_[at_];
    if (c == '"') {
      value.kind = Json::Kind::string;
      return read_string(value.string);
    }
    if (c == '{') {
      ++at_;
      value.kind = Json::Kind::object;
      if (eat('}')) {
        return true;
      }
      do {
        std::string_view key;
        skip_space();
        if (at_ >= text_.size() || text_[at_] != '"' || !read_string(key) ||
            !eat(':')) {
          return false;
        }
        value.keys.push_back(key);
        if (!read(value.items.emplace_back(), depth + 1)) {
          return false;
        }
      } while (eat(','));
      return eat('}');
    }
    if (c == '[') {
      ++at_;
      value.kind = Json::Kind::array;
      if (eat(']')) {
        return true;
      }
      do {
        if (!read(value.items.emplace_back(), depth + 1)) {
          return false;
        }
      } while (eat(','));
      return eat(']');
    }
    for (auto [word, kind, truth] :
         { std::tuple{ "true", Json::Kind::boolean, 1 },
           std::tuple{ "false", Json::Kind::boolean, 0 },
           std::tuple{ "null", Json::Kind::null, 0 } }) {
      if (text_.substr(at_).starts_with(word)) {
        at_ += std::string_view(word).size();
        value.kind = kind;
        value.uinteger = static_cast<uint64_t>(truth);
        return true;
      }
    }
    return read_integer(value);
  }
  bool read_string(std::string_view& out) {
    size_t start = ++at_;
    size_t end = start;
    while (end < text_.size() && text_[end] != '"' && text_[end] != '\\') {
      auto byte = static_cast<unsigned char>(text_[end]);
      if (byte < 0x20 || byte >= 0x80) {
        return false; // Control bytes and UTF-8: nlohmann validates them.
      }
      ++end;
    }
    if (end >= text_.size()) {
      return false;
    }
    if (text_[end] == '"') {
      out = text_.substr(start, end - start);
      at_ = end + 1;
      return true;
    }
    // Escapes: the value is built in owned storage.
    auto& value = owned_.emplace_back(text_.substr(start, end - start));
    at_ = end;
    while (at_ < text_.size()) {
      char c = text_[at_++];
      if (c == '"') {
        out = value;
        return true;
      }
      auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte >= 0x80) {
        return false;
      }
      if (c != '\\') {
        value += c;
        continue;
      }
      if (at_ >= text_.size()) {
        return false;
      }
      switch (text_[at_++]) {
        case '"':
          value += '"';
          break;
        case '\\':
          value += '\\';
          break;
        case '/':
          value += '/';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        default:
          return false; // \u…: nlohmann decodes it.
      }
    }
    return false;
  }
  bool read_integer(Json& value) {
    bool negative = at_ < text_.size() && text_[at_] == '-';
    size_t start = at_ + (negative ? 1 : 0);
    size_t end = start;
    while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') {
      ++end;
    }
    if (end == start || (text_[start] == '0' && end - start > 1) ||
        (end < text_.size() &&
         (text_[end] == '.' || text_[end] == 'e' || text_[end] == 'E'))) {
      return false; // Not an integer as JSON writes one: nlohmann decides.
    }
    uint64_t magnitude = 0;
    auto [ptr, ec] =
      std::from_chars(text_.data() + start, text_.data() + end, magnitude);
    if (ec != std::errc() || ptr != text_.data() + end ||
        (negative && magnitude > uint64_t(INT64_MAX))) {
      return false;
    }
    at_ = end;
    if (negative && magnitude != 0) {
      value.kind = Json::Kind::integer;
      value.integer = -static_cast<int64_t>(magnitude);
    } else {
      value.kind = Json::Kind::uinteger;
      value.uinteger = magnitude;
    }
    return true;
  }

  std::string_view text_;
  size_t at_ = 0;
  std::deque<std::string>& owned_;
};

// The same value from nlohmann's DOM (for lines the fast reader leaves to
// it); strings are kept in owned.
Json from_nlohmann(const nlohmann::json& j, std::deque<std::string>& owned) {
  Json value;
  using Type = nlohmann::json::value_t;
  switch (j.type()) {
    case Type::null:
    case Type::discarded:
      break;
    case Type::boolean:
      value.kind = Json::Kind::boolean;
      value.uinteger = j.get<bool>() ? 1 : 0;
      break;
    case Type::number_integer:
      value.kind =
        j.get<int64_t>() < 0 ? Json::Kind::integer : Json::Kind::uinteger;
      value.integer = j.get<int64_t>();
      value.uinteger = static_cast<uint64_t>(value.integer);
      break;
    case Type::number_unsigned:
      value.kind = Json::Kind::uinteger;
      value.uinteger = j.get<uint64_t>();
      break;
    case Type::number_float:
      value.kind = Json::Kind::floating;
      break;
    case Type::string:
    case Type::binary:
      value.kind = Json::Kind::string;
      value.string = owned.emplace_back(j.is_string() ? j.get<std::string>()
                                                      : std::string());
      break;
    case Type::array:
      value.kind = Json::Kind::array;
      for (const auto& item : j) {
        value.items.push_back(from_nlohmann(item, owned));
      }
      break;
    case Type::object:
      value.kind = Json::Kind::object;
      for (const auto& [key, item] : j.items()) {
        value.keys.push_back(owned.emplace_back(key));
        value.items.push_back(from_nlohmann(item, owned));
      }
      break;
  }
  return value;
}

// The value of a field of the expected type, or a message naming it.
template<typename T>
std::expected<T, std::string> field(const Json& object, std::string_view name) {
  const Json* it = object.find(name);
  if (!it) {
    return std::unexpected(fmt::format("missing \"{}\"", name));
  }
  bool ok;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_unsigned_v<T>) {
    ok = it->is_unsigned();
  } else {
    ok = it->is_integer();
  }
  if (!ok) {
    return std::unexpected(fmt::format("\"{}\" has the wrong type", name));
  }
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(it->string);
  } else if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(it->uinteger);
  } else {
    return it->kind == Json::Kind::integer ? static_cast<T>(it->integer)
                                           : static_cast<T>(it->uinteger);
  }
}

// Decodes and verifies one output object.
std::expected<void, std::string> read_output(const Json& line,
                                             std::string_view name,
                                             Digest& digest,
                                             uint64_t& size,
                                             std::string& bytes) {
  const Json* it = line.find(name);
  if (!it || it->kind != Json::Kind::object) {
    return std::unexpected(fmt::format("missing \"{}\"", name));
  }
  auto cid = field<std::string>(*it, "cid");
  auto declared = field<uint64_t>(*it, "size");
  const Json* b64 = it->find("base64");
  if (!cid || !declared || !b64 || !b64->is_string()) {
    return std::unexpected(fmt::format(
      "{}: {}",
      name,
      !cid ? cid.error()
           : (!declared ? declared.error() : "missing \"base64\"")));
  }
  auto parsed = parse_cid(*cid);
  if (!parsed) {
    return std::unexpected(fmt::format("{}: '{}' is not a CID", name, *cid));
  }
  if (!util::base64_decode(b64->string, bytes)) {
    return std::unexpected(fmt::format("{}: invalid base64", name));
  }
  if (bytes.size() != *declared) {
    return std::unexpected(fmt::format(
      "{}: {} bytes, but the line says {}", name, bytes.size(), *declared));
  }
  if (sha256(bytes) != *parsed) {
    return std::unexpected(
      fmt::format("{}: the bytes do not match their CID {}", name, *cid));
  }
  digest = *parsed;
  size = bytes.size();
  return {};
}

} // namespace

secrets::EntrySignature sign_exported(const Digest& key,
                                      const Entry& entry,
                                      const secrets::SigningKey& signer) {
  return secrets::sign_entry(
    secrets::SignedFor::export_file, key, encode_entry(entry), signer);
}

std::expected<void, secrets::SignatureProblem> check_exported_signature(
  const ExportedEntry& exported,
  std::span<const secrets::PublicKey> trusted) {
  return secrets::check_entry_signature(secrets::SignedFor::export_file,
                                        exported.key,
                                        encode_entry(exported.entry),
                                        exported.signature,
                                        trusted);
}

void append_export_line(std::string& line,
                        const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err,
                        const secrets::SigningKey* signer) {
  // Written field by field, in the sorted order a JSON library gives them
  // (building and dumping a DOM per entry was a fifth of an export); the
  // outputs go last, so a reader who looks at the start of a line sees the
  // metadata.
  line.reserve(line.size() + (out.size() + err.size()) * 4 / 3 +
               entry.display.size() + 400);
  auto number = [&](std::string_view name, auto value) {
    fmt::format_to(std::back_inserter(line), R"(,"{}":{})", name, value);
  };
  line += R"({"command":)";
  append_json_string(line, entry.display);
  number("created_ms", entry.created_ms);
  number("duration_ms", entry.duration_ms);
  number("exit_code", entry.exit_code);
  number("expires_ms", entry.expires_ms);
  line += R"(,"format":")";
  line += kExportFormat;
  line += '"';
  number("hits", entry.hits);
  line += R"(,"key":")";
  line += cid_string(key);
  line += '"';
  number("last_used_ms", entry.last_used_ms);
  line += R"(,"operation":)";
  append_json_string(line, entry.operation);
  if (entry.reported_cost_micro_usd >= 0) {
    number("reported_cost_micro_usd", entry.reported_cost_micro_usd);
  }
  line += R"(,"segments":[)";
  for (size_t i = 0; i < entry.segments.size(); ++i) {
    const auto& segment = entry.segments[i];
    fmt::format_to(std::back_inserter(line),
                   R"({}["{}",{}])",
                   i ? "," : "",
                   segment.stream == Stream::out ? "out" : "err",
                   segment.size);
  }
  line += ']';
  if (signer) {
    auto signature = sign_exported(key, read_back(entry), *signer);
    line += R"(,"signature":")";
    line += to_hex(signature.signature);
    line += R"(","signer":")";
    line += to_hex(signature.signer);
    line += '"';
  }
  line += R"(,"tags":[)";
  for (size_t i = 0; i < entry.tags.size(); ++i) {
    if (i) {
      line += ',';
    }
    append_json_string(line, entry.tags[i]);
  }
  line += R"(],"tool":)";
  append_json_string(line, entry.tool);
  if (!entry.usage.empty()) {
    line += R"(,"usage":[)";
    for (size_t i = 0; i < entry.usage.size(); ++i) {
      const auto& u = entry.usage[i];
      fmt::format_to(std::back_inserter(line),
                     R"({}{{"input_tokens":{},"model":)",
                     i ? "," : "",
                     u.input);
      append_json_string(line, u.model);
      fmt::format_to(
        std::back_inserter(line), R"(,"output_tokens":{}}})", u.output);
    }
    line += ']';
  }
  line += ',';
  append_output(line, "stdout", entry.stdout_digest, out);
  line += ',';
  append_output(line, "stderr", entry.stderr_digest, err);
  line += '}';
}

std::string export_line(const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err,
                        const secrets::SigningKey* signer) {
  std::string line;
  append_export_line(line, key, entry, out, err, signer);
  return line;
}

std::expected<ExportedEntry, std::string> parse_export_line(
  std::string_view line) {
  std::deque<std::string> owned;
  std::optional<Json> read = FastReader(line, owned).document();
  if (!read) {
    // nlohmann parses without recursion; the values deeper than the bound
    // are dropped as they are read, so from_nlohmann never goes deep.
    bool too_deep = false;
    json dom = json::parse(
      line,
      [&](int depth, json::parse_event_t event, json&) {
        if ((event == json::parse_event_t::object_start ||
             event == json::parse_event_t::array_start) &&
            depth >= kMaxLineDepth) {
          too_deep = true;
          return false;
        }
        return true;
      },
      false);
    if (too_deep) {
      return std::unexpected(
        fmt::format("nested too deeply (more than {} levels)", kMaxLineDepth));
    }
    if (dom.is_discarded() || !dom.is_object()) {
      return std::unexpected("not a JSON object");
    }
    read = from_nlohmann(dom, owned);
  }
  const Json& j = *read;
  if (j.kind != Json::Kind::object) {
    return std::unexpected("not a JSON object");
  }
  auto format = field<std::string>(j, "format");
  if (!format || *format != kExportFormat) {
    return std::unexpected(fmt::format(
      "not an {} line (\"format\" is missing or different)", kExportFormat));
  }
  ExportedEntry out;
  auto key = field<std::string>(j, "key");
  if (!key) {
    return std::unexpected(key.error());
  }
  auto parsed_key = parse_cid(*key);
  if (!parsed_key) {
    return std::unexpected(fmt::format("key '{}' is not a CID", *key));
  }
  out.key = *parsed_key;

  auto& e = out.entry;
  auto tool = field<std::string>(j, "tool");
  auto operation = field<std::string>(j, "operation");
  auto command = field<std::string>(j, "command");
  auto exit_code = field<int64_t>(j, "exit_code");
  auto created = field<int64_t>(j, "created_ms");
  auto expires = field<int64_t>(j, "expires_ms");
  auto last_used = field<int64_t>(j, "last_used_ms");
  auto duration = field<uint64_t>(j, "duration_ms");
  auto hits = field<uint64_t>(j, "hits");
  for (const auto* problem : { tool ? nullptr : &tool.error(),
                               operation ? nullptr : &operation.error(),
                               command ? nullptr : &command.error(),
                               exit_code ? nullptr : &exit_code.error(),
                               created ? nullptr : &created.error(),
                               expires ? nullptr : &expires.error(),
                               last_used ? nullptr : &last_used.error(),
                               duration ? nullptr : &duration.error(),
                               hits ? nullptr : &hits.error() }) {
    if (problem) {
      return std::unexpected(*problem);
    }
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

  const Json* segments = j.find("segments");
  if (!segments || segments->kind != Json::Kind::array) {
    return std::unexpected("missing \"segments\"");
  }
  for (const auto& s : segments->items) {
    if (s.kind != Json::Kind::array || s.items.size() != 2 ||
        !s.items[0].is_string() || !s.items[1].is_unsigned() ||
        (s.items[0].string != "out" && s.items[0].string != "err")) {
      return std::unexpected("a segment is not [\"out\"|\"err\", size]");
    }
    e.segments.push_back(
      { s.items[0].string == "out" ? Stream::out : Stream::err,
        s.items[1].uinteger });
  }
  const Json* tags = j.find("tags");
  if (!tags || tags->kind != Json::Kind::array) {
    return std::unexpected("missing \"tags\"");
  }
  for (const auto& t : tags->items) {
    if (!t.is_string()) {
      return std::unexpected("a tag is not a string");
    }
    e.tags.emplace_back(t.string);
  }
  // Token usage (optional: only LLM answers carry it).
  if (const Json* usage = j.find("usage")) {
    if (usage->kind != Json::Kind::array) {
      return std::unexpected("\"usage\" is not a list");
    }
    for (const auto& u : usage->items) {
      auto model = field<std::string>(u, "model");
      auto input = field<uint64_t>(u, "input_tokens");
      auto output = field<uint64_t>(u, "output_tokens");
      if (!model || !input || !output) {
        return std::unexpected(
          "a usage item is not {model, input_tokens, output_tokens}");
      }
      e.usage.push_back({ *model, *input, *output });
    }
  }
  if (j.find("reported_cost_micro_usd")) {
    auto cost = field<uint64_t>(j, "reported_cost_micro_usd");
    if (!cost) {
      return std::unexpected(cost.error());
    }
    if (*cost > uint64_t(INT64_MAX)) {
      return std::unexpected("\"reported_cost_micro_usd\" is out of range");
    }
    e.reported_cost_micro_usd = static_cast<int64_t>(*cost);
  }

  // The signature (optional: only a machine with the signing key signs).
  const Json* signature = j.find("signature");
  const Json* signer = j.find("signer");
  if (signature || signer) {
    if (!signature || !signer || !signature->is_string() ||
        !signer->is_string()) {
      return std::unexpected(
        "\"signature\" and \"signer\" are not both there, as strings");
    }
    out.signature =
      secrets::entry_signature_from_hex(signer->string, signature->string);
    if (!out.signature) {
      return std::unexpected(
        "\"signer\" or \"signature\" is not an Ed25519 key or signature in "
        "hex");
    }
  }

  if (auto r =
        read_output(j, "stdout", e.stdout_digest, e.stdout_size, out.out);
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r =
        read_output(j, "stderr", e.stderr_digest, e.stderr_size, out.err);
      !r) {
    return std::unexpected(r.error());
  }
  if (!segments_fit(e)) {
    return std::unexpected("the segments do not add up to the outputs");
  }
  return out;
}

} // namespace ipfsacc::storage
