#include "sdk/pyjson.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <vector>

namespace ipfsacc::sdk::pyjson {

namespace {

void write(std::string& out,
           const nlohmann::ordered_json& value,
           int indent,
           SortKeys sort,
           int depth) {
  using Json = nlohmann::ordered_json;
  auto newline = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent * level), ' ');
  };
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      out += float_repr(value.get<double>());
      return;
    case Json::value_t::string:
      out += ascii_string(value.get_ref<const std::string&>());
      return;
    case Json::value_t::binary:
      out += "null";
      return;
    case Json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) {
          out += indent >= 0 ? "," : ", ";
        }
        first = false;
        if (indent >= 0) {
          newline(depth + 1);
        }
        write(out, item, indent, sort, depth + 1);
      }
      if (indent >= 0) {
        newline(depth);
      }
      out += ']';
      return;
    }
    case Json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::string*> keys;
      std::vector<const Json*> items;
      for (const auto& [key, item] : value.items()) {
        keys.push_back(&key);
        items.push_back(&item);
      }
      std::vector<size_t> order(keys.size());
      for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
      }
      if (sort == SortKeys::yes) {
        // UTF-8 byte order is code point order.
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          return *keys[a] < *keys[b];
        });
      }
      out += '{';
      bool first = true;
      for (size_t i : order) {
        if (!first) {
          out += indent >= 0 ? "," : ", ";
        }
        first = false;
        if (indent >= 0) {
          newline(depth + 1);
        }
        out += ascii_string(*keys[i]);
        out += ": ";
        write(out, *items[i], indent, sort, depth + 1);
      }
      if (indent >= 0) {
        newline(depth);
      }
      out += '}';
      return;
    }
  }
}

} // namespace

std::string float_repr(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value < 0 ? "-Infinity" : "Infinity";
  }
  char buf[64];
  auto [end, ec] =
    std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string sign;
  if (sci.starts_with('-')) {
    sign = "-";
    sci.remove_prefix(1);
  }
  // "d.ddde±XX": the digits and the decimal exponent.
  auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exponent = 0;
  auto exp_text = sci.substr(e + 1);
  if (exp_text.starts_with('+')) {
    exp_text.remove_prefix(1);
  }
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
  }
  // Python's float_repr_style "short": decpt is where the point goes.
  const int decpt = exponent + 1;
  if (decpt <= -4 || decpt > 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out +=
      fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out;
  }
  if (decpt <= 0) {
    return sign + "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  }
  if (static_cast<size_t>(decpt) >= digits.size()) {
    return sign + digits +
           std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
  }
  return sign + digits.substr(0, static_cast<size_t>(decpt)) + "." +
         digits.substr(static_cast<size_t>(decpt));
}

std::string ascii_string(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t n = util::utf8_sequence(text, i, cp);
    if (n == 0) {
      cp = 0xFFFD;
      n = 1;
    }
    i += n;
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      const uint32_t v = cp - 0x10000;
      out += fmt::format(
        "\\u{:04x}\\u{:04x}", 0xD800 | (v >> 10), 0xDC00 | (v & 0x3FF));
    }
  }
  out += '"';
  return out;
}

std::string dumps(const nlohmann::ordered_json& value,
                  int indent,
                  SortKeys sort) {
  std::string out;
  write(out, value, indent, sort, 0);
  return out;
}

} // namespace ipfsacc::sdk::pyjson
