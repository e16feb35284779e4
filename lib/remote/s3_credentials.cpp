#include "remote/s3_credentials.hpp"

#include "util/fs.hpp"
#include "util/text.hpp"

#include <filesystem>
#include <fmt/format.h>

namespace ipfsacc::remote::s3 {

using util::trim;

namespace {

// The most of a credentials file read: it holds a few profiles.
constexpr size_t kMaxFileSize = 1 << 20;

} // namespace

std::optional<Credentials> read_credentials_file(std::string_view text,
                                                 std::string_view profile) {
  Credentials found;
  bool in_profile = false;
  bool seen = false;
  while (!text.empty()) {
    size_t end = text.find('\n');
    auto line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      continue;
    }
    if (line.front() == '[') {
      size_t close = line.find(']');
      auto name = close == std::string_view::npos
                    ? std::string_view()
                    : trim(line.substr(1, close - 1));
      in_profile = name == profile;
      seen = seen || in_profile;
      continue;
    }
    if (!in_profile) {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    auto key = trim(line.substr(0, eq));
    auto value = std::string(trim(line.substr(eq + 1)));
    if (key == "aws_access_key_id") {
      found.access_key_id = value;
    } else if (key == "aws_secret_access_key") {
      found.secret_access_key = value;
    } else if (key == "aws_session_token") {
      found.session_token = value;
    }
  }
  if (!seen || found.access_key_id.empty() || found.secret_access_key.empty()) {
    return std::nullopt;
  }
  return found;
}

std::optional<Credentials> find_credentials(const Getenv& getenv,
                                            std::string_view stored) {
  Credentials env;
  env.access_key_id = getenv("AWS_ACCESS_KEY_ID");
  env.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
  if (!env.access_key_id.empty() && !env.secret_access_key.empty()) {
    env.session_token = getenv("AWS_SESSION_TOKEN");
    env.source = "AWS_ACCESS_KEY_ID";
    return env;
  }
  if (size_t colon = stored.find(':'); colon != std::string_view::npos &&
                                       colon > 0 && colon + 1 < stored.size()) {
    Credentials pair;
    pair.access_key_id = std::string(stored.substr(0, colon));
    pair.secret_access_key = std::string(stored.substr(colon + 1));
    pair.source = "the secrets store (s3_credentials)";
    return pair;
  }
  std::string profile = getenv("AWS_PROFILE");
  if (profile.empty()) {
    profile = "default";
  }
  std::string file = getenv("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = getenv("HOME");
    if (home.empty()) {
      return std::nullopt;
    }
    file = home + "/.aws/credentials";
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxFileSize) {
    return std::nullopt;
  }
  auto text = util::read_file(file);
  if (!text) {
    return std::nullopt;
  }
  auto found = read_credentials_file(*text, profile);
  if (found) {
    found->source = fmt::format("profile {} of {}", profile, file);
  }
  return found;
}

} // namespace ipfsacc::remote::s3
