// The proxy's request key: what enters the canonical request document and
// what never does.

#include "core/request.hpp"
#include "serve/answer_store.hpp"
#include "serve/request_key.hpp"
#include "serve/routes.hpp"
#include "serve/scrub.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace {

using ipfsacc::serve::ProxyRequest;

ProxyRequest anthropic_request(std::string body) {
  ProxyRequest r;
  r.method = "POST";
  r.route = ipfsacc::serve::route_named("anthropic");
  r.path = "/v1/messages";
  r.headers = { { "x-api-key", "sk-ant-secret-one" },
                { "anthropic-version", "2023-06-01" },
                { "content-type", "application/json" } };
  r.body = std::move(body);
  return r;
}

const ipfsacc::serve::ScrubProfile* anthropic_profile() {
  return ipfsacc::serve::builtin_scrub_profile("anthropic");
}

std::string document_of(const ProxyRequest& r,
                        std::string_view account = "h:account") {
  return ipfsacc::serve::canonical_request(
    r, "https://api.anthropic.com", anthropic_profile(), account);
}

} // namespace

TEST_CASE("serve key: the order of JSON members and query parameters does "
          "not matter") {
  auto a = anthropic_request(
    R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})");
  auto b = anthropic_request(
    R"({"messages":[{"content":"hi","role":"user"}], "max_tokens":5,
        "model":"m"})");
  CHECK(document_of(a) == document_of(b));
  a.query = "b=2&a=1";
  b.query = "a=1&b=2";
  CHECK(document_of(a) == document_of(b));
  // But what is asked does.
  auto c = anthropic_request(
    R"({"model":"m","max_tokens":6,"messages":[{"role":"user","content":"hi"}]})");
  CHECK(
    document_of(c) !=
    document_of(anthropic_request(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})")));
  // stream stays in the key: a stream and a whole answer differ in bytes.
  auto streamed = anthropic_request(
    R"({"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  CHECK(
    document_of(streamed) !=
    document_of(anthropic_request(
      R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})")));
}

TEST_CASE("serve key: what the Anthropic scrub profile drops does not "
          "matter") {
  REQUIRE(anthropic_profile());
  auto a = anthropic_request(
    R"({"model":"m","max_tokens":5,"metadata":{"user_id":"session-1"},
        "system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197; cch=aaaa;"},
                  {"type":"text","text":"You are Claude Code."}],
        "messages":[{"role":"user","content":"hi"}]})");
  auto b = anthropic_request(
    R"({"model":"m","max_tokens":5,"metadata":{"user_id":"session-2"},
        "system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197; cch=bbbb;"},
                  {"type":"text","text":"You are Claude Code."}],
        "messages":[{"role":"user","content":"hi"}]})");
  a.headers.push_back({ "X-Claude-Code-Session-Id", "one" });
  a.headers.push_back({ "x-stainless-retry-count", "0" });
  b.headers.push_back({ "X-Claude-Code-Session-Id", "two" });
  b.headers.push_back({ "x-stainless-retry-count", "1" });
  b.headers.push_back({ "x-stainless-timeout", "600" });
  CHECK(document_of(a) == document_of(b));
  auto doc = nlohmann::json::parse(document_of(a));
  CHECK(doc["scrub"] == "anthropic@1");
  CHECK(doc["body"]["system"].size() == 1);
  bool user_id = doc["body"].contains("metadata") &&
                 doc["body"]["metadata"].contains("user_id");
  CHECK_FALSE(user_id);
  // A system prompt that is not the billing marker stays.
  auto c = b;
  c.body = R"({"model":"m","max_tokens":5,"system":"Be brief.",
               "messages":[{"role":"user","content":"hi"}]})";
  CHECK(document_of(c) != document_of(b));
}

TEST_CASE("serve key: the headers that change the answer are in it, "
          "anthropic-beta as a set") {
  auto a = anthropic_request(R"({"model":"m"})");
  auto b = a;
  a.headers.push_back({ "anthropic-beta", "b-2025, a-2024" });
  b.headers.push_back({ "anthropic-beta", "a-2024,b-2025" });
  CHECK(document_of(a) == document_of(b));
  auto c = a;
  c.headers[1].value = "2024-01-01"; // anthropic-version
  CHECK(document_of(c) != document_of(a));
  // A header outside the route's list does not count.
  auto d = a;
  d.headers.push_back({ "user-agent", "claude-cli/2.1.197" });
  CHECK(document_of(d) == document_of(a));
}

TEST_CASE("serve key: credentials never appear in it; the account does") {
  auto a = anthropic_request(R"({"model":"m"})");
  auto credentials = ipfsacc::serve::request_credentials(a);
  CHECK(credentials.find("sk-ant-secret-one") != std::string::npos);
  uint8_t ns[32] = { 1, 2, 3 };
  auto account = ipfsacc::account_hash(credentials, ns);
  auto doc = document_of(a, account);
  CHECK(doc.find("sk-ant-secret-one") == std::string::npos);
  CHECK(doc.find(account) != std::string::npos);
  // Another key is another account, so another key.
  auto b = a;
  b.headers[0].value = "sk-ant-secret-two";
  auto other =
    ipfsacc::account_hash(ipfsacc::serve::request_credentials(b), ns);
  CHECK(other != account);
  CHECK(document_of(b, other) != doc);

  // A credential in the query (Gemini's ?key=) leaves the query.
  ProxyRequest g;
  g.method = "POST";
  g.route = ipfsacc::serve::route_named("gemini");
  g.path = "/v1beta/models/gemini-2.5-flash:generateContent";
  g.query = "key=AIzaSecretKey&alt=sse";
  g.body = R"({"contents":[]})";
  auto gdoc = ipfsacc::serve::canonical_request(
    g, "https://generativelanguage.googleapis.com", nullptr, "h:x");
  CHECK(gdoc.find("AIzaSecretKey") == std::string::npos);
  CHECK(gdoc.find("alt") != std::string::npos);
  CHECK(ipfsacc::serve::request_credentials(g).find("AIzaSecretKey") !=
        std::string::npos);
}

TEST_CASE("serve key: a body that is not JSON is keyed by its bytes") {
  auto a = anthropic_request("not json {");
  auto b = anthropic_request("not json }");
  auto doc = nlohmann::json::parse(document_of(a));
  CHECK(doc.contains("body_cid"));
  CHECK(document_of(a) != document_of(b));
}

TEST_CASE("serve routes: what is cached and for how long") {
  using namespace std::chrono_literals;
  const auto& anthropic = *ipfsacc::serve::route_named("anthropic");
  nlohmann::json t0 = { { "temperature", 0 } };
  nlohmann::json sampled = { { "temperature", 0.7 } };
  CHECK(ipfsacc::serve::cache_lifetime(
          anthropic, "POST", "/v1/messages", "", &t0) == 1h);
  CHECK(ipfsacc::serve::cache_lifetime(
          anthropic, "POST", "/v1/messages", "", &sampled) == 30min);
  CHECK_FALSE(ipfsacc::serve::cache_lifetime(
    anthropic, "GET", "/v1/models", "", nullptr));
  const auto& hf = *ipfsacc::serve::route_named("hf");
  CHECK(ipfsacc::serve::cache_lifetime(
          hf,
          "GET",
          "/gpt2/resolve/607a30d783dfa663caf39e06633721c8d4cfcd7e/config.json",
          "",
          nullptr) > 24h);
  CHECK(ipfsacc::serve::cache_lifetime(
          hf, "GET", "/api/models", "search=bert", nullptr) == 10min);
  CHECK(ipfsacc::serve::find_route("/anthropic/v1/messages") == &anthropic);
  CHECK(ipfsacc::serve::find_route("/anthropicx/v1") == nullptr);
}

TEST_CASE("serve scrub profiles: every built-in file reads") {
  auto files = ipfsacc::serve::embedded_scrub_profiles();
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file.file);
    auto profile = ipfsacc::serve::parse_scrub_profile(file.text);
    CHECK(profile.has_value());
  }
  CHECK_FALSE(ipfsacc::serve::parse_scrub_profile(R"({"id":"x"})"));
  CHECK_FALSE(
    ipfsacc::serve::parse_scrub_profile(R"({"id":"x","version":1,"typo":[]})"));
}

TEST_CASE("serve answers: a stored head reads back") {
  ipfsacc::serve::Head head;
  head.status = 201;
  head.chunked = true;
  head.headers = { { "Content-Type", "text/event-stream" },
                   { "request-id", "r1" } };
  auto back = ipfsacc::serve::decode_head(ipfsacc::serve::encode_head(head));
  REQUIRE(back);
  CHECK(back->status == 201);
  CHECK(back->chunked);
  CHECK(back->headers.size() == 2);
  CHECK(back->headers[1].value == "r1");
  CHECK_FALSE(ipfsacc::serve::decode_head("{\"status\":1}"));
}
