#pragma once

// How a field of each kind (rule_fields.hpp's Kind) is read from a rule
// file, written as C++ and dumped as JSON, and the tables of fields these
// make up. Only rule_fields.cpp, which holds the tables, includes this.

#include "core/rule_fields.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ipfsacc::rule_fields {

using FlagValues = std::map<std::string, std::vector<std::string>>;

// "name", as a needle for Reader::fail.
std::string in_quotes(std::string_view name);
// A C++ string literal for any bytes.
std::string literal(std::string_view s);

// Reading, writing and dumping a value of each plain kind; is_default says
// whether it is what a file that leaves the field out gets.
void read_value(const json& j,
                std::string_view name,
                std::string& out,
                Reader& reader);
void read_value(const json& j,
                std::string_view name,
                std::vector<std::string>& out,
                Reader& reader);
void read_value(const json& j,
                std::string_view name,
                FlagValues& out,
                Reader& reader);
void read_value(const json& j,
                std::string_view name,
                LazyRegex& out,
                Reader& reader);
void read_value(const json& j,
                std::string_view name,
                std::optional<util::Millis>& out,
                Reader& reader);
void read_value(const json& j,
                std::string_view name,
                bool& out,
                Reader& reader);
std::string cpp_value(const std::string& s);
std::string cpp_value(const std::vector<std::string>& v);
std::string cpp_value(const FlagValues& m);
std::string cpp_value(const LazyRegex& r);
std::string cpp_value(const std::optional<util::Millis>& d);
std::string cpp_value(bool b);
bool is_default(const std::string& s);
bool is_default(const std::vector<std::string>& v);
bool is_default(const FlagValues& m);
bool is_default(const LazyRegex& r);
bool is_default(const std::optional<util::Millis>& d);
bool is_default(bool b);
json json_value(const std::string& s);
json json_value(const std::vector<std::string>& v);
json json_value(const FlagValues& m);
json json_value(const LazyRegex& r);
json json_value(const std::optional<util::Millis>& d);
json json_value(bool b);

template<typename M>
constexpr Kind kind_of() {
  if constexpr (std::is_same_v<M, std::string>) {
    return Kind::string;
  } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
    return Kind::strings;
  } else if constexpr (std::is_same_v<M, FlagValues>) {
    return Kind::flag_values;
  } else if constexpr (std::is_same_v<M, LazyRegex>) {
    return Kind::regex;
  } else if constexpr (std::is_same_v<M, std::optional<util::Millis>>) {
    return Kind::duration;
  } else {
    static_assert(std::is_same_v<M, bool>, "no kind for this member type");
    return Kind::boolean;
  }
}

// ---- accesses made from member pointers ------------------------------------

// A member's name as a template argument, for the generated C++.
template<size_t N>
struct Name {
  constexpr Name(const char (&s)[N]) { std::copy_n(s, N, text); }
  constexpr std::string_view view() const { return { text, N - 1 }; }
  char text[N];
};

template<typename>
struct MemberOf;
template<typename T, typename M>
struct MemberOf<M T::*> {
  using Object = T;
  using Type = M;
};

// The access to a member of one of the plain kinds, its kind told by its
// type: a rule file's "ttl" read into Rule::ttl, written as
// `r.ttl = util::Millis(300000);`.
template<auto member, Name cpp_name>
Access<typename MemberOf<decltype(member)>::Object> plain() {
  using T = typename MemberOf<decltype(member)>::Object;
  using M = typename MemberOf<decltype(member)>::Type;
  return {
    kind_of<M>(),
    [](const json& j, std::string_view name, T& into, Reader& reader) {
      read_value(j, name, into.*member, reader);
    },
    [](const T& from, std::string_view var, std::string_view indent) {
      if (is_default(from.*member)) {
        return std::string();
      }
      return fmt::format("{}{}.{} = {};\n",
                         indent,
                         var,
                         cpp_name.view(),
                         cpp_value(from.*member));
    },
    [](const T& from) {
      return is_default(from.*member) ? json() : json_value(from.*member);
    },
  };
}

#define IPFSACC_MEMBER(Type, member) plain<&Type::member, #member>()

template<typename T>
Access<T> ignored() {
  return { Kind::ignored,
           [](const json&, std::string_view, T&, Reader&) {},
           [](const T&, std::string_view, std::string_view) {
             return std::string();
           },
           [](const T&) { return json(); } };
}

// ---- objects: a table of fields ---------------------------------------------

// The fields of one kind of object, and what is checked across them.
template<typename T>
struct Table {
  std::span<const Field<T>> fields;
  // For the generated C++: the type and the variable of one being built.
  std::string_view cpp_type;
  std::string_view cpp_var;
  // Names the object in messages ("a secret").
  std::string_view what;
  // When a required field is missing: where to point, what to say.
  std::string_view missing_needle = {};
  std::string_view missing_message = {};
  // Runs once the required fields are known present (nullptr: nothing).
  void (*before_fields)(Reader&) = nullptr;
  // Checks across fields once all are read (nullptr: none).
  void (*after_fields)(const T&, Reader&) = nullptr;
};

// Reads j into a T by table; what names it in messages about unknown fields.
template<typename T>
T read_object(const json& j,
              const Table<T>& table,
              std::string_view what,
              Reader& reader) {
  for (const auto& [key, value] : j.items()) {
    auto row = std::find_if(table.fields.begin(),
                            table.fields.end(),
                            [&](const Field<T>& f) { return f.name == key; });
    if (row == table.fields.end()) {
      reader.fail(in_quotes(key),
                  fmt::format("unknown field '{}' in {}", key, what));
    }
  }
  for (const auto& field : table.fields) {
    if (field.need == Need::required && !j.contains(field.name)) {
      reader.fail(table.missing_needle, table.missing_message);
    }
  }
  if (table.before_fields) {
    table.before_fields(reader);
  }
  T out;
  for (const auto& field : table.fields) {
    if (j.contains(field.name)) {
      field.access.read(j[field.name], field.name, out, reader);
    } else if (field.fill_default) {
      field.fill_default(out);
    }
  }
  if (table.after_fields) {
    table.after_fields(out, reader);
  }
  return out;
}

// The statements that set every field of from in var.
template<typename T>
std::string object_to_cpp(const T& from,
                          const Table<T>& table,
                          std::string_view var,
                          std::string_view indent) {
  std::string out;
  for (const auto& field : table.fields) {
    out += field.access.to_cpp(from, var, indent);
  }
  return out;
}

template<typename T>
json object_to_json(const T& from, const Table<T>& table) {
  json out = json::object();
  for (const auto& field : table.fields) {
    if (field.access.kind != Kind::ignored) {
      out[std::string(field.name)] = field.access.to_json(from);
    }
  }
  return out;
}

// The access to a list of objects read by table(): "account" into
// ToolPolicy::account, each element written as a block building one.
template<auto member, Name cpp_name, auto table>
Access<typename MemberOf<decltype(member)>::Object> objects() {
  using T = typename MemberOf<decltype(member)>::Object;
  return {
    Kind::objects,
    [](const json& j, std::string_view name, T& into, Reader& reader) {
      const auto& t = table();
      if (!j.is_array()) {
        reader.fail(in_quotes(name), fmt::format("'{}' must be a list", name));
      }
      for (const auto& element : j) {
        if (!element.is_object()) {
          reader.fail(in_quotes(name),
                      fmt::format("{} must be an object", t.what));
        }
        (into.*member).push_back(read_object(element, t, t.what, reader));
      }
    },
    [](const T& from, std::string_view var, std::string_view indent) {
      const auto& t = table();
      std::string inner = std::string(indent) + "  ";
      std::string out;
      for (const auto& element : from.*member) {
        out +=
          fmt::format("{}{{\n{}{} {};\n", indent, inner, t.cpp_type, t.cpp_var);
        out += object_to_cpp(element, t, t.cpp_var, inner);
        out += fmt::format("{}{}.{}.push_back(std::move({}));\n{}}}\n",
                           inner,
                           var,
                           cpp_name.view(),
                           t.cpp_var,
                           indent);
      }
      return out;
    },
    [](const T& from) {
      json out = json::array();
      for (const auto& element : from.*member) {
        out.push_back(object_to_json(element, table()));
      }
      return out.empty() ? json() : out;
    },
  };
}

// Replaces the read of an access (a field with a check of its own).
template<typename T>
Access<T> read_with(Access<T> access,
                    void (*read)(const json&, std::string_view, T&, Reader&)) {
  access.read = read;
  return access;
}

} // namespace ipfsacc::rule_fields
