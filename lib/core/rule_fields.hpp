#pragma once

// The fields of a rule file, declared once. Each field is one row of a table:
// its JSON name, what kind of value it holds, whether it is required, how it
// is read into the struct of policy.hpp, and its documentation. Reading a
// rule file (parse_policy), the keys a file may use, the C++ that compiles
// the built-in files in (policy_to_cpp), the canonical dump that compares two
// policies and wrappers/README.md's field tables all follow these rows, so a
// new field is one row (see CONTRIBUTING.md).

#include "core/policy.hpp"

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc::rule_fields {

using json = nlohmann::json;

// Reports errors as "FILE:LINE: message", finding the line by the first
// occurrence of a field's text at or after a place in the file (the
// anchor), since the JSON library keeps no positions.
class Reader {
public:
  Reader(std::string_view text, std::string_view origin, Validate validate)
    : validate(validate)
    , text_(text)
    , origin_(origin) {}
  const Validate validate;

  // Throws std::runtime_error with the line of needle's next occurrence.
  [[noreturn]] void fail(std::string_view needle,
                         std::string_view message) const;
  // Moves the place errors are looked up from to the next occurrence of
  // needle after the current one.
  void anchor(std::string_view needle);

private:
  std::string_view text_;
  std::string_view origin_;
  size_t anchor_ = 0;
};

// The 1-based line of offset in text.
int line_of(std::string_view text, size_t offset);

// What a field holds, as a rule file spells it.
enum class Kind {
  string,      // "text"
  strings,     // ["a", "b"]
  flag_values, // {"--flag": ["value", ...]}
  regex,       // "PCRE2 pattern", compiled when validating
  duration,    // "5m"
  boolean,     // true / false
  object,      // {...} with fields of its own
  objects,     // [{...}, ...], each read with a table of its own
  ignored,     // accepted and not read ("comment")
};

enum class Need { optional, required };

// How one field of T is read, written as C++ and dumped. Made from a member
// pointer for the plain kinds (rule_fields.cpp); written by hand for a field
// that is not one member of its kind (stdin, version, usage).
template<typename T>
struct Access {
  Kind kind = Kind::ignored;
  // Reads value (the JSON of field name) into into; fails through reader.
  void (*read)(const json& value,
               std::string_view name,
               T& into,
               Reader&) = nullptr;
  // C++ statements setting this field of var (a T) to from's value; "" when
  // from holds the default.
  std::string (*to_cpp)(const T& from,
                        std::string_view var,
                        std::string_view indent) = nullptr;
  // The field's value in from, for comparing policies (null: the default).
  json (*to_json)(const T& from) = nullptr;
};

// One row: a field of a rule file.
template<typename T>
struct Field {
  std::string_view name;
  Need need;
  Access<T> access;
  // The row of wrappers/README.md's table ("" for an ignored field, which is
  // not listed there).
  std::string_view doc;
  // Sets the default when the file leaves the field out; nullptr: the
  // member's initializer is the default.
  void (*fill_default)(T& into) = nullptr;
};

// The fields of the top level of a rule file, in the order they are read
// and documented.
std::span<const Field<ToolPolicy>> policy_fields();
// The fields of a rule (an element of "rules").
std::span<const Field<Rule>> rule_fields();

// Reads a whole rule file's JSON; fails through reader.
ToolPolicy read_policy(const json& j, Reader& reader);

// The statements that build policy in a variable p, as policy_to_cpp writes
// them.
std::string policy_statements(const ToolPolicy& policy);

// Every field of policy (and its origin) as JSON, one member per field and
// null for a default: two policies built alike dump alike, whichever way they
// were made (parsed or compiled in).
json policy_to_json(const ToolPolicy& policy);

} // namespace ipfsacc::rule_fields
