#include "sdk/gh/flags.hpp"

#include "sdk/gh/client.hpp"

#include <cctype>
#include <charconv>

namespace ipfsacc::sdk::gh {

std::expected<Parsed, std::string> parse_flags(
  std::span<const std::string> args,
  std::span<const Flag> flags) {
  Parsed p;
  auto by_long = [&](std::string_view n) -> const Flag* {
    for (const auto& f : flags) {
      if (f.long_name == n) {
        return &f;
      }
    }
    return nullptr;
  };
  auto by_short = [&](char c) -> const Flag* {
    for (const auto& f : flags) {
      if (f.short_name == c) {
        return &f;
      }
    }
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) {
        p.positional.push_back(args[i]);
      }
      break;
    }
    if (a.starts_with("--")) {
      auto name = a.substr(2);
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string_view::npos) {
        value = std::string(name.substr(eq + 1));
        name = name.substr(0, eq);
      }
      const Flag* f = by_long(name);
      if (f == nullptr) {
        return std::unexpected(std::string(a));
      }
      if (f->takes_value && !value) {
        if (i + 1 >= args.size()) {
          return std::unexpected(std::string(a));
        }
        value = args[++i];
      }
      p.values[std::string(f->long_name)].push_back(value.value_or("true"));
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      // -abc: bools a, b, c; -Xvalue or -X value for a flag with a value.
      for (size_t k = 1; k < a.size(); ++k) {
        const Flag* f = by_short(a[k]);
        if (f == nullptr) {
          return std::unexpected("-" + std::string(1, a[k]));
        }
        if (!f->takes_value) {
          p.values[std::string(f->long_name)].push_back("true");
          continue;
        }
        std::string value;
        if (k + 1 < a.size()) {
          value = std::string(a.substr(k + 1));
          if (value.starts_with('=')) {
            value.erase(0, 1);
          }
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return std::unexpected(std::string(a));
        }
        p.values[std::string(f->long_name)].push_back(value);
        break;
      }
      continue;
    }
    p.positional.push_back(std::string(a));
  }
  return p;
}

std::optional<Repo> parse_repo(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() ||
      s.find('/', slash + 1) != std::string_view::npos ||
      s.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  return Repo{ std::string(s.substr(0, slash)),
               std::string(s.substr(slash + 1)) };
}

std::expected<Repo, Unsupported> base_repo(const Invocation& call,
                                           const Parsed& p,
                                           std::string_view what) {
  std::optional<std::string> spec = p.last("repo");
  if (!spec && call.env) {
    spec = call.env("GH_REPO");
    if (spec && spec->empty()) {
      spec.reset();
    }
  }
  if (!spec) {
    return std::unexpected(Unsupported{
      "gh: command not found, and `gh " + std::string(what) +
      "` without -R/--repo or GH_REPO needs the repository of the git remotes, "
      "which only gh resolves; give -R OWNER/REPO or " +
      std::string(kInstall) });
  }
  auto repo = parse_repo(*spec);
  if (!repo) {
    return std::unexpected(unsupported(std::string(what) + " -R " + *spec));
  }
  return *repo;
}

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

bool parse_int(std::string_view s, long long& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

} // namespace ipfsacc::sdk::gh
