// The proxy's /metrics counters and the stored head's request document.

#include "serve/answer_store.hpp"
#include "serve/metrics.hpp"

#include <doctest/doctest.h>
#include <string>

namespace {

using ipfsacc::serve::Metrics;
using ipfsacc::serve::Served;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("metrics: every route is exposed at zero from the start") {
  Metrics metrics;
  auto text = metrics.exposition();
  CHECK(has_line(
    text, R"(ipfsacc_serve_requests_total{route="anthropic",result="hit"} 0)"));
  CHECK(has_line(
    text, R"(ipfsacc_serve_requests_total{route="github",result="bypass"} 0)"));
  CHECK(has_line(text, "# TYPE ipfsacc_serve_upstream_seconds histogram"));
  for (auto name : ipfsacc::serve::kMetricNames) {
    CHECK(text.find("# TYPE " + std::string(name) + " ") != std::string::npos);
  }
}

TEST_CASE("metrics: counts, bytes, tokens and a cumulative histogram") {
  Metrics metrics;
  metrics.served("openai", Served::miss);
  metrics.served("openai", Served::hit, 120);
  metrics.served("openai", Served::hit, 30);
  metrics.upstream("openai", 0.3, 500, false);
  metrics.upstream("openai", 7, 0, true);
  metrics.tokens_saved("openai", 19, 10);
  auto text = metrics.exposition();
  CHECK(has_line(
    text, R"(ipfsacc_serve_requests_total{route="openai",result="hit"} 2)"));
  CHECK(has_line(
    text, R"(ipfsacc_serve_requests_total{route="openai",result="miss"} 1)"));
  CHECK(has_line(
    text, R"(ipfsacc_serve_bytes_total{route="openai",source="cache"} 150)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_bytes_total{route="openai",source="upstream"} 500)"));
  CHECK(
    has_line(text, R"(ipfsacc_serve_upstream_errors_total{route="openai"} 1)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_upstream_seconds_bucket{route="openai",le="0.25"} 0)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_upstream_seconds_bucket{route="openai",le="0.5"} 1)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_upstream_seconds_bucket{route="openai",le="10"} 2)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_upstream_seconds_bucket{route="openai",le="+Inf"} 2)"));
  CHECK(has_line(text,
                 R"(ipfsacc_serve_upstream_seconds_sum{route="openai"} 7.3)"));
  CHECK(has_line(text,
                 R"(ipfsacc_serve_upstream_seconds_count{route="openai"} 2)"));
  CHECK(has_line(
    text,
    R"(ipfsacc_serve_tokens_saved_total{route="openai",kind="output"} 10)"));
}

TEST_CASE("metrics: a label value is escaped") {
  Metrics metrics;
  metrics.served("a\"b\\c", Served::bypass);
  CHECK(has_line(
    metrics.exposition(),
    R"(ipfsacc_serve_requests_total{route="a\"b\\c",result="bypass"} 1)"));
}

TEST_CASE("stored head: the request document round-trips and is optional") {
  ipfsacc::serve::Head head;
  head.status = 200;
  head.headers.push_back({ "Content-Type", "application/json" });
  auto old = ipfsacc::serve::decode_head(ipfsacc::serve::encode_head(head));
  REQUIRE(old);
  CHECK(old->request.empty());
  head.request = R"({"method":"POST","v":1})";
  auto text = ipfsacc::serve::encode_head(head);
  auto back = ipfsacc::serve::decode_head(text);
  REQUIRE(back);
  CHECK(back->request == head.request);
  CHECK(back->status == 200);
  CHECK_FALSE(ipfsacc::serve::decode_head(
    R"({"status":200,"headers":[],"chunked":false,"request":5})"));
}
