// The values of each kind of rule field: read with their errors, written as
// C++, dumped as JSON; and Reader, which finds an error's line.

#include "core/rule_field_kinds.hpp"

#include <stdexcept>

namespace ipfsacc::rule_fields {

void Reader::fail(std::string_view needle, std::string_view message) const {
  size_t at = text_.find(needle, anchor_);
  if (at == std::string_view::npos) {
    at = anchor_;
  }
  throw std::runtime_error(
    fmt::format("{}:{}: {}", origin_, line_of(text_, at), message));
}

void Reader::anchor(std::string_view needle) {
  size_t at = text_.find(needle, anchor_ == 0 ? 0 : anchor_ + 1);
  if (at != std::string_view::npos) {
    anchor_ = at;
  }
}

int line_of(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(
               text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

std::string in_quotes(std::string_view name) {
  return fmt::format("\"{}\"", name);
}

// ---- values of each kind: read, as C++, as JSON ----------------------------

// A C++ string literal for any bytes (octal escapes never run into the
// characters that follow, unlike hex ones).
std::string literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      out += fmt::format("\\{:03o}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void read_value(const json& j,
                std::string_view name,
                std::string& out,
                Reader& reader) {
  if (!j.is_string()) {
    reader.fail(in_quotes(name), fmt::format("'{}' must be a string", name));
  }
  out = j.get<std::string>();
}

void read_value(const json& j,
                std::string_view name,
                std::vector<std::string>& out,
                Reader& reader) {
  if (!j.is_array()) {
    reader.fail(in_quotes(name),
                fmt::format("'{}' must be a list of strings", name));
  }
  out.clear();
  for (const auto& item : j) {
    if (!item.is_string()) {
      reader.fail(in_quotes(name),
                  fmt::format("'{}' must be a list of strings", name));
    }
    out.push_back(item.get<std::string>());
  }
}

void read_value(const json& j,
                std::string_view name,
                FlagValues& out,
                Reader& reader) {
  if (!j.is_object()) {
    reader.fail(in_quotes(name),
                fmt::format("'{}' must be an object of flag → values", name));
  }
  out.clear();
  for (const auto& [flag, values] : j.items()) {
    read_value(values, name, out[flag], reader);
  }
}

void read_value(const json& j,
                std::string_view name,
                LazyRegex& out,
                Reader& reader) {
  std::string pattern;
  read_value(j, name, pattern, reader);
  // Only checked when asked (the build, the tests): a bad one found later
  // counts as matching, which makes a deny deny, so the call passes through.
  out = LazyRegex(pattern);
  if (reader.validate == Validate::yes) {
    if (auto error = out.error()) {
      reader.fail(in_quotes(name),
                  fmt::format("'{}' is not a valid regex: {}", name, *error));
    }
  }
}

void read_value(const json& j,
                std::string_view name,
                std::optional<util::Millis>& out,
                Reader& reader) {
  std::string text;
  read_value(j, name, text, reader);
  auto duration = util::parse_duration(text);
  if (!duration) {
    reader.fail(in_quotes(name), duration.error());
  }
  out = *duration;
}

void read_value(const json& j,
                std::string_view name,
                bool& out,
                Reader& reader) {
  if (!j.is_boolean()) {
    reader.fail(in_quotes(name),
                fmt::format("'{}' must be true or false", name));
  }
  out = j.get<bool>();
}

std::string cpp_value(const std::string& s) {
  return literal(s);
}
std::string cpp_value(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? ", " : "") + literal(v[i]);
  }
  return out + "}";
}
std::string cpp_value(const FlagValues& m) {
  std::string out = "{";
  for (const auto& [flag, values] : m) {
    out += fmt::format("{{{}, {}}}, ", literal(flag), cpp_value(values));
  }
  return out + "}";
}
std::string cpp_value(const LazyRegex& r) {
  return fmt::format("LazyRegex({})", literal(r.pattern()));
}
std::string cpp_value(const std::optional<util::Millis>& d) {
  return fmt::format("util::Millis({})", d->count());
}
std::string cpp_value(bool b) {
  return b ? "true" : "false";
}

bool is_default(const std::string& s) {
  return s.empty();
}
bool is_default(const std::vector<std::string>& v) {
  return v.empty();
}
bool is_default(const FlagValues& m) {
  return m.empty();
}
bool is_default(const LazyRegex& r) {
  return r.empty();
}
bool is_default(const std::optional<util::Millis>& d) {
  return !d;
}
bool is_default(bool b) {
  return !b;
}

json json_value(const std::string& s) {
  return s;
}
json json_value(const std::vector<std::string>& v) {
  return v;
}
json json_value(const FlagValues& m) {
  return m;
}
json json_value(const LazyRegex& r) {
  return r.pattern();
}
json json_value(const std::optional<util::Millis>& d) {
  return d->count();
}
json json_value(bool b) {
  return b;
}

} // namespace ipfsacc::rule_fields
