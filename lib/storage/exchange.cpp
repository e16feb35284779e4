#include "storage/exchange.hpp"

#include "util/base64.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipfsacc::storage {

namespace {

using json = nlohmann::json;

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

// Outputs travel as long base64 strings, and running them through the JSON
// lexer one character at a time was most of the cost of an import. Base64
// needs no escaping, so each `"base64":"…"` value is cut out up to its
// closing quote and the parser sees a placeholder, "#N", that no base64
// text can be. (In valid JSON that byte sequence can only be such a key and
// value: a quote inside a string is always escaped.)
struct CutLine {
  std::string json;
  std::vector<std::string_view> base64;
};

CutLine cut_base64(std::string_view line) {
  constexpr std::string_view kKey = R"("base64":")";
  CutLine cut;
  size_t done = 0;
  size_t at;
  while ((at = line.find(kKey, done)) != std::string_view::npos) {
    size_t start = at + kKey.size();
    size_t end = line.find('"', start);
    if (end == std::string_view::npos) {
      break;
    }
    auto value = line.substr(start, end - start);
    if (value.find('\\') != std::string_view::npos) {
      break; // Escapes: not our writer's base64; the parser decides.
    }
    cut.json.append(line.substr(done, start - done));
    cut.json += fmt::format("#{}", cut.base64.size());
    cut.base64.push_back(value);
    done = end;
  }
  cut.json.append(line.substr(done));
  return cut;
}

// The value of a field of the expected type, or a message naming it.
template<typename T>
std::expected<T, std::string> field(const json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end()) {
    return std::unexpected(fmt::format("missing \"{}\"", name));
  }
  bool ok;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_unsigned_v<T>) {
    ok = it->is_number_unsigned();
  } else {
    ok = it->is_number_integer();
  }
  if (!ok) {
    return std::unexpected(fmt::format("\"{}\" has the wrong type", name));
  }
  return it->template get<T>();
}

// Decodes and verifies one output object.
std::expected<void, std::string> read_output(const json& line,
                                             const CutLine& cut,
                                             std::string_view name,
                                             Digest& digest,
                                             uint64_t& size,
                                             std::string& bytes) {
  auto it = line.find(name);
  if (it == line.end() || !it->is_object()) {
    return std::unexpected(fmt::format("missing \"{}\"", name));
  }
  auto cid = field<std::string>(*it, "cid");
  auto declared = field<uint64_t>(*it, "size");
  auto b64 = it->find("base64");
  if (!cid || !declared || b64 == it->end() || !b64->is_string()) {
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
  std::string_view text = b64->get_ref<const std::string&>();
  if (text.starts_with('#')) {
    size_t index = std::strtoul(text.data() + 1, nullptr, 10);
    if (index >= cut.base64.size()) {
      return std::unexpected(fmt::format("{}: invalid base64", name));
    }
    text = cut.base64[index];
  }
  if (!util::base64_decode(text, bytes)) {
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

std::string export_line(const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err) {
  json segments = json::array();
  for (const auto& s : entry.segments) {
    segments.push_back(
      json::array({ s.stream == Stream::out ? "out" : "err", s.size }));
  }
  json meta = {
    { "format", kExportFormat },
    { "key", cid_string(key) },
    { "tool", entry.tool },
    { "operation", entry.operation },
    { "command", entry.display },
    { "exit_code", entry.exit_code },
    { "created_ms", entry.created_ms },
    { "expires_ms", entry.expires_ms },
    { "last_used_ms", entry.last_used_ms },
    { "duration_ms", entry.duration_ms },
    { "hits", entry.hits },
    { "segments", std::move(segments) },
    { "tags", entry.tags },
  };
  if (!entry.usage.empty()) {
    json usage = json::array();
    for (const auto& u : entry.usage) {
      usage.push_back({ { "model", u.model },
                        { "input_tokens", u.input },
                        { "output_tokens", u.output } });
    }
    meta["usage"] = std::move(usage);
  }
  if (entry.reported_cost_micro_usd >= 0) {
    meta["reported_cost_micro_usd"] = entry.reported_cost_micro_usd;
  }
  // nlohmann sorts keys; the outputs go last, so a reader who looks at the
  // start of a line sees the metadata.
  std::string line = meta.dump(-1, ' ', false, json::error_handler_t::replace);
  line.pop_back();
  line.reserve(line.size() + (out.size() + err.size()) * 4 / 3 + 300);
  line += ',';
  append_output(line, "stdout", entry.stdout_digest, out);
  line += ',';
  append_output(line, "stderr", entry.stderr_digest, err);
  line += '}';
  return line;
}

std::expected<ExportedEntry, std::string> parse_export_line(
  std::string_view line) {
  auto cut = cut_base64(line);
  json j = json::parse(cut.json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
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

  auto segments = j.find("segments");
  if (segments == j.end() || !segments->is_array()) {
    return std::unexpected("missing \"segments\"");
  }
  for (const auto& s : *segments) {
    if (!s.is_array() || s.size() != 2 || !s[0].is_string() ||
        !s[1].is_number_unsigned() || (s[0] != "out" && s[0] != "err")) {
      return std::unexpected("a segment is not [\"out\"|\"err\", size]");
    }
    e.segments.push_back(
      { s[0] == "out" ? Stream::out : Stream::err, s[1].get<uint64_t>() });
  }
  auto tags = j.find("tags");
  if (tags == j.end() || !tags->is_array()) {
    return std::unexpected("missing \"tags\"");
  }
  for (const auto& t : *tags) {
    if (!t.is_string()) {
      return std::unexpected("a tag is not a string");
    }
    e.tags.push_back(t.get<std::string>());
  }
  // Token usage (optional: only LLM answers carry it).
  if (auto usage = j.find("usage"); usage != j.end()) {
    if (!usage->is_array()) {
      return std::unexpected("\"usage\" is not a list");
    }
    for (const auto& u : *usage) {
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
  if (j.contains("reported_cost_micro_usd")) {
    auto cost = field<uint64_t>(j, "reported_cost_micro_usd");
    if (!cost) {
      return std::unexpected(cost.error());
    }
    e.reported_cost_micro_usd = static_cast<int64_t>(*cost);
  }

  if (auto r =
        read_output(j, cut, "stdout", e.stdout_digest, e.stdout_size, out.out);
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r =
        read_output(j, cut, "stderr", e.stderr_digest, e.stderr_size, out.err);
      !r) {
    return std::unexpected(r.error());
  }
  uint64_t out_total = 0;
  uint64_t err_total = 0;
  for (const auto& s : e.segments) {
    (s.stream == Stream::out ? out_total : err_total) += s.size;
  }
  if (out_total != e.stdout_size || err_total != e.stderr_size) {
    return std::unexpected("the segments do not add up to the outputs");
  }
  return out;
}

} // namespace ipfsacc::storage
