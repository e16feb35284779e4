// gemini → the Gemini API's generateContent, for a one-shot prompt
// (`gemini -p PROMPT`, or the prompt piped in). The interactive session and
// the agent's tools need the Gemini CLI itself.
#include "sdk/api_json.hpp"
#include "sdk/sdk.hpp"

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipfsacc::sdk {

namespace {

constexpr std::string_view kGeminiDefaultBase =
  "https://generativelanguage.googleapis.com";
constexpr std::string_view kGeminiDefaultModel = "gemini-2.5-pro";

const OptionSpec kGeminiOptions[] = {
  { { "-p", "--prompt" } },
  { { "-m", "--model" } },
  { { "-o", "--output-format" } },
};

} // namespace

Answer gemini_run(const Invocation& call) {
  auto parsed = parse_args(call.args, kGeminiOptions);
  if (!parsed) {
    return std::unexpected(unsupported(call, parsed.error()));
  }
  auto format = parsed->value("-o").value_or("text");
  if (format != "text" && format != "json") {
    return std::unexpected(
      unsupported(call, fmt::format("--output-format {}", format)));
  }
  if (!parsed->positionals.empty()) {
    return std::unexpected(unsupported(call, "a positional prompt"));
  }
  auto prompt = parsed->value("-p");
  if (!prompt && !call.stdin_data) {
    return std::unexpected(unsupported(call, "an interactive session"));
  }
  std::string text_in;
  if (prompt && call.stdin_data && !call.stdin_data->empty()) {
    return std::unexpected(unsupported(call, "a prompt with piped input"));
  }
  text_in = prompt ? *prompt : *call.stdin_data;

  auto key = env_or(call, "GEMINI_API_KEY", env_or(call, "GOOGLE_API_KEY", ""));
  if (key.empty()) {
    return std::unexpected(unsupported(
      call,
      "a call without GEMINI_API_KEY (set it, or store it with `ipfsacc "
      "secrets set gemini_api_key`)"));
  }
  std::string model =
    parsed->value("-m").value_or(std::string(kGeminiDefaultModel));
  nlohmann::json body = {
    { "contents",
      nlohmann::json::array(
        { { { "role", "user" },
            { "parts",
              nlohmann::json::array({ { { "text", text_in } } }) } } }) }
  };
  http::Request request;
  request.method = "POST";
  request.url = join_url(
    env_or(call, "GOOGLE_GEMINI_BASE_URL", kGeminiDefaultBase),
    fmt::format("/v1beta/models/{}:generateContent", url_encode(model)));
  request.headers = { { "x-goog-api-key", key },
                      { "Content-Type", "application/json" } };
  request.body = dump_json(body);
  auto started = std::chrono::steady_clock::now();
  auto response = call.transport(request);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count();
  if (!response) {
    return transport_failure(call, response.error());
  }
  Outcome outcome;
  outcome.requests = 1;
  if (response->status != 200) {
    std::string message = api_error_message(response->body);
    outcome.exit_code = 1;
    outcome.cacheable = false;
    if (format == "json") {
      nlohmann::json error = {
        { "error",
          { { "type", "ApiError" },
            { "message",
              fmt::format("[API Error: {} {}]", response->status, message) },
            { "code", 1 } } }
      };
      outcome.err = dump_json(error, 2) + "\n";
    } else {
      outcome.err = fmt::format(
        "Error when talking to Gemini API {} {}\n", response->status, message);
    }
    return outcome;
  }
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  const nlohmann::json* parts = nullptr;
  if (const auto* candidates = json_member(json, "candidates")) {
    if (const auto* first = json_item(*candidates, 0)) {
      if (const auto* content = json_member(*first, "content")) {
        parts = json_member(*content, "parts");
      }
    }
  }
  if (!parts || !parts->is_array()) {
    return unexpected_answer(call, "has no candidates");
  }
  // The answer is the text of the parts that are not thoughts; a part that
  // is not an object with text, where text is given, is not one the Gemini
  // CLI could print.
  std::string text;
  for (const auto& part : *parts) {
    if (!part.is_object()) {
      return unexpected_answer(call, "has a part that is not an object");
    }
    const auto* value = json_member(part, "text");
    if (!value) {
      continue; // a function call, inline data…
    }
    if (!value->is_string()) {
      return unexpected_answer(call, "has a part whose text is not a string");
    }
    const auto* thought = json_member(part, "thought");
    if (thought && !thought->is_boolean()) {
      return unexpected_answer(call,
                               "has a part whose thought is not true or false");
    }
    if (!json_bool(part, "thought", false)) {
      text += value->get_ref<const std::string&>();
    }
  }
  if (format == "json") {
    static const nlohmann::json kNoUsage = nlohmann::json::object();
    const auto* usage = json_member(json, "usageMetadata");
    const auto& counts = usage ? *usage : kNoUsage;
    nlohmann::json stats = {
      { "models",
        { { model,
            { { "api",
                { { "totalRequests", 1 },
                  { "totalErrors", 0 },
                  { "totalLatencyMs", elapsed } } },
              { "tokens",
                { { "prompt", json_integer(counts, "promptTokenCount", 0) },
                  { "candidates",
                    json_integer(counts, "candidatesTokenCount", 0) },
                  { "total",
                    json_integer(counts, "totalTokenCount", 0) } } } } } } }
    };
    nlohmann::json result = { { "response", text }, { "stats", stats } };
    outcome.out = dump_json(result, 2) + "\n";
  } else {
    outcome.out = text;
    if (!outcome.out.ends_with('\n')) {
      outcome.out += '\n';
    }
  }
  return outcome;
}

} // namespace ipfsacc::sdk
