#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

// JSON written byte for byte the way CPython's json.dumps writes it (the
// wrapped CLIs hf and vastai are Python programs): ensure_ascii escapes,
// float repr, the item and key separators of an indented or a flat dump.
namespace ipfsacc::sdk::pyjson {

enum class SortKeys { no, yes };

// json.dumps(value, indent=indent, sort_keys=…); indent < 0 is indent=None
// (", " and ": " separators on one line, as requests sends a json= body).
// Objects keep their order unless sort is yes (then by code point, as
// Python sorts str keys).
std::string dumps(const nlohmann::ordered_json& value,
                  int indent,
                  SortKeys sort = SortKeys::no);

// repr(float): the shortest digits that round-trip, in fixed notation for
// 1e-4 <= |x| < 1e16 ("100000.0", "0.0001") and exponent notation outside
// ("1e-05", "1e+16"); "Infinity", "-Infinity", "NaN" as json.dumps writes
// them.
std::string float_repr(double value);

// A str as json.dumps writes it with ensure_ascii: quoted, everything
// outside ' '..'~' escaped (\n, \", \\, \u00e9, surrogate pairs above the
// BMP); invalid UTF-8 becomes \ufffd.
std::string ascii_string(std::string_view text);

} // namespace ipfsacc::sdk::pyjson
