#include "remote/spec.hpp"

#include "util/linking.hpp"
#include "util/text.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <fmt/format.h>

namespace ipfsacc::remote {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

// Replaces the password of one URL (up to its '|') by "***".
std::string redact_one(std::string_view word) {
  size_t scheme_end = word.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::string(word);
  }
  size_t authority = scheme_end + 3;
  size_t end = word.find_first_of("/|", authority);
  if (end == std::string_view::npos) {
    end = word.size();
  }
  size_t at = word.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < authority) {
    return std::string(word);
  }
  auto userinfo = word.substr(authority, at - authority);
  size_t colon = userinfo.find(':');
  std::string out(word.substr(0, authority));
  if (colon == std::string_view::npos) {
    // redis://secret@host: a lone userinfo is Redis's password form.
    out += "***";
  } else {
    out += userinfo.substr(0, colon);
    out += ":***";
  }
  out += word.substr(at);
  return out;
}

} // namespace

std::string Spec::label() const {
  std::string out = fmt::format("{}://{}", scheme, host);
  if (port != 0) {
    out += fmt::format(":{}", port);
  }
  out += path;
  return out;
}

Spec Spec::shard(std::string_view name) const {
  Spec one = *this;
  size_t star = one.host.find('*');
  if (star != std::string::npos) {
    one.host.replace(star, 1, name);
  }
  one.shards.clear();
  return one;
}

std::expected<Spec, std::string> parse_remote(std::string_view text) {
  auto parts = split(text, '|');
  std::string_view url = parts[0];
  Spec spec;
  // Messages show the URL redacted.
  auto shown = redact_one(url);
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return std::unexpected(
      fmt::format("remote '{}': expected scheme://host[:port]", shown));
  }
  spec.scheme = util::lower(url.substr(0, scheme_end));
  url.remove_prefix(scheme_end + 3);
  size_t path_at = url.find('/');
  std::string_view authority = url.substr(0, path_at);
  if (path_at != std::string_view::npos) {
    spec.path = std::string(url.substr(path_at));
    while (spec.path.size() > 1 && spec.path.back() == '/') {
      spec.path.pop_back();
    }
    if (spec.path == "/") {
      spec.path.clear();
    }
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      spec.password = std::string(userinfo);
    } else {
      spec.user = std::string(userinfo.substr(0, colon));
      spec.password = std::string(userinfo.substr(colon + 1));
    }
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos &&
      authority.find(']') != std::string_view::npos &&
      colon < authority.find(']')) {
    colon = std::string_view::npos; // "[::1]" without a port
  }
  if (colon != std::string_view::npos) {
    auto port_text = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(
      port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        value == 0 || value > 65535) {
      return std::unexpected(
        fmt::format("remote '{}': '{}' is not a port", shown, port_text));
    }
    spec.port = static_cast<uint16_t>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.size() > 2 && authority.front() == '[' &&
      authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) {
    return std::unexpected(fmt::format("remote '{}': no host", shown));
  }
  spec.host = std::string(authority);

  for (size_t i = 1; i < parts.size(); ++i) {
    auto attr = parts[i];
    size_t eq = attr.find('=');
    auto name = attr.substr(0, eq);
    auto value =
      eq == std::string_view::npos ? std::string_view() : attr.substr(eq + 1);
    auto duration = [&](util::Millis& out) -> std::expected<void, std::string> {
      auto d = util::parse_duration(value);
      if (!d || d->count() <= 0) {
        return std::unexpected(
          fmt::format("remote '{}': {}='{}' is not a duration (200ms, 2s)",
                      shown,
                      name,
                      value));
      }
      out = *d;
      return {};
    };
    if (name == "read-only" && value.empty()) {
      spec.access = Access::read_only;
    } else if (name == "ttl-refresh" && value.empty()) {
      spec.ttl_refresh = true;
    } else if (name == "timeout") {
      if (auto ok = duration(spec.timeout); !ok) {
        return std::unexpected(ok.error());
      }
    } else if (name == "connect-timeout") {
      if (auto ok = duration(spec.connect_timeout); !ok) {
        return std::unexpected(ok.error());
      }
    } else if (name == "shards") {
      for (auto shard : split(value, ',')) {
        if (shard.empty()) {
          return std::unexpected(
            fmt::format("remote '{}': empty name in shards=", shown));
        }
        spec.shards.emplace_back(shard);
      }
    } else if ((name == "type" || name == "region" || name == "endpoint") &&
               !value.empty()) {
      spec.extra[std::string(name)] = std::string(value);
    } else {
      return std::unexpected(fmt::format(
        "remote '{}': unknown attribute '{}' (known: read-only, timeout=, "
        "connect-timeout=, ttl-refresh, shards=, type=, region=, endpoint=)",
        shown,
        attr));
    }
  }
  bool starred = spec.host.find('*') != std::string::npos;
  if (starred && spec.shards.empty()) {
    return std::unexpected(fmt::format(
      "remote '{}': a '*' in the host needs shards=NAME,NAME…", shown));
  }
  if (!starred && !spec.shards.empty()) {
    return std::unexpected(fmt::format(
      "remote '{}': shards= needs a '*' in the host to put the names in",
      shown));
  }
  return spec;
}

std::expected<std::vector<Spec>, std::string> parse_remotes(
  std::string_view text) {
  std::vector<Spec> specs;
  for (auto word : util::split_list(text, " \t\n")) {
    auto spec = parse_remote(word);
    if (!spec) {
      return std::unexpected(spec.error());
    }
    specs.push_back(std::move(*spec));
  }
  return specs;
}

bool static_program_reaches(std::string_view setting) {
  auto specs = parse_remotes(setting);
  if (!specs) {
    return false;
  }
  auto is_address = [](const std::string& host) {
    unsigned char buffer[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, host.c_str(), buffer) == 1;
  };
  for (const auto& spec : *specs) {
    if (spec.scheme != "redis") {
      return false;
    }
    std::vector<std::string> hosts{ spec.host };
    if (!spec.shards.empty()) {
      hosts.clear();
      for (const auto& name : spec.shards) {
        hosts.push_back(spec.shard(name).host);
      }
    }
    for (const auto& host : hosts) {
      if (!is_address(host) && !util::static_host_lookup_safe()) {
        return false;
      }
    }
  }
  return true;
}

std::string redact_remotes(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" \t\n", pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    out += redact_one(text.substr(pos, end - pos));
    if (end < text.size()) {
      out += text[end];
    }
    pos = end + 1;
  }
  return out;
}

size_t pick_shard(std::span<const std::string> shards, std::string_view key) {
  size_t best = 0;
  uint64_t best_weight = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    Sha256 hash;
    hash.update(shards[i].data(), shards[i].size());
    hash.update("\0", 1);
    hash.update(key.data(), key.size());
    auto digest = hash.finish();
    uint64_t weight = 0;
    for (int b = 0; b < 8; ++b) {
      weight = (weight << 8) | digest[b];
    }
    if (i == 0 || weight > best_weight) {
      best = i;
      best_weight = weight;
    }
  }
  return best;
}

} // namespace ipfsacc::remote
