// Reading rule files (wrappers/*.json) into ToolPolicy, and writing a
// ToolPolicy back out as C++ for the built-in files, both by the tables of
// core/rule_fields; and the regexes rule files hold.

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/policy.hpp"
#include "core/rule_fields.hpp"

#include <pcre2.h>

namespace ipfsacc {

using json = nlohmann::json;

namespace {

// Bounds the backtracking of one match (PCRE2's default is 10 million).
constexpr uint32_t kMatchLimit = 1'000'000;

} // namespace

void* LazyRegex::code() const {
  if (!code_ && !invalid_ && !pattern_.empty()) {
    int error;
    PCRE2_SIZE offset;
    pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()),
                    pattern_.size(),
                    0,
                    &error,
                    &offset,
                    nullptr);
    if (!compiled) {
      invalid_ = true;
      return nullptr;
    }
    code_ = std::shared_ptr<void>(
      compiled, [](void* c) { pcre2_code_free(static_cast<pcre2_code*>(c)); });
  }
  return code_.get();
}

std::optional<std::string> LazyRegex::error() const {
  int error;
  PCRE2_SIZE offset;
  pcre2_code* compiled =
    pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.data()),
                  pattern_.size(),
                  0,
                  &error,
                  &offset,
                  nullptr);
  if (compiled) {
    pcre2_code_free(compiled);
    return std::nullopt;
  }
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(error, message, sizeof(message));
  return fmt::format(
    "{} at offset {}", reinterpret_cast<const char*>(message), offset);
}

namespace {

// Runs the regex; returns the match data (nullptr on no match) and whether
// matching failed (invalid pattern or work limit).
struct MatchResult {
  std::shared_ptr<pcre2_match_data> data;
  bool failed = false;
};

MatchResult run_match(pcre2_code* code, std::string_view text) {
  MatchResult result;
  if (!code) {
    result.failed = true;
    return result;
  }
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context, kMatchLimit);
  int rc = pcre2_match(code,
                       reinterpret_cast<PCRE2_SPTR>(text.data()),
                       text.size(),
                       0,
                       0,
                       data,
                       context);
  pcre2_match_context_free(context);
  if (rc >= 0) {
    result.data.reset(data, pcre2_match_data_free);
    return result;
  }
  pcre2_match_data_free(data);
  result.failed = rc != PCRE2_ERROR_NOMATCH;
  return result;
}

} // namespace

bool LazyRegex::search(std::string_view text) const {
  if (pattern_.empty()) {
    return false;
  }
  auto result = run_match(static_cast<pcre2_code*>(code()), text);
  return result.data || result.failed;
}

std::optional<std::string> LazyRegex::capture(std::string_view text) const {
  if (pattern_.empty()) {
    return std::nullopt;
  }
  auto result = run_match(static_cast<pcre2_code*>(code()), text);
  if (!result.data) {
    return std::nullopt;
  }
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(result.data.get());
  uint32_t pairs = pcre2_get_ovector_count(result.data.get());
  size_t group = pairs > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
  return std::string(
    text.substr(ov[2 * group], ov[2 * group + 1] - ov[2 * group]));
}

std::expected<ToolPolicy, std::string> parse_policy(std::string_view text,
                                                    std::string_view origin,
                                                    Validate validate) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, true);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at ...".
    auto colon = what.find(": ", what.find("parse error"));
    return std::unexpected(
      fmt::format("{}:{}: invalid JSON: {}",
                  origin,
                  rule_fields::line_of(text, e.byte > 0 ? e.byte - 1 : 0),
                  colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const json::exception& e) {
    // What the parser refuses beyond syntax: a number past a double's range
    // ("[json.exception.out_of_range.406] number overflow parsing '1e999'").
    std::string what = e.what();
    auto bracket = what.find("] ");
    what = bracket == std::string::npos ? what : what.substr(bracket + 2);
    size_t at = 0;
    auto open = what.find('\'');
    auto close = what.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      at = text.find(what.substr(open + 1, close - open - 1));
      at = at == std::string_view::npos ? 0 : at;
    }
    return std::unexpected(fmt::format(
      "{}:{}: invalid JSON: {}", origin, rule_fields::line_of(text, at), what));
  }
  rule_fields::Reader reader(text, origin, validate);
  try {
    auto policy = rule_fields::read_policy(j, reader);
    policy.origin = origin;
    return policy;
  } catch (const std::runtime_error& e) {
    return std::unexpected(e.what());
  } catch (const json::exception& e) {
    return std::unexpected(fmt::format("{}: {}", origin, e.what()));
  }
}

std::string policy_to_cpp(const ToolPolicy& policy, std::string_view function) {
  return fmt::format("ToolPolicy {}() {{\n  ToolPolicy p;\n{}  return p;\n}}\n",
                     function,
                     rule_fields::policy_statements(policy));
}

} // namespace ipfsacc
