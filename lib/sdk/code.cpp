// code → no web API: `code --list-extensions [--show-versions]` is answered
// from the installed extensions' manifests, the way VS Code lists them:
// "publisher.name[@version]", one a line, sorted by id ignoring case.
#include "sdk/sdk.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

namespace ipfsacc::sdk {

namespace {

namespace fs = std::filesystem;

const OptionSpec kCodeOptions[] = {
  { { "--list-extensions" }, false },
  { { "--show-versions" }, false },
  { { "--extensions-dir" } },
};

struct Extension {
  std::string id; // publisher.name, as the manifest spells it
  std::string version;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return text;
}

// The manifest of the extension in dir; nullopt when it has none.
std::optional<Extension> read_manifest(const fs::path& dir) {
  auto text = util::read_file(dir / "package.json");
  if (!text) {
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object() || !json.contains("publisher") ||
      !json.contains("name") || !json["publisher"].is_string() ||
      !json["name"].is_string()) {
    return std::nullopt;
  }
  return Extension{ json["publisher"].get<std::string>() + "." +
                      json["name"].get<std::string>(),
                    json.value("version", "") };
}

} // namespace

Answer code_run(const Invocation& call) {
  auto parsed = parse_args(call.args, kCodeOptions);
  if (!parsed) {
    return std::unexpected(unsupported(call, parsed.error()));
  }
  if (!parsed->has("--list-extensions") || !parsed->positionals.empty()) {
    return std::unexpected(
      unsupported(call, "anything but --list-extensions [--show-versions]"));
  }
  fs::path dir;
  if (auto given = parsed->value("--extensions-dir")) {
    dir = *given;
  } else if (auto env = env_or(call, "VSCODE_EXTENSIONS", ""); !env.empty()) {
    dir = env;
  } else {
    dir = fs::path(env_or(call, "HOME", "/")) / ".vscode" / "extensions";
  }

  // extensions.json is VS Code's list of what is installed; without it
  // every folder with a manifest counts, but those marked obsolete
  // (uninstalled, awaiting removal).
  std::vector<Extension> found;
  if (auto text = util::read_file(dir / "extensions.json")) {
    auto list = nlohmann::json::parse(*text, nullptr, false);
    if (!list.is_array()) {
      return std::unexpected(
        unsupported(call,
                    fmt::format("reading {} (not a JSON list)",
                                (dir / "extensions.json").string())));
    }
    for (const auto& item : list) {
      std::string relative = item.value("relativeLocation", "");
      if (relative.empty() || relative.find('/') != std::string::npos) {
        return std::unexpected(unsupported(
          call, "an extensions.json entry without a relativeLocation"));
      }
      auto manifest = read_manifest(dir / relative);
      if (!manifest) {
        return std::unexpected(unsupported(
          call,
          fmt::format("an extension without a readable manifest ({})",
                      relative)));
      }
      found.push_back(std::move(*manifest));
    }
  } else {
    std::set<std::string> obsolete;
    if (auto text = util::read_file(dir / ".obsolete")) {
      auto json = nlohmann::json::parse(*text, nullptr, false);
      if (json.is_object()) {
        for (const auto& [name, value] : json.items()) {
          obsolete.insert(name);
        }
      }
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      auto name = entry.path().filename().string();
      if (!entry.is_directory() || name.starts_with(".") ||
          obsolete.count(name)) {
        continue;
      }
      if (auto manifest = read_manifest(entry.path())) {
        found.push_back(std::move(*manifest));
      }
    }
  }
  std::stable_sort(
    found.begin(), found.end(), [](const auto& a, const auto& b) {
      return lower(a.id) < lower(b.id);
    });
  Outcome outcome;
  bool versions = parsed->has("--show-versions");
  for (const auto& extension : found) {
    outcome.out += extension.id;
    if (versions) {
      outcome.out += "@" + extension.version;
    }
    outcome.out += '\n';
  }
  return outcome;
}

} // namespace ipfsacc::sdk
