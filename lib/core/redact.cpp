#include "core/redact.hpp"

#include "util/text.hpp"

#include <array>

namespace ipfsacc {

namespace {

// Parts of flag and variable names that say the value is a credential.
// "tokens" is left alone: `--max-tokens 100` is no secret.
bool names_secret(std::string_view name) {
  auto n = util::lower(name);
  if (n.find("token") != std::string::npos &&
      n.find("tokens") == std::string::npos) {
    return true;
  }
  for (std::string_view part : { "passw",
                                 "secret",
                                 "apikey",
                                 "api-key",
                                 "api_key",
                                 "credential",
                                 "private-key",
                                 "private_key",
                                 "access-key",
                                 "access_key" }) {
    if (n.find(part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// Tokens in the formats of the services ipfsacc wraps (and a few common
// others), recognised by their prefix and a long run of token characters.
void redact_known_tokens(std::string& arg) {
  static constexpr std::array<std::string_view, 16> kPrefixes = {
    "github_pat_", "ghp_", "gho_", "ghu_",    "ghs_",  "ghr_",
    "hf_",         "sk-",  "gsk_", "xoxb-",   "xoxp-", "xoxa-",
    "glpat-",      "AKIA", "AIza", "sk_live_"
  };
  constexpr size_t kMinRun = 16;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (i > 0 && token_char(arg[i - 1])) {
      continue;
    }
    for (auto prefix : kPrefixes) {
      if (arg.compare(i, prefix.size(), prefix) != 0) {
        continue;
      }
      size_t end = i + prefix.size();
      while (end < arg.size() && token_char(arg[end])) {
        ++end;
      }
      if (end - i - prefix.size() >= kMinRun) {
        arg.replace(i, end - i, kRedacted);
        break;
      }
    }
  }
}

// "Authorization: Bearer x" (anywhere in the argument, any case): the
// header's value goes.
void redact_headers(std::string& arg) {
  auto low = util::lower(arg);
  for (std::string_view header : { "proxy-authorization:",
                                   "authorization:",
                                   "x-api-key:",
                                   "api-key:",
                                   "x-auth-token:",
                                   "private-token:",
                                   "cookie:" }) {
    auto at = low.find(header);
    if (at == std::string::npos) {
      continue;
    }
    auto value = at + header.size();
    arg.replace(value, arg.size() - value, std::string(" ").append(kRedacted));
    return;
  }
}

// "https://user:password@host/…": the password goes.
void redact_url_password(std::string& arg) {
  auto scheme = arg.find("://");
  if (scheme == std::string::npos) {
    return;
  }
  auto start = scheme + 3;
  auto end = arg.find_first_of("/?#", start);
  auto at = arg.rfind('@', end == std::string::npos ? arg.size() : end);
  if (at == std::string::npos || at < start) {
    return;
  }
  auto colon = arg.find(':', start);
  if (colon == std::string::npos || colon > at) {
    return;
  }
  arg.replace(colon + 1, at - colon - 1, kRedacted);
}

} // namespace

std::vector<std::string> redact_args(std::span<const std::string> args) {
  std::vector<std::string> out(args.begin(), args.end());
  for (size_t i = 0; i < out.size(); ++i) {
    auto& arg = out[i];
    if (arg.starts_with("-") && arg.size() > 1) {
      auto name = std::string_view(arg).substr(arg.find_first_not_of('-'));
      auto eq = name.find('=');
      if (names_secret(name.substr(0, eq))) {
        if (eq != std::string_view::npos) {
          arg = arg.substr(0, arg.size() - name.size() + eq + 1);
          arg += kRedacted;
        } else if (i + 1 < out.size()) {
          out[++i] = kRedacted;
        }
        continue;
      }
    } else if (auto eq = arg.find('='); eq != std::string::npos &&
                                        is_env_name(arg.substr(0, eq)) &&
                                        names_secret(arg.substr(0, eq))) {
      arg = arg.substr(0, eq + 1) + std::string(kRedacted);
      continue;
    }
    redact_headers(arg);
    redact_url_password(arg);
    redact_known_tokens(arg);
  }
  return out;
}

std::vector<std::string> split_display(std::string_view display) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (size_t i = 0; i < display.size(); ++i) {
    char c = display[i];
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '\'') {
      quoted = true;
      in_word = true;
    } else if (c == '\\' && i + 1 < display.size()) {
      word += display[++i];
      in_word = true;
    } else if (c == ' ') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

std::string redact_display(std::string_view display) {
  auto words = split_display(display);
  return util::join_args(redact_args(words));
}

} // namespace ipfsacc
