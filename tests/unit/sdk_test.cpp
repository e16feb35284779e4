// The HTTP path's tool mappings with a recording transport: the requests
// they make and what they print.
#include "sdk/sdk.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <map>

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

std::string header(const http::Request& request, std::string_view name) {
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
  CHECK(header(request, "Authorization") == "Bearer gsk_k");
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
  CHECK(header(recorder.requests[0], "x-api-key") == "sk-ant-x");
  CHECK(header(recorder.requests[0], "anthropic-version") == "2023-06-01");
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
  CHECK(header(recorder.requests[0], "x-goog-api-key") == "AIza1");
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
