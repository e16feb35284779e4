#include "remote/s3_location.hpp"

#include "util/text.hpp"

#include <cctype>
#include <fmt/format.h>

namespace ipfsacc::remote::s3 {

namespace {

constexpr std::string_view kDefaultRegion = "us-east-1";

// Bucket names as S3 allows them: 3 to 63 of lowercase letters, digits,
// '.' and '-', starting and ending with a letter or digit. Older buckets
// may hold capitals and '_', which path-style addressing still reaches.
bool valid_bucket(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) {
    return false;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  return std::isalnum(static_cast<unsigned char>(name.front())) &&
         std::isalnum(static_cast<unsigned char>(name.back()));
}

bool valid_region(std::string_view region) {
  if (region.empty() || region.size() > 64) {
    return false;
  }
  for (unsigned char c : region) {
    if (!std::isalnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// The text of XML character data with the five predefined entities (and
// numeric ones) decoded; S3 uses no others.
std::string xml_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += raw[i];
      continue;
    }
    auto name = raw.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x';
      unsigned long code = 0;
      try {
        code = std::stoul(
          std::string(name.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10);
      } catch (...) {
        code = '?';
      }
      out += code < 0x80 ? static_cast<char>(code) : '?';
    } else {
      out += raw.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

// Every <name>…</name> element's text, in order.
std::vector<std::string> elements(std::string_view xml, std::string_view name) {
  std::vector<std::string> out;
  std::string open = fmt::format("<{}>", name);
  std::string close = fmt::format("</{}>", name);
  size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    at += open.size();
    size_t end = xml.find(close, at);
    if (end == std::string_view::npos) {
      break;
    }
    out.push_back(xml_text(xml.substr(at, end - at)));
    at = end + close.size();
  }
  return out;
}

} // namespace

std::expected<Location, std::string> locate(const Spec& spec,
                                            const Getenv& getenv) {
  Location where;
  where.bucket = spec.host;
  if (spec.port != 0 || !spec.user.empty()) {
    return std::unexpected(fmt::format(
      "{}: an s3:// URL names a bucket (s3://BUCKET[/PREFIX]); the store "
      "goes in endpoint=URL and credentials in the environment",
      spec.label()));
  }
  if (!valid_bucket(where.bucket)) {
    return std::unexpected(
      fmt::format("{}: '{}' is not a bucket name", spec.label(), where.bucket));
  }
  if (!spec.path.empty()) {
    where.prefix = spec.path.substr(1) + "/";
  }
  auto attr = [&](const char* name) {
    auto it = spec.extra.find(name);
    return it == spec.extra.end() ? std::string() : it->second;
  };
  where.region = attr("region");
  for (const char* name : { "AWS_REGION", "AWS_DEFAULT_REGION" }) {
    if (where.region.empty()) {
      where.region = getenv(name);
    }
  }
  if (where.region.empty()) {
    where.region = kDefaultRegion;
  }
  if (!valid_region(where.region)) {
    return std::unexpected(
      fmt::format("{}: '{}' is not a region", spec.label(), where.region));
  }
  std::string endpoint = attr("endpoint");
  for (const char* name : { "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" }) {
    if (endpoint.empty()) {
      endpoint = getenv(name);
    }
  }
  while (endpoint.ends_with('/')) {
    endpoint.pop_back();
  }
  if (!endpoint.empty()) {
    size_t host = endpoint.find("://");
    if ((!endpoint.starts_with("http://") &&
         !endpoint.starts_with("https://")) ||
        endpoint.find_first_of("?#@ ", host) != std::string::npos ||
        host + 3 >= endpoint.size()) {
      return std::unexpected(
        fmt::format("{}: endpoint '{}' is not an http:// or https:// URL",
                    spec.label(),
                    endpoint));
    }
    where.base_url = endpoint + "/" + uri_encode(where.bucket, false);
  } else if (where.bucket.find_first_of("._") != std::string::npos ||
             util::lower(where.bucket) != where.bucket) {
    // Such a name is no valid host name (or TLS certificate match).
    where.base_url = fmt::format("https://s3.{}.amazonaws.com/{}",
                                 where.region,
                                 uri_encode(where.bucket, false));
  } else {
    where.base_url =
      fmt::format("https://{}.s3.{}.amazonaws.com", where.bucket, where.region);
  }
  return where;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string object_url(const Location& location, std::string_view key) {
  return location.base_url + "/" + uri_encode(key, true);
}

std::string list_url(const Location& location,
                     std::string_view prefix,
                     std::string_view token,
                     int max_keys) {
  // Sorted by name: libcurl signs the query as it is given.
  std::string url = location.base_url + "/?";
  if (!token.empty()) {
    url += "continuation-token=" + uri_encode(token, false) + "&";
  }
  url += fmt::format(
    "list-type=2&max-keys={}&prefix={}", max_keys, uri_encode(prefix, false));
  return url;
}

std::expected<ListPage, std::string> parse_list(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return std::unexpected("not a ListObjectsV2 answer");
  }
  ListPage page;
  page.keys = elements(xml, "Key");
  auto next = elements(xml, "NextContinuationToken");
  auto truncated = elements(xml, "IsTruncated");
  if (!truncated.empty() && truncated.front() == "true") {
    if (next.empty() || next.front().empty()) {
      return std::unexpected("a truncated listing without a continuation "
                             "token");
    }
    page.next_token = next.front();
  }
  return page;
}

std::string error_code(std::string_view xml) {
  auto codes = elements(xml, "Code");
  return codes.empty() ? std::string() : codes.front();
}

} // namespace ipfsacc::remote::s3
