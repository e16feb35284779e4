#include "core/redact.hpp"

#include "util/text.hpp"

#include <array>
#include <cctype>

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

// A token format: its prefix and how many token characters must follow it.
struct TokenFormat {
  std::string_view prefix;
  size_t min_run;
};

// Tokens in the formats of the services ipfsacc wraps (and a few common
// others), recognised by their prefix and a run of token characters long
// enough not to be a word. Slack's prefixes (`xoxb-`…) are distinctive
// enough for a short run.
void redact_known_tokens(std::string& arg) {
  static constexpr std::array<TokenFormat, 22> kFormats = { {
    { "github_pat_", 16 }, { "ghp_", 16 },     { "gho_", 16 }, { "ghu_", 16 },
    { "ghs_", 16 },        { "ghr_", 16 },     { "hf_", 16 },  { "sk-", 16 },
    { "gsk_", 16 },        { "xoxb-", 6 },     { "xoxp-", 6 }, { "xoxa-", 6 },
    { "xoxe-", 6 },        { "xoxs-", 6 },     { "xoxr-", 6 }, { "xoxe.", 6 },
    { "xapp-", 6 },        { "glpat-", 16 },   { "AKIA", 16 }, { "AIza", 16 },
    { "sk_live_", 16 },    { "rk_live_", 16 },
  } };
  for (size_t i = 0; i < arg.size(); ++i) {
    if (i > 0 && token_char(arg[i - 1])) {
      continue;
    }
    for (const auto& format : kFormats) {
      const auto prefix = format.prefix;
      if (arg.compare(i, prefix.size(), prefix) != 0) {
        continue;
      }
      size_t end = i + prefix.size();
      while (end < arg.size() && (token_char(arg[end]) || arg[end] == '.')) {
        ++end;
      }
      if (end - i - prefix.size() >= format.min_run) {
        arg.replace(i, end - i, kRedacted);
        break;
      }
    }
  }
}

bool base64url_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// JSON Web Tokens: "eyJ…" (a base64url JSON header), a dot, the payload, a
// dot and the signature (empty for an unsigned one).
void redact_jwts(std::string& arg) {
  for (size_t i = arg.find("eyJ"); i != std::string::npos;
       i = arg.find("eyJ", i + 1)) {
    if (i > 0 && base64url_char(arg[i - 1])) {
      continue;
    }
    auto run = [&](size_t from) {
      while (from < arg.size() && base64url_char(arg[from])) {
        ++from;
      }
      return from;
    };
    size_t header_end = run(i);
    if (header_end - i < 10 || header_end >= arg.size() ||
        arg[header_end] != '.') {
      continue;
    }
    size_t payload_end = run(header_end + 1);
    if (payload_end == header_end + 1 || payload_end >= arg.size() ||
        arg[payload_end] != '.') {
      continue;
    }
    size_t end = run(payload_end + 1);
    arg.replace(i, end - i, kRedacted);
  }
}

// "Bearer X" or "Basic X" anywhere in the argument (a header's value passed
// on its own): the credential after the scheme goes. Any word follows
// Bearer; Basic is redacted only before something like base64, so that
// prose ("basic usage") stays.
void redact_auth_schemes(std::string& arg) {
  auto low = util::lower(arg);
  for (std::string_view scheme : { "bearer ", "basic " }) {
    for (size_t at = low.find(scheme); at != std::string::npos;
         at = low.find(scheme, at + 1)) {
      if (at > 0 && std::isalnum(static_cast<unsigned char>(low[at - 1]))) {
        continue;
      }
      size_t start = at + scheme.size();
      while (start < arg.size() && arg[start] == ' ') {
        ++start;
      }
      size_t end = start;
      while (end < arg.size() &&
             !std::isspace(static_cast<unsigned char>(arg[end])) &&
             arg[end] != '"' && arg[end] != '\'') {
        ++end;
      }
      if (end == start || arg.compare(start, end - start, kRedacted) == 0) {
        continue;
      }
      if (scheme == "basic ") {
        bool encoded = end - start >= 8;
        for (size_t k = start; encoded && k < end; ++k) {
          char c = arg[k];
          encoded = std::isalnum(static_cast<unsigned char>(c)) || c == '+' ||
                    c == '/' || c == '=';
        }
        if (!encoded) {
          continue;
        }
      }
      arg.replace(start, end - start, kRedacted);
      low = util::lower(arg);
    }
  }
}

// Query parameters named like credentials ("?access_token=…", "&key=…",
// "&sig=…"): the value goes, whatever it looks like.
bool names_query_secret(std::string_view name) {
  if (names_secret(name)) {
    return true;
  }
  auto n = util::lower(name);
  for (std::string_view exact :
       { "key", "auth", "sig", "signature", "pass", "pwd", "jwt" }) {
    if (n == exact) {
      return true;
    }
  }
  return false;
}

void redact_query_secrets(std::string& arg) {
  for (size_t i = arg.find_first_of("?&"); i != std::string::npos;
       i = arg.find_first_of("?&", i + 1)) {
    size_t eq = arg.find_first_of("=&#?/ ", i + 1);
    if (eq == std::string::npos || arg[eq] != '=' || eq == i + 1 ||
        !names_query_secret(std::string_view(arg).substr(i + 1, eq - i - 1))) {
      continue;
    }
    size_t end = arg.find_first_of("&# ", eq + 1);
    if (end == std::string::npos) {
      end = arg.size();
    }
    if (end > eq + 1) {
      arg.replace(eq + 1, end - eq - 1, kRedacted);
    }
  }
}

// A password glued to its short flag, as mysql and its kin take it
// (`-pPASSWORD`; `-p` alone asks for it). The single-dash words of find and
// of compilers that start with p are not passwords.
bool glued_password(std::string_view arg) {
  if (arg.size() <= 2 || !arg.starts_with("-p") || arg.substr(2) == kRedacted) {
    return false;
  }
  for (std::string_view word : { "-path",
                                 "-perm",
                                 "-print",
                                 "-print0",
                                 "-printf",
                                 "-prune",
                                 "-pthread",
                                 "-pipe",
                                 "-pedantic",
                                 "-pedantic-errors",
                                 "-pg",
                                 "-pie" }) {
    if (arg == word) {
      return false;
    }
  }
  return true;
}

// Secret values kept shorter than this are redacted only where they are a
// whole argument: a short one would take pieces of ordinary words with it.
constexpr size_t kMinSecretInText = 8;

// Every occurrence of a stored secret's value.
void redact_values(std::string& arg, std::span<const std::string_view> values) {
  for (auto value : values) {
    if (value.empty()) {
      continue;
    }
    if (arg == value) {
      arg = kRedacted;
      return;
    }
    if (value.size() < kMinSecretInText) {
      continue;
    }
    for (size_t at = arg.find(value); at != std::string::npos;
         at = arg.find(value, at + kRedacted.size())) {
      arg.replace(at, value.size(), kRedacted);
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

std::vector<std::string> redact_args(
  std::span<const std::string> args,
  std::span<const std::string_view> secrets) {
  std::vector<std::string> out(args.begin(), args.end());
  for (auto& arg : out) {
    redact_values(arg, secrets);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    auto& arg = out[i];
    if (glued_password(arg)) {
      arg = "-p";
      arg += kRedacted;
      continue;
    }
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
    redact_auth_schemes(arg);
    redact_url_password(arg);
    redact_query_secrets(arg);
    redact_known_tokens(arg);
    redact_jwts(arg);
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

std::string redact_display(std::string_view display,
                           std::span<const std::string_view> secrets) {
  auto words = split_display(display);
  return util::join_args(redact_args(words, secrets));
}

} // namespace ipfsacc
