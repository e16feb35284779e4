#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

// JSON the way Go's encoding/json writes it: what gh prints for --json and
// sends as a GraphQL request's body.
namespace ipfsacc::sdk::gh {

// Whether <, > and & are written as \u003c, \u003e, \u0026 (Go's default;
// gh turns it off for what it prints).
enum class EscapeHtml { no, yes };

// Appends s as a Go string: U+2028/U+2029 and control characters as
// \uXXXX, invalid UTF-8 as U+FFFD.
void go_string(std::string& out, std::string_view s, EscapeHtml html);

// Appends value as Go's encoder would: objects in their order (callers build
// them in the order gh's structs or sorted maps give).
void go_json(std::string& out,
             const nlohmann::ordered_json& value,
             EscapeHtml html);

} // namespace ipfsacc::sdk::gh
