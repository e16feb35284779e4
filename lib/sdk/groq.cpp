// groq: there is no official Groq CLI, so `ipfsacc groq` is ipfsacc's own
// chat form, made over Groq's OpenAI-compatible API (see wrappers/groq.json):
//   groq [-m MODEL] [--temperature T] [--system S] [--json] PROMPT|-
#include "sdk/api_json.hpp"
#include "sdk/sdk.hpp"

#include <charconv>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>

namespace ipfsacc::sdk {

namespace {

constexpr std::string_view kGroqDefaultBase = "https://api.groq.com";
constexpr std::string_view kGroqPath = "/openai/v1/chat/completions";
constexpr std::string_view kGroqDefaultModel = "llama-3.3-70b-versatile";

const OptionSpec kGroqOptions[] = {
  { { "-m", "--model" } },
  { { "--temperature", "-t" } },
  { { "--system", "-s" } },
  { { "--json" }, false },
};

} // namespace

Answer groq_run(const Invocation& call) {
  auto parsed = parse_args(call.args, kGroqOptions);
  if (!parsed) {
    return usage_error(call, parsed.error());
  }
  if (parsed->positionals.size() != 1) {
    return usage_error(
      call,
      "expected one prompt (or - to read it from stdin): groq [-m MODEL] "
      "[--temperature T] [--system S] [--json] PROMPT|-");
  }
  std::string prompt = parsed->positionals.front();
  if (prompt == "-") {
    if (!call.stdin_data) {
      return usage_error(call, "a prompt of - is read from piped stdin");
    }
    prompt = *call.stdin_data;
  }
  nlohmann::json body;
  body["model"] = parsed->value("-m").value_or(std::string(kGroqDefaultModel));
  nlohmann::json messages = nlohmann::json::array();
  if (auto system = parsed->value("--system")) {
    messages.push_back({ { "role", "system" }, { "content", *system } });
  }
  messages.push_back({ { "role", "user" }, { "content", prompt } });
  body["messages"] = std::move(messages);
  if (auto text = parsed->value("--temperature")) {
    double temperature = 0;
    auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), temperature);
    if (ec != std::errc() || end != text->data() + text->size() ||
        temperature < 0 || temperature > 2) {
      return usage_error(
        call,
        fmt::format("--temperature: '{}' is not a number from 0 to 2", *text));
    }
    body["temperature"] = temperature;
  }

  auto key = env_or(call, "GROQ_API_KEY", "");
  if (key.empty()) {
    Outcome outcome;
    outcome.exit_code = 1;
    outcome.cacheable = false;
    outcome.err = fmt::format(
      "{}: GROQ_API_KEY is not set (export it, or store it with `ipfsacc "
      "secrets set groq_api_key`)\n",
      call.binary);
    return outcome;
  }
  http::Request request;
  request.method = "POST";
  request.url =
    join_url(env_or(call, "GROQ_BASE_URL", kGroqDefaultBase), kGroqPath);
  request.headers = { { "Authorization", "Bearer " + key },
                      { "Content-Type", "application/json" },
                      { "Accept", "application/json" } };
  request.body = dump_json(body);
  auto response = call.transport(request);
  if (!response) {
    return transport_failure(call, response.error());
  }
  Outcome outcome;
  outcome.requests = 1;
  if (response->status != 200) {
    outcome.exit_code = 1;
    outcome.cacheable = false;
    outcome.err = fmt::format("{}: error: HTTP {}: {}\n",
                              call.binary,
                              response->status,
                              api_error_message(response->body, 500));
    return outcome;
  }
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  std::optional<std::string> content;
  if (const auto* choices = json_member(json, "choices")) {
    if (const auto* choice = json_item(*choices, 0)) {
      if (const auto* message = json_member(*choice, "message")) {
        content = json_string(*message, "content");
      }
    }
  }
  if (!content) {
    outcome.exit_code = 1;
    outcome.cacheable = false;
    outcome.err = fmt::format(
      "{}: error: the API's answer has no choices[0].message.content\n",
      call.binary);
    return outcome;
  }
  if (parsed->has("--json")) {
    outcome.out = response->body;
  } else {
    outcome.out = std::move(*content);
  }
  if (!outcome.out.ends_with('\n')) {
    outcome.out += '\n';
  }
  return outcome;
}

} // namespace ipfsacc::sdk
