// claude → the Anthropic Messages API, for `claude -p` (print mode): one
// prompt, one answer, no tools. Anything else (the interactive session,
// --continue, tools, MCP) needs Claude Code itself.
#include "sdk/api_json.hpp"
#include "sdk/sdk.hpp"

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>

namespace ipfsacc::sdk {

namespace {

constexpr std::string_view kDefaultBase = "https://api.anthropic.com";
constexpr std::string_view kApiVersion = "2023-06-01";
constexpr std::string_view kDefaultModel = "claude-sonnet-4-5";
constexpr int kMaxTokens = 8192;

const OptionSpec kOptions[] = {
  { { "-p", "--print" }, false },
  { { "--model" } },
  { { "--system-prompt" } },
  { { "--output-format" } },
};

// Claude Code's model aliases.
std::string model_id(const std::string& name) {
  if (name == "sonnet") {
    return "claude-sonnet-4-5";
  }
  if (name == "opus") {
    return "claude-opus-4-1";
  }
  if (name == "haiku") {
    return "claude-haiku-4-5";
  }
  return name;
}

// A random UUID (version 4): every claude -p run is a new session.
std::string session_id() {
  std::random_device random;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string id = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  for (auto& c : id) {
    if (c == 'x' || c == 'y') {
      int v = c == 'x' ? hex(random) : (8 + hex(random) % 4);
      c = "0123456789abcdef"[v];
    }
  }
  return id;
}

} // namespace

Answer claude_run(const Invocation& call) {
  auto parsed = parse_args(call.args, kOptions);
  if (!parsed) {
    return std::unexpected(unsupported(call, parsed.error()));
  }
  if (!parsed->has("-p")) {
    return std::unexpected(unsupported(call, "an interactive session"));
  }
  auto format = parsed->value("--output-format").value_or("text");
  if (format != "text" && format != "json") {
    return std::unexpected(
      unsupported(call, fmt::format("--output-format {}", format)));
  }
  if (parsed->positionals.size() > 1) {
    return std::unexpected(unsupported(call, "more than one prompt"));
  }
  std::string prompt;
  if (!parsed->positionals.empty()) {
    // Piped input next to a prompt is context that Claude Code arranges in
    // its own way.
    if (call.stdin_data && !call.stdin_data->empty()) {
      return std::unexpected(unsupported(call, "a prompt with piped input"));
    }
    prompt = parsed->positionals.front();
  } else if (call.stdin_data) {
    prompt = *call.stdin_data;
  }
  if (prompt.empty()) {
    return usage_error(call,
                       "Input must be provided either through stdin or as a "
                       "prompt argument when using --print");
  }

  auto key = env_or(call, "ANTHROPIC_API_KEY", "");
  if (key.empty()) {
    return std::unexpected(unsupported(
      call,
      "a call without ANTHROPIC_API_KEY (set it, or store it with `ipfsacc "
      "secrets set anthropic_api_key`)"));
  }
  nlohmann::json body;
  body["model"] =
    model_id(parsed->value("--model").value_or(std::string(kDefaultModel)));
  body["max_tokens"] = kMaxTokens;
  if (auto system = parsed->value("--system-prompt")) {
    body["system"] = *system;
  }
  body["messages"] =
    nlohmann::json::array({ { { "role", "user" }, { "content", prompt } } });

  http::Request request;
  request.method = "POST";
  request.url =
    join_url(env_or(call, "ANTHROPIC_BASE_URL", kDefaultBase), "/v1/messages");
  request.headers = { { "x-api-key", key },
                      { "anthropic-version", std::string(kApiVersion) },
                      { "content-type", "application/json" } };
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
    outcome.exit_code = 1;
    outcome.cacheable = false;
    std::string text = fmt::format(
      "API Error: {} {}", response->status, api_error_message(response->body));
    if (format == "json") {
      nlohmann::json result = { { "type", "result" },
                                { "subtype", "success" },
                                { "is_error", true },
                                { "duration_ms", elapsed },
                                { "num_turns", 1 },
                                { "result", text },
                                { "session_id", session_id() } };
      outcome.out = dump_json(result) + "\n";
    } else {
      outcome.out = text + "\n";
    }
    return outcome;
  }
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  const auto* content = json_member(json, "content");
  if (!content || !content->is_array()) {
    return unexpected_answer(call, "has no content");
  }
  // Text blocks make the answer; blocks of other types (tool use, thinking)
  // are not printed. A block without a type, or a text block without text,
  // is not an answer Claude Code could print.
  std::string text;
  for (const auto& block : *content) {
    auto type = json_string(block, "type");
    if (!type) {
      return unexpected_answer(call, "has a content block without a type");
    }
    if (*type != "text") {
      continue;
    }
    auto part = json_string(block, "text");
    if (!part) {
      return unexpected_answer(call, "has a content block without text");
    }
    text += *part;
  }
  if (format == "json") {
    nlohmann::json result = { { "type", "result" },
                              { "subtype", "success" },
                              { "is_error", false },
                              { "duration_ms", elapsed },
                              { "duration_api_ms", elapsed },
                              { "num_turns", 1 },
                              { "result", text },
                              { "session_id", session_id() } };
    if (const auto* usage = json_member(json, "usage")) {
      result["usage"] = *usage;
    }
    outcome.out = dump_json(result) + "\n";
  } else {
    outcome.out = text + "\n";
  }
  return outcome;
}

} // namespace ipfsacc::sdk
