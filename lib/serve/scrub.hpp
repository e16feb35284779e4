#pragma once

// Scrub profiles: per provider, what changes on every request but not the
// answer (session ids, telemetry headers, billing markers), and so leaves the
// key. Data, in wrappers/scrub/*.json, compiled into the binary; a profile's
// id and version are part of every key it shaped.

#include <expected>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::serve {

struct ScrubProfile {
  std::string id;
  int version = 0;
  // Lower-case header names; a trailing '*' matches every name it begins.
  std::vector<std::string> drop_headers;
  // Members of the JSON body, by their dotted path ("metadata.user_id").
  std::vector<std::string> drop_body_fields;
  // Blocks of the body's system prompt whose text starts with one of these.
  std::vector<std::string> drop_system_blocks;

  // "anthropic@1": what the key records of it.
  std::string tag() const;
};

// Reads a profile file; the message says what is wrong with it.
std::expected<ScrubProfile, std::string> parse_scrub_profile(
  std::string_view text);

// The built-in profile of that id; nullptr when there is none.
const ScrubProfile* builtin_scrub_profile(std::string_view id);

// Whether the profile drops the header (name in lower case).
bool drops_header(const ScrubProfile& profile, std::string_view name);

// Removes from body what the profile drops.
void scrub_body(const ScrubProfile& profile, nlohmann::json& body);

// The built-in profile files (generated from wrappers/scrub/*.json).
struct EmbeddedProfile {
  std::string_view file;
  std::string_view text;
};
std::vector<EmbeddedProfile> embedded_scrub_profiles();

} // namespace ipfsacc::serve
