// gemini → the Gemini API's generateContent, for a one-shot prompt
// (`gemini -p PROMPT`, or the prompt piped in). The interactive session and
// the agent's tools need the Gemini CLI itself.
#include "sdk/sdk.hpp"

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipfsacc::sdk {

namespace {

constexpr std::string_view kDefaultBase =
  "https://generativelanguage.googleapis.com";
constexpr std::string_view kDefaultModel = "gemini-2.5-pro";

const OptionSpec kOptions[] = {
  { { "-p", "--prompt" } },
  { { "-m", "--model" } },
  { { "-o", "--output-format" } },
};

} // namespace

Answer gemini_run(const Invocation& call) {
  auto parsed = parse_args(call.args, kOptions);
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
  std::string model = parsed->value("-m").value_or(std::string(kDefaultModel));
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
    env_or(call, "GOOGLE_GEMINI_BASE_URL", kDefaultBase),
    fmt::format("/v1beta/models/{}:generateContent", url_encode(model)));
  request.headers = { { "x-goog-api-key", key },
                      { "Content-Type", "application/json" } };
  request.body = body.dump();
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
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200) {
    std::string message = response->body;
    if (json.is_object() && json.contains("error") &&
        json["error"].is_object() && json["error"].contains("message")) {
      message = json["error"]["message"].get<std::string>();
    }
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
      outcome.err = error.dump(2) + "\n";
    } else {
      outcome.err = fmt::format(
        "Error when talking to Gemini API {} {}\n", response->status, message);
    }
    return outcome;
  }
  std::string text;
  bool found = false;
  if (json.is_object() && json.contains("candidates") &&
      json["candidates"].is_array() && !json["candidates"].empty()) {
    const auto& content =
      json["candidates"][0].value("content", nlohmann::json{});
    if (content.contains("parts") && content["parts"].is_array()) {
      found = true;
      for (const auto& part : content["parts"]) {
        if (part.contains("text") && !part.value("thought", false)) {
          text += part["text"].get<std::string>();
        }
      }
    }
  }
  if (!found) {
    outcome.exit_code = 1;
    outcome.cacheable = false;
    outcome.err =
      fmt::format("{}: the API's answer has no candidates\n", call.binary);
    return outcome;
  }
  if (format == "json") {
    nlohmann::json usage =
      json.value("usageMetadata", nlohmann::json::object());
    nlohmann::json stats = {
      { "models",
        { { model,
            { { "api",
                { { "totalRequests", 1 },
                  { "totalErrors", 0 },
                  { "totalLatencyMs", elapsed } } },
              { "tokens",
                { { "prompt", usage.value("promptTokenCount", 0) },
                  { "candidates", usage.value("candidatesTokenCount", 0) },
                  { "total", usage.value("totalTokenCount", 0) } } } } } } }
    };
    nlohmann::json result = { { "response", text }, { "stats", stats } };
    outcome.out = result.dump(2) + "\n";
  } else {
    outcome.out = text;
    if (!outcome.out.ends_with('\n')) {
      outcome.out += '\n';
    }
  }
  return outcome;
}

} // namespace ipfsacc::sdk
