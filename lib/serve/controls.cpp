#include "serve/controls.hpp"

#include "util/text.hpp"

#include <charconv>
#include <string>
#include <system_error>

namespace ipfsacc::serve {

namespace {

// Cache-Control's directives, lower case ("max-age=60").
std::vector<std::string> directives(std::string_view value) {
  std::vector<std::string> out;
  for (auto part : util::split_list(value, ", \t")) {
    out.push_back(util::lower(part));
  }
  return out;
}

} // namespace

Controls controls_of(const ProxyRequest& request) {
  Controls c;
  std::vector<std::string> cache_control;
  if (auto value = request.header("cache-control")) {
    cache_control = directives(*value);
  }
  for (const auto& d : cache_control) {
    if (d.starts_with("max-age=")) {
      int64_t seconds = 0;
      auto text = std::string_view(d).substr(8);
      auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), seconds);
      if (ec == std::errc() && end == text.data() + text.size() &&
          seconds >= 0 && seconds < (int64_t(1) << 40)) {
        c.max_age_ms = seconds * 1000;
      }
    }
  }
  if (auto value = request.header("x-ipfsacc-cache")) {
    auto v = util::lower(*value);
    if (v == "refresh") {
      c.mode = Control::refresh;
      c.why = "refresh";
      return c;
    }
    if (v == "off") {
      c.mode = Control::off;
      c.why = "off";
      return c;
    }
    if (v == "only") {
      c.mode = Control::only;
      return c;
    }
  }
  auto has = [&](std::string_view name) {
    return std::find(cache_control.begin(), cache_control.end(), name) !=
           cache_control.end();
  };
  if (has("no-store")) {
    c.mode = Control::no_store;
    c.why = "no-store";
  } else if (has("no-cache")) {
    c.mode = Control::refresh;
    c.why = "no-cache";
  }
  return c;
}

namespace {

std::optional<std::string_view> header_of(const Head& head,
                                          std::string_view lower_name) {
  for (const auto& h : head.headers) {
    if (util::lower(h.name) == lower_name) {
      return h.value;
    }
  }
  return std::nullopt;
}

} // namespace

std::vector<http::Header> validators(const AnswerStore::Stored& stored) {
  std::vector<http::Header> out;
  auto head = decode_head(stored.answer.err.memory);
  if (!head || head->status != 200) {
    return out;
  }
  if (auto etag = header_of(*head, "etag")) {
    out.push_back({ "If-None-Match", std::string(*etag) });
  }
  if (auto modified = header_of(*head, "last-modified")) {
    out.push_back({ "If-Modified-Since", std::string(*modified) });
  }
  return out;
}

} // namespace ipfsacc::serve
