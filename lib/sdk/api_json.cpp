#include "sdk/api_json.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace ipfsacc::sdk {

using json = nlohmann::json;

const json* json_member(const json& j, std::string_view key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json* json_item(const json& j, size_t index) {
  if (!j.is_array() || index >= j.size()) {
    return nullptr;
  }
  return &j[index];
}

std::optional<std::string> json_string(const json& j, std::string_view key) {
  const json* value = json_member(j, key);
  if (!value || !value->is_string()) {
    return std::nullopt;
  }
  return value->get_ref<const std::string&>();
}

int64_t json_integer(const json& j, std::string_view key, int64_t fallback) {
  const json* value = json_member(j, key);
  if (!value) {
    return fallback;
  }
  if (value->is_number_unsigned()) {
    auto v = value->get<uint64_t>();
    return v > uint64_t(std::numeric_limits<int64_t>::max())
             ? fallback
             : static_cast<int64_t>(v);
  }
  if (value->is_number_integer()) {
    return value->get<int64_t>();
  }
  return fallback;
}

bool json_bool(const json& j, std::string_view key, bool fallback) {
  const json* value = json_member(j, key);
  return value && value->is_boolean() ? value->get<bool>() : fallback;
}

namespace {

std::string bounded(std::string_view text) {
  return std::string(text.substr(0, kErrorMessageLimit));
}

} // namespace

ErrorBody read_error_body(std::string_view body) {
  ErrorBody out;
  auto doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) {
    return out;
  }
  out.is_object = true;
  if (auto message = json_string(doc, "message")) {
    out.message = bounded(*message);
  }
  if (const json* error = json_member(doc, "error")) {
    if (auto message = json_string(*error, "message")) {
      out.error = bounded(*message);
    } else if (error->is_string()) {
      out.error = bounded(error->get_ref<const std::string&>());
    }
  }
  if (const json* errors = json_member(doc, "errors");
      errors && errors->is_array()) {
    for (const auto& e : *errors) {
      if (e.is_string()) {
        out.errors.push_back(bounded(e.get_ref<const std::string&>()));
      } else if (auto message = json_string(e, "message")) {
        out.errors.push_back(bounded(*message));
      }
    }
  }
  return out;
}

std::string api_error_message(std::string_view body, size_t limit) {
  if (auto error = read_error_body(body).error) {
    return std::move(*error);
  }
  return std::string(body.substr(0, std::min(limit, kErrorMessageLimit)));
}

Outcome unexpected_answer(const Invocation& call, std::string_view what) {
  Outcome outcome;
  outcome.exit_code = 1;
  outcome.cacheable = false;
  outcome.err = fmt::format("{}: the API's answer {}\n", call.binary, what);
  return outcome;
}

std::string dump_json(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

} // namespace ipfsacc::sdk
