#include "sdk/gh/go_json.hpp"

#include "util/text.hpp"

#include <cstdint>

namespace ipfsacc::sdk::gh {

void go_string(std::string& out, std::string_view s, EscapeHtml html) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || (html == EscapeHtml::yes &&
                              (c == '<' || c == '>' || c == '&'))) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t n = util::utf8_sequence(s, i, cp);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

void go_json(std::string& out,
             const nlohmann::ordered_json& value,
             EscapeHtml html) {
  using Json = nlohmann::ordered_json;
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      out += "null";
      break;
    case Json::value_t::boolean:
      out += value.template get<bool>() ? "true" : "false";
      break;
    case Json::value_t::string:
      go_string(out, value.template get_ref<const std::string&>(), html);
      break;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) {
          out += ',';
        }
        first = false;
        go_json(out, item, html);
      }
      out += ']';
      break;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) {
          out += ',';
        }
        first = false;
        go_string(out, key, html);
        out += ':';
        go_json(out, item, html);
      }
      out += '}';
      break;
    }
    default:
      out += value.dump();
      break;
  }
}

} // namespace ipfsacc::sdk::gh
