#pragma once

#include "sdk/sdk.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Reading an API's JSON answer without trusting its shape, and writing JSON
// that holds bytes from the command line. An answer can be anything a server
// sends: every accessor here returns nullptr, nullopt or the fallback when a
// value is missing or of another type, and nothing here throws.
namespace ipfsacc::sdk {

// The member key of j when j is an object that has it; nullptr otherwise.
const nlohmann::json* json_member(const nlohmann::json& j,
                                  std::string_view key);

// The item at index of j when j is an array that long; nullptr otherwise.
const nlohmann::json* json_item(const nlohmann::json& j, size_t index);

// The string member key of j; nullopt when it is missing or not a string.
std::optional<std::string> json_string(const nlohmann::json& j,
                                       std::string_view key);

// The integer member key of j; fallback when it is missing or not an integer
// that fits.
int64_t json_integer(const nlohmann::json& j,
                     std::string_view key,
                     int64_t fallback);

// The boolean member key of j; fallback when it is missing or not a boolean.
bool json_bool(const nlohmann::json& j, std::string_view key, bool fallback);

// The most bytes of an error answer any tool prints as its message: an API's
// error body is as untrusted as its answer, and a message is one line of a
// terminal, not a transfer.
inline constexpr size_t kErrorMessageLimit = 64 * 1024;

// What the APIs of the HTTP path put in an error answer's JSON body, read from
// a body of any shape (not JSON, an array, members of other types) without
// throwing. Every string is cut to at most kErrorMessageLimit bytes.
struct ErrorBody {
  bool is_object = false;           // the body is a JSON object
  std::string message;              // "message": "…" (GitHub); "" when none
  std::optional<std::string> error; // "error": {"message": "…"} or "…"
  std::vector<std::string> errors;  // "errors": [ "…" | {"message": "…"} ]
};
ErrorBody read_error_body(std::string_view body);

// The API's own message in an error answer ({"error": {"message": "…"}} or
// {"error": "…"}); otherwise the body itself, cut to at most limit bytes.
// Never longer than kErrorMessageLimit.
std::string api_error_message(std::string_view body,
                              size_t limit = kErrorMessageLimit);

// The outcome of an answer without the shape the CLI expects: "BINARY: the
// API's answer WHAT" on stderr, exit status 1 (as the CLI fails on an answer
// it cannot use), never cached.
Outcome unexpected_answer(const Invocation& call, std::string_view what);

// j as JSON text (indent as nlohmann's dump), with any bytes that are not
// UTF-8 replaced by U+FFFD, as the CLIs' own encoders (Node's, Go's) do with
// such an argument. Never throws.
std::string dump_json(const nlohmann::json& j, int indent = -1);

} // namespace ipfsacc::sdk
