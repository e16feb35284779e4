#include "serve/scrub.hpp"

#include <fmt/format.h>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace ipfsacc::serve {

using json = nlohmann::json;

namespace {

std::expected<std::vector<std::string>, std::string> strings(const json& doc,
                                                             const char* name) {
  std::vector<std::string> out;
  auto it = doc.find(name);
  if (it == doc.end()) {
    return out;
  }
  if (!it->is_array()) {
    return std::unexpected(fmt::format("{} is not a list", name));
  }
  for (const auto& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      return std::unexpected(
        fmt::format("{} holds something other than text", name));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

void drop_path(json& node, std::string_view path) {
  auto dot = path.find('.');
  if (!node.is_object()) {
    return;
  }
  std::string first(path.substr(0, dot));
  if (dot == std::string_view::npos) {
    node.erase(first);
    return;
  }
  if (auto it = node.find(first); it != node.end()) {
    drop_path(*it, path.substr(dot + 1));
  }
}

bool starts_with_any(const std::string& text,
                     const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (text.starts_with(p)) {
      return true;
    }
  }
  return false;
}

} // namespace

std::string ScrubProfile::tag() const {
  return fmt::format("{}@{}", id, version);
}

std::expected<ScrubProfile, std::string> parse_scrub_profile(
  std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return std::unexpected("not a JSON object");
  }
  static const char* kKnown[] = { "_comment",         "id",
                                  "version",          "drop_headers",
                                  "drop_body_fields", "drop_system_blocks" };
  for (const auto& [key, value] : doc.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) ==
        std::end(kKnown)) {
      return std::unexpected(fmt::format("unknown field {}", key));
    }
  }
  ScrubProfile profile;
  auto id = doc.find("id");
  auto version = doc.find("version");
  if (id == doc.end() || !id->is_string() || id->get<std::string>().empty()) {
    return std::unexpected("id is missing");
  }
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int>() < 1) {
    return std::unexpected("version is not a positive integer");
  }
  profile.id = id->get<std::string>();
  profile.version = version->get<int>();
  auto headers = strings(doc, "drop_headers");
  auto fields = strings(doc, "drop_body_fields");
  auto blocks = strings(doc, "drop_system_blocks");
  for (const auto* list : { &headers, &fields, &blocks }) {
    if (!*list) {
      return std::unexpected(list->error());
    }
  }
  profile.drop_headers = std::move(*headers);
  for (auto& name : profile.drop_headers) {
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  profile.drop_body_fields = std::move(*fields);
  profile.drop_system_blocks = std::move(*blocks);
  return profile;
}

const ScrubProfile* builtin_scrub_profile(std::string_view id) {
  static std::once_flag once;
  static std::map<std::string, ScrubProfile, std::less<>> profiles;
  std::call_once(once, [] {
    for (const auto& file : embedded_scrub_profiles()) {
      // The files are checked by a unit test; one that does not read is
      // left out rather than taking the server down.
      if (auto profile = parse_scrub_profile(file.text)) {
        profiles.emplace(profile->id, std::move(*profile));
      }
    }
  });
  auto it = profiles.find(id);
  return it == profiles.end() ? nullptr : &it->second;
}

bool drops_header(const ScrubProfile& profile, std::string_view name) {
  for (const auto& pattern : profile.drop_headers) {
    if (pattern.ends_with('*')
          ? name.starts_with(
              std::string_view(pattern).substr(0, pattern.size() - 1))
          : name == pattern) {
      return true;
    }
  }
  return false;
}

void scrub_body(const ScrubProfile& profile, json& body) {
  for (const auto& path : profile.drop_body_fields) {
    drop_path(body, path);
  }
  if (profile.drop_system_blocks.empty() || !body.is_object()) {
    return;
  }
  auto system = body.find("system");
  if (system == body.end()) {
    return;
  }
  if (system->is_string()) {
    if (starts_with_any(system->get<std::string>(),
                        profile.drop_system_blocks)) {
      body.erase(system);
    }
    return;
  }
  if (!system->is_array()) {
    return;
  }
  json kept = json::array();
  for (auto& block : *system) {
    auto text = block.is_object() ? block.find("text") : block.end();
    if (block.is_object() && text != block.end() && text->is_string() &&
        starts_with_any(text->get<std::string>(), profile.drop_system_blocks)) {
      continue;
    }
    kept.push_back(std::move(block));
  }
  *system = std::move(kept);
}

} // namespace ipfsacc::serve
