#include "sdk/sdk.hpp"

#include "sdk/api_json.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipfsacc::sdk {

namespace {

// How to install each tool's CLI, for the message of an unsupported call.
struct InstallHint {
  std::string_view tool;
  std::string_view how;
};

constexpr InstallHint kInstallHints[] = {
  { "gh", "https://cli.github.com" },
  { "claude", "npm install -g @anthropic-ai/claude-code" },
  { "gemini", "npm install -g @google/gemini-cli" },
  { "hf", "pip install -U huggingface_hub" },
  { "vastai", "pip install vastai" },
  { "code", "https://code.visualstudio.com" },
};

} // namespace

const Tool* find_tool(std::string_view name) {
  static constexpr std::array kTools{
    Tool{ "gh", gh_identical, gh_run },
    Tool{ "groq", never_identical, groq_run, Path::sdk },
    Tool{ "claude", never_identical, claude_run },
    Tool{ "gemini", never_identical, gemini_run },
    Tool{ "hf", never_identical, hf_run },
    Tool{ "vastai", never_identical, vastai_run },
    Tool{ "code", never_identical, code_run },
  };
  for (const auto& tool : kTools) {
    if (tool.name == name) {
      return &tool;
    }
  }
  return nullptr;
}

Answer run_tool(const Tool& tool, const Invocation& call) {
  try {
    return tool.run(call);
  } catch (const nlohmann::json::exception&) {
    return unexpected_answer(call, "has an unexpected shape");
  }
}

bool never_identical(const Invocation&) {
  return false;
}

Unsupported unsupported(const Invocation& call, std::string_view what) {
  for (const auto& hint : kInstallHints) {
    if (hint.tool == call.tool) {
      return Unsupported{ fmt::format(
        "{0}: command not found, and {1} cannot be done over HTTP the way {0} "
        "would do it; install {0} ({2})",
        call.binary,
        what,
        hint.how) };
    }
  }
  return Unsupported{ fmt::format(
    "{}: {} is not supported", call.binary, what) };
}

std::optional<std::string> env(const Invocation& call, std::string_view name) {
  if (!call.env) {
    return std::nullopt;
  }
  auto v = call.env(name);
  if (!v || v->empty()) {
    return std::nullopt;
  }
  return v;
}

std::string env_or(const Invocation& call,
                   std::string_view name,
                   std::string_view fallback) {
  return env(call, name).value_or(std::string(fallback));
}

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  std::string url(base);
  url += path;
  return url;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

bool ParsedArgs::has(std::string_view name) const {
  return std::any_of(options.begin(), options.end(), [&](const auto& o) {
    return o.first == name;
  });
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [key, value] : options) {
    if (key == name) {
      found = value; // the last one wins, as in most CLIs
    }
  }
  return found;
}

std::expected<ParsedArgs, std::string> parse_args(
  std::span<const std::string> args,
  std::span<const OptionSpec> specs) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positionals.insert(
        parsed.positionals.end(), args.begin() + long(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positionals.push_back(arg);
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    for (const auto& candidate : specs) {
      for (auto name : candidate.names) {
        if (arg == name) {
          spec = &candidate;
        } else if (name.starts_with("--") && arg.starts_with(name) &&
                   arg.size() > name.size() && arg[name.size()] == '=') {
          spec = &candidate;
          inline_value = arg.substr(name.size() + 1);
        } else if (name.size() == 2 && !arg.starts_with("--") &&
                   arg.starts_with(name) && candidate.takes_value) {
          spec = &candidate;
          inline_value = arg.substr(2);
        }
        if (spec) {
          break;
        }
      }
      if (spec) {
        break;
      }
    }
    if (!spec) {
      return std::unexpected(fmt::format("unknown option '{}'", arg));
    }
    std::string key(spec->names.front());
    if (!spec->takes_value) {
      if (inline_value) {
        return std::unexpected(fmt::format("option '{}' takes no value", key));
      }
      parsed.options.emplace_back(key, "");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return std::unexpected(fmt::format("option '{}' needs a value", key));
      }
      inline_value = args[++i];
    }
    parsed.options.emplace_back(key, *inline_value);
  }
  return parsed;
}

Outcome usage_error(const Invocation& call, std::string_view message) {
  Outcome outcome;
  outcome.exit_code = 2;
  outcome.cacheable = false;
  outcome.err = fmt::format("{}: {}\n", call.binary, message);
  return outcome;
}

Outcome transport_failure(const Invocation& call, const http::Error& error) {
  Outcome outcome;
  outcome.exit_code = 1;
  outcome.cacheable = false;
  outcome.err = fmt::format("{}: {}{}\n",
                            call.binary,
                            error.timeout ? "request timed out: " : "",
                            error.message);
  return outcome;
}

} // namespace ipfsacc::sdk
