#include "core/config.hpp"
#include "core/usage.hpp"

#include <doctest/doctest.h>

using namespace ipfsacc;

TEST_CASE("parse_usage: claude's JSON result counts every model") {
  auto usage = parse_usage(
    R"({"type":"result","result":"hi","total_cost_usd":0.0123,)"
    R"("usage":{"input_tokens":3,"cache_read_input_tokens":100,"output_tokens":6},)"
    R"("modelUsage":{"claude-haiku":{"inputTokens":10,"outputTokens":2,)"
    R"("cacheReadInputTokens":5},"claude-sonnet":{"inputTokens":3,)"
    R"("outputTokens":6,"cacheCreationInputTokens":7}}})",
    "ignored");
  REQUIRE(usage);
  CHECK(usage->reported_cost_micro_usd == 12300);
  REQUIRE(usage->models.size() == 2);
  CHECK(usage->models[0].model == "claude-haiku");
  CHECK(usage->models[0].input == 15);
  CHECK(usage->models[0].output == 2);
  CHECK(usage->models[1].model == "claude-sonnet");
  CHECK(usage->models[1].input == 10);
  CHECK(usage->models[1].output == 6);
}

TEST_CASE("parse_usage: the Anthropic API and claude without modelUsage") {
  auto usage = parse_usage(
    R"({"id":"msg_1","model":"claude-x","usage":{"input_tokens":12,)"
    R"("cache_creation_input_tokens":1,"output_tokens":40}})",
    "");
  REQUIRE(usage);
  REQUIRE(usage->models.size() == 1);
  CHECK(usage->models[0].model == "claude-x");
  CHECK(usage->models[0].input == 13);
  CHECK(usage->models[0].output == 40);
  CHECK(usage->reported_cost_micro_usd == -1);
  // No model in the document: the one from the flags.
  usage = parse_usage(R"({"usage":{"input_tokens":1,"output_tokens":2}})",
                      "from-flag");
  REQUIRE(usage);
  CHECK(usage->models[0].model == "from-flag");
}

TEST_CASE("parse_usage: OpenAI-style chat completions (groq)") {
  auto usage =
    parse_usage("  {\"model\":\"llama\",\"usage\":{\"prompt_tokens\":30,"
                "\"completion_tokens\":8,\"total_tokens\":38}}\n",
                "");
  REQUIRE(usage);
  REQUIRE(usage->models.size() == 1);
  CHECK(usage->models[0].model == "llama");
  CHECK(usage->models[0].input == 30);
  CHECK(usage->models[0].output == 8);
}

TEST_CASE("parse_usage: the Gemini API and gemini -o json") {
  auto api = parse_usage(
    R"({"modelVersion":"gemini-2.5-pro","usageMetadata":{"promptTokenCount":9,)"
    R"("candidatesTokenCount":4,"thoughtsTokenCount":2}})",
    "");
  REQUIRE(api);
  CHECK(api->models[0].model == "gemini-2.5-pro");
  CHECK(api->models[0].input == 9);
  CHECK(api->models[0].output == 6);
  auto cli = parse_usage(
    R"({"response":"x","stats":{"models":{"gemini-2.5-flash":{"tokens":)"
    R"({"prompt":200,"candidates":40,"thoughts":10,"total":250}}}}})",
    "");
  REQUIRE(cli);
  REQUIRE(cli->models.size() == 1);
  CHECK(cli->models[0].model == "gemini-2.5-flash");
  CHECK(cli->models[0].input == 200);
  CHECK(cli->models[0].output == 50);
}

TEST_CASE("parse_usage: JSON Lines take the last line") {
  auto usage = parse_usage(
    "{\"type\":\"system\"}\n{\"type\":\"assistant\"}\n"
    "{\"type\":\"result\",\"usage\":{\"input_tokens\":5,\"output_tokens\":"
    "1}}\n\n",
    "m");
  REQUIRE(usage);
  CHECK(usage->models[0].input == 5);
}

TEST_CASE("parse_usage: outputs without usage") {
  CHECK_FALSE(parse_usage("", ""));
  CHECK_FALSE(parse_usage("The answer is 42.\n", ""));
  CHECK_FALSE(parse_usage("{\"result\":\"no usage here\"}", ""));
  CHECK_FALSE(parse_usage("{not json", ""));
  CHECK_FALSE(parse_usage("[1,2,3]", ""));
  CHECK_FALSE(parse_usage(R"({"usage":"a string"})", ""));
  // Negative or fractional counts do not wrap around.
  auto odd = parse_usage(
    R"({"usage":{"prompt_tokens":-5,"completion_tokens":2.6}})", "");
  REQUIRE(odd);
  CHECK(odd->models[0].input == 0);
  CHECK(odd->models[0].output == 3);
}

TEST_CASE("parse_price") {
  auto p = parse_price("3/15");
  REQUIRE(p);
  CHECK(p->input == 3);
  CHECK(p->output == 15);
  p = parse_price(" 0.59  0.79 ");
  REQUIRE(p);
  CHECK(p->input == doctest::Approx(0.59));
  CHECK(p->output == doctest::Approx(0.79));
  p = parse_price("$3 / $15");
  REQUIRE(p);
  CHECK(p->output == 15);
  for (auto bad : { "", "3", "cheap", "3/", "-1/2", "3/15/4", "3/15x" }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_price(bad));
  }
}

TEST_CASE("Config::price: exact names before the longest pattern") {
  Config config;
  REQUIRE(config.set("price.claude-*", "1/2", Origin::config_file));
  REQUIRE(config.set("price.claude-sonnet-*", "3/15", Origin::config_file));
  REQUIRE(config.set("price.claude-sonnet-4-5", "4/16", Origin::config_file));
  CHECK(config.price("claude-sonnet-4-5")->input == 4);
  CHECK(config.price("claude-sonnet-4-5-20250929")->input == 3);
  CHECK(config.price("claude-haiku-4")->input == 1);
  CHECK_FALSE(config.price("gpt-4o"));
  CHECK_FALSE(config.price(""));
  CHECK_FALSE(Config::validate("price.x", "free"));
  CHECK(Config::validate("price.x", "0/0"));
}
