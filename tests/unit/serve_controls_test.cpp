// What a proxied request asks of the cache, read off its headers, and the
// validators that revalidate a stored answer.

#include "serve/answer_store.hpp"
#include "serve/controls.hpp"
#include "serve/routes.hpp"

#include <doctest/doctest.h>

namespace {

using ipfsacc::serve::Control;
using ipfsacc::serve::controls_of;
using ipfsacc::serve::ProxyRequest;

ProxyRequest with(std::vector<ipfsacc::http::Header> headers) {
  ProxyRequest r;
  r.method = "GET";
  r.route = ipfsacc::serve::route_named("github");
  r.path = "/repos/o/r";
  r.headers = std::move(headers);
  return r;
}

} // namespace

TEST_CASE("serve controls: x-ipfsacc-cache and Cache-Control") {
  CHECK(controls_of(with({})).mode == Control::normal);
  CHECK(controls_of(with({ { "X-Ipfsacc-Cache", "Refresh" } })).mode ==
        Control::refresh);
  CHECK(controls_of(with({ { "x-ipfsacc-cache", "off" } })).mode ==
        Control::off);
  CHECK(controls_of(with({ { "x-ipfsacc-cache", "only" } })).mode ==
        Control::only);
  auto no_cache = controls_of(with({ { "Cache-Control", "no-cache" } }));
  CHECK(no_cache.mode == Control::refresh);
  CHECK(no_cache.why == "no-cache");
  CHECK(controls_of(with({ { "Cache-Control", "private, no-store" } })).mode ==
        Control::no_store);
  // A directive is a whole word, not a piece of another.
  CHECK(controls_of(with({ { "Cache-Control", "x-no-cache-y" } })).mode ==
        Control::normal);
  // x-ipfsacc-cache wins over Cache-Control.
  CHECK(controls_of(with({ { "x-ipfsacc-cache", "only" },
                           { "Cache-Control", "no-store" } }))
          .mode == Control::only);
}

TEST_CASE("serve controls: max-age") {
  auto c =
    controls_of(with({ { "Cache-Control", "max-age=60, no-transform" } }));
  CHECK(c.mode == Control::normal);
  REQUIRE(c.max_age_ms);
  CHECK(*c.max_age_ms == 60'000);
  CHECK(*controls_of(with({ { "Cache-Control", "Max-Age=0" } })).max_age_ms ==
        0);
  CHECK_FALSE(
    controls_of(with({ { "Cache-Control", "max-age=-1" } })).max_age_ms);
  CHECK_FALSE(
    controls_of(with({ { "Cache-Control", "max-age=soon" } })).max_age_ms);
  CHECK_FALSE(
    controls_of(with({ { "Cache-Control", "max-age=99999999999999999999" } }))
      .max_age_ms);
}

TEST_CASE("serve controls: the validators of a stored answer") {
  ipfsacc::serve::Head head;
  head.status = 200;
  head.headers = { { "ETag", "W/\"abc\"" },
                   { "Last-Modified", "Wed, 01 Mar 2023 00:00:00 GMT" } };
  ipfsacc::serve::AnswerStore::Stored stored;
  stored.answer.err.memory = ipfsacc::serve::encode_head(head);
  auto v = ipfsacc::serve::validators(stored);
  REQUIRE(v.size() == 2);
  CHECK(v[0].name == "If-None-Match");
  CHECK(v[0].value == "W/\"abc\"");
  CHECK(v[1].name == "If-Modified-Since");
  // Only a 200 is revalidated; an answer without validators cannot be.
  head.status = 203;
  stored.answer.err.memory = ipfsacc::serve::encode_head(head);
  CHECK(ipfsacc::serve::validators(stored).empty());
  head.status = 200;
  head.headers = { { "Content-Type", "application/json" } };
  stored.answer.err.memory = ipfsacc::serve::encode_head(head);
  CHECK(ipfsacc::serve::validators(stored).empty());
}

TEST_CASE("serve routes: the secrets store's key of each route") {
  CHECK(ipfsacc::serve::route_named("anthropic")->secret ==
        "anthropic_api_key");
  CHECK(ipfsacc::serve::route_named("anthropic")->secret_header == "x-api-key");
  CHECK(ipfsacc::serve::route_named("gemini")->secret_header ==
        "x-goog-api-key");
  for (auto name : { "openai", "groq", "hf", "github" }) {
    INFO(name);
    CHECK(ipfsacc::serve::route_named(name)->secret_scheme == "Bearer ");
  }
  CHECK(ipfsacc::serve::route_named("github")->conditional);
  CHECK_FALSE(ipfsacc::serve::route_named("anthropic")->conditional);
}
