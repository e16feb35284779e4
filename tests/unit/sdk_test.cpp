// The HTTP path's tool mappings with a recording transport: the requests
// they make and what they print.
#include "sdk/api_json.hpp"
#include "sdk/sdk.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <map>
#include <nlohmann/json.hpp>

using namespace ipfsacc;
using ipfsacc::test::contains;

namespace {

struct Recorder {
  std::vector<http::Request> requests;
  http::Response reply;

  http::Transport transport() {
    return [this](const http::Request& request) -> http::Result {
      requests.push_back(request);
      return reply;
    };
  }
};

sdk::Invocation invocation(std::string tool,
                           std::vector<std::string> args,
                           std::map<std::string, std::string> env,
                           Recorder& recorder) {
  sdk::Invocation call;
  call.tool = tool;
  call.binary = tool;
  call.args = std::move(args);
  call.env = [env](std::string_view name) -> std::optional<std::string> {
    if (auto it = env.find(std::string(name)); it != env.end()) {
      return it->second;
    }
    return std::nullopt;
  };
  call.transport = recorder.transport();
  return call;
}

std::string header_value(const http::Request& request, std::string_view name) {
  for (const auto& h : request.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return {};
}

} // namespace

TEST_CASE("sdk: parse_args reads the forms CLIs accept") {
  const sdk::OptionSpec specs[] = { { { "-m", "--model" } },
                                    { { "--json" }, false } };
  std::vector<std::string> args{ "-mfoo", "--json", "prompt", "--", "-x" };
  auto parsed = sdk::parse_args(args, specs);
  REQUIRE(parsed);
  CHECK(parsed->value("-m") == "foo");
  CHECK(parsed->has("--json"));
  CHECK(parsed->positionals == std::vector<std::string>{ "prompt", "-x" });
  std::vector<std::string> equals{ "--model=bar", "--model", "baz" };
  CHECK(sdk::parse_args(equals, specs)->value("-m") == "baz");
  std::vector<std::string> unknown{ "--nope" };
  CHECK(sdk::parse_args(unknown, specs).error() == "unknown option '--nope'");
  std::vector<std::string> missing{ "--model" };
  CHECK_FALSE(sdk::parse_args(missing, specs));
  std::vector<std::string> flag_value{ "--json=1" };
  CHECK_FALSE(sdk::parse_args(flag_value, specs));
}

TEST_CASE("sdk: the registry knows every tool; groq goes over HTTP first") {
  for (auto name :
       { "gh", "groq", "claude", "gemini", "hf", "vastai", "code" }) {
    CHECK(sdk::find_tool(name));
  }
  CHECK_FALSE(sdk::find_tool("run"));
  CHECK(sdk::find_tool("groq")->first == sdk::Path::sdk);
  CHECK(sdk::find_tool("claude")->first == sdk::Path::cli);
}

TEST_CASE("sdk: groq posts a chat completion with the key in a header") {
  Recorder recorder;
  recorder.reply.status = 200;
  recorder.reply.body =
    R"({"choices":[{"index":0,"message":{"role":"assistant","content":"42"}}]})";
  auto call = invocation(
    "groq",
    { "--temperature", "0", "--system", "S", "Q" },
    { { "GROQ_API_KEY", "gsk_k" }, { "GROQ_BASE_URL", "http://h:1/" } },
    recorder);
  auto answer = sdk::find_tool("groq")->run(call);
  REQUIRE(answer);
  CHECK(answer->exit_code == 0);
  CHECK(answer->out == "42\n");
  CHECK(answer->cacheable);
  REQUIRE(recorder.requests.size() == 1);
  const auto& request = recorder.requests[0];
  CHECK(request.method == "POST");
  CHECK(request.url == "http://h:1/openai/v1/chat/completions");
  CHECK(header_value(request, "Authorization") == "Bearer gsk_k");
  CHECK_FALSE(contains(request.url, "gsk_k"));
  CHECK(contains(request.body, R"("temperature":0.0)"));
  CHECK(contains(request.body, R"({"content":"S","role":"system"})"));
}

TEST_CASE("sdk: an API error is printed and not cacheable") {
  Recorder recorder;
  recorder.reply.status = 401;
  recorder.reply.body = R"({"error":{"message":"Invalid API Key"}})";
  auto call =
    invocation("groq", { "Q" }, { { "GROQ_API_KEY", "gsk_k" } }, recorder);
  auto answer = sdk::groq_run(call);
  REQUIRE(answer);
  CHECK(answer->exit_code == 1);
  CHECK_FALSE(answer->cacheable);
  CHECK(answer->err == "groq: error: HTTP 401: Invalid API Key\n");
}

TEST_CASE("sdk: claude -p goes to the Messages API; a session is "
          "unsupported") {
  Recorder recorder;
  recorder.reply.status = 200;
  recorder.reply.body =
    R"({"content":[{"type":"text","text":"Hi"},{"type":"text","text":"!"}],"usage":{"input_tokens":1,"output_tokens":2}})";
  auto call = invocation("claude",
                         { "-p", "hello", "--model", "haiku" },
                         { { "ANTHROPIC_API_KEY", "sk-ant-x" } },
                         recorder);
  auto answer = sdk::claude_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "Hi!\n");
  REQUIRE(recorder.requests.size() == 1);
  CHECK(recorder.requests[0].url == "https://api.anthropic.com/v1/messages");
  CHECK(header_value(recorder.requests[0], "x-api-key") == "sk-ant-x");
  CHECK(header_value(recorder.requests[0], "anthropic-version") ==
        "2023-06-01");
  CHECK(contains(recorder.requests[0].body, R"("model":"claude-haiku-4-5")"));

  auto session = invocation("claude", {}, {}, recorder);
  auto unsupported = sdk::claude_run(session);
  REQUIRE_FALSE(unsupported);
  CHECK(contains(unsupported.error().message, "claude: command not found"));
  CHECK(contains(unsupported.error().message, "install claude"));
  auto tools =
    invocation("claude", { "-p", "x", "--allowedTools", "Bash" }, {}, recorder);
  CHECK_FALSE(sdk::claude_run(tools));
  CHECK(recorder.requests.size() == 1);
}

TEST_CASE("sdk: gemini puts the model in the path and the key in a header") {
  Recorder recorder;
  recorder.reply.status = 200;
  recorder.reply.body =
    R"({"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"}}]})";
  auto call = invocation("gemini",
                         { "-p", "q", "-m", "gemini-2.5-flash" },
                         { { "GEMINI_API_KEY", "AIza1" } },
                         recorder);
  auto answer = sdk::gemini_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "ok\n");
  CHECK(recorder.requests[0].url ==
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-2.5-flash:generateContent");
  CHECK(header_value(recorder.requests[0], "x-goog-api-key") == "AIza1");
}

TEST_CASE("sdk: a transport failure is an uncached exit 1 naming the cause") {
  sdk::Invocation call;
  call.tool = "groq";
  call.binary = "groq";
  call.args = { "Q" };
  call.env = [](std::string_view name) -> std::optional<std::string> {
    return name == "GROQ_API_KEY" ? std::optional<std::string>("gsk")
                                  : std::nullopt;
  };
  call.transport = [](const http::Request&) -> http::Result {
    return std::unexpected(
      http::Error{ "POST https://api.groq.com/x: Operation timed out", true });
  };
  auto answer = sdk::groq_run(call);
  REQUIRE(answer);
  CHECK(answer->exit_code == 1);
  CHECK_FALSE(answer->cacheable);
  CHECK(contains(answer->err, "request timed out"));
}

TEST_CASE("sdk: no answer makes claude or gemini throw, succeed or store") {
  // Bodies no API should send, each wrong for both tools: errors whose
  // message is not a string, and successes of every wrong shape.
  const std::pair<long, std::string> answers[] = {
    { 400, R"({"error":{"message":null}})" },
    { 400, R"({"error":{"message":123}})" },
    { 529, R"({"error":{"message":["a"]}})" },
    { 400, R"({"error":[1]})" },
    { 500, "not json" },
    { 500, "\xff\xfe oops" },
    { 200, "" },
    { 200, "null" },
    { 200, "[]" },
    { 200, R"("content")" },
    { 200, "1e999" },
    { 200, R"({"content":null})" },
    { 200, R"({"content":{"type":"text","text":"x"}})" },
    { 200, R"({"content":["text"]})" },
    { 200, R"({"content":[{"type":"text","text":null}]})" },
    { 200, R"({"content":[{"type":"text","text":5}]})" },
    { 200, R"({"content":[{"type":1}]})" },
    { 200, R"({"content":[{"type":"text","text":"a"},7]})" },
    { 200, R"({"candidates":["x"]})" },
    { 200, R"({"candidates":{}})" },
    { 200, R"({"candidates":[{"content":[]}]})" },
    { 200, R"({"candidates":[{"content":{"parts":"x"}}]})" },
    { 200, R"({"candidates":[{"content":{"parts":["x"]}}]})" },
    { 200, R"({"candidates":[{"content":{"parts":[{"text":null}]}}]})" },
    { 200,
      R"({"candidates":[{"content":{"parts":[{"text":"a","thought":1}]}}]})" },
    { 200, std::string(100000, '[') + std::string(100000, ']') },
  };
  const std::map<std::string, std::string> env = {
    { "ANTHROPIC_API_KEY", "sk-ant-k" }, { "GEMINI_API_KEY", "g-k" }
  };
  for (const auto& [status, body] : answers) {
    for (std::vector<std::string> args :
         { std::vector<std::string>{ "claude", "-p", "q" },
           { "claude", "-p", "q", "--output-format", "json" },
           { "gemini", "-p", "q" },
           { "gemini", "-p", "q", "-o", "json" } }) {
      CAPTURE(status);
      CAPTURE(body.substr(0, 80));
      CAPTURE(args[0]);
      Recorder recorder;
      recorder.reply.status = status;
      recorder.reply.body = body;
      auto tool = args[0];
      args.erase(args.begin());
      auto call = invocation(tool, args, env, recorder);
      sdk::Answer answer;
      // The tool itself, without run_tool's net.
      REQUIRE_NOTHROW(answer = sdk::find_tool(tool)->run(call));
      REQUIRE(answer);
      CHECK(answer->exit_code == 1);
      CHECK_FALSE(answer->cacheable);
      // Says so: the CLI's API error, or the answer it cannot use.
      auto said = answer->out + answer->err;
      bool says = said.find(tool + ": the API's answer") != std::string::npos ||
                  said.find("Error") != std::string::npos;
      CHECK(says);
    }
  }
}

TEST_CASE("sdk: a prompt that is not UTF-8 is sent as the CLIs send it") {
  Recorder recorder;
  recorder.reply.status = 200;
  recorder.reply.body = R"({"content":[{"type":"text","text":"ok"}]})";
  auto call = invocation("claude",
                         { "-p", "\xed\xa0\x80 \xff" },
                         { { "ANTHROPIC_API_KEY", "sk-ant-k" } },
                         recorder);
  auto answer = sdk::run_tool(*sdk::find_tool("claude"), call);
  REQUIRE(answer);
  CHECK(answer->out == "ok\n");
  REQUIRE(recorder.requests.size() == 1);
  // Valid JSON, each byte that is not UTF-8 a U+FFFD, as Node sends it.
  auto sent = nlohmann::json::parse(recorder.requests[0].body);
  CHECK(sent["messages"][0]["content"] ==
        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd");
}

TEST_CASE(
  "sdk: run_tool turns what a tool throws on an answer into a failure") {
  sdk::Tool throws{ "claude",
                    sdk::never_identical,
                    [](const sdk::Invocation&) -> sdk::Answer {
                      sdk::Outcome outcome;
                      outcome.out = nlohmann::json::parse("{").dump();
                      return outcome;
                    } };
  Recorder recorder;
  auto call = invocation("claude", {}, {}, recorder);
  sdk::Answer answer;
  REQUIRE_NOTHROW(answer = sdk::run_tool(throws, call));
  REQUIRE(answer);
  CHECK(answer->exit_code == 1);
  CHECK_FALSE(answer->cacheable);
  CHECK(answer->err == "claude: the API's answer has an unexpected shape\n");
}

TEST_CASE("sdk: api_json reads any answer without throwing") {
  using nlohmann::json;
  CHECK(sdk::api_error_message(R"({"error":{"message":"m"}})") == "m");
  CHECK(sdk::api_error_message(R"({"error":"e"})") == "e");
  CHECK(sdk::api_error_message(R"({"error":{"message":null}})") ==
        R"({"error":{"message":null}})");
  CHECK(sdk::api_error_message("0123456789", 4) == "0123");
  auto j = json::parse(
    R"({"n":-3,"big":18446744073709551615,"s":"x","b":true,"a":[1],"f":1.5})");
  CHECK(sdk::json_integer(j, "n", 7) == -3);
  CHECK(sdk::json_integer(j, "big", 7) == 7);
  CHECK(sdk::json_integer(j, "f", 7) == 7);
  CHECK(sdk::json_integer(j, "s", 7) == 7);
  CHECK(sdk::json_integer(json::array(), "n", 7) == 7);
  CHECK(sdk::json_string(j, "s") == "x");
  CHECK_FALSE(sdk::json_string(j, "b"));
  CHECK_FALSE(sdk::json_string(json("s"), "s"));
  CHECK(sdk::json_bool(j, "b", false));
  CHECK(sdk::json_bool(j, "s", true));
  CHECK(sdk::json_item(j["a"], 0));
  CHECK_FALSE(sdk::json_item(j["a"], 1));
  CHECK_FALSE(sdk::json_item(j, 0));
  CHECK_FALSE(sdk::json_member(j["a"], "n"));
  CHECK(sdk::dump_json(json("a\xff")) == "\"a\xef\xbf\xbd\"");
}
