// Secrets out of shown argv: the forms redact_args recognises beyond flags
// and headers, and the values of the secrets store.

#include "core/redact.hpp"

#include <doctest/doctest.h>
#include <string>
#include <string_view>
#include <vector>

TEST_CASE("credentials in query strings, auth schemes and glued flags") {
  using V = std::vector<std::string>;
  auto r = [](V args) { return ipfsacc::redact_args(args); };
  CHECK(r({ "gh", "api", "repos/a/b?access_token=x1&per_page=5" }) ==
        V{ "gh", "api", "repos/a/b?access_token=***&per_page=5" });
  CHECK(r({ "curl", "https://h/p?a=1&key=k&sig=s#frag" }) ==
        V{ "curl", "https://h/p?a=1&key=***&sig=***#frag" });
  // Parameters that name no credential stay.
  CHECK(r({ "gh", "api", "search/issues?q=token&per_page=5&max_tokens=3" }) ==
        V{ "gh", "api", "search/issues?q=token&per_page=5&max_tokens=3" });
  CHECK(r({ "x", "Bearer abc" }) == V{ "x", "Bearer ***" });
  CHECK(r({ "x", "auth: bearer abc def" }) == V{ "x", "auth: bearer *** def" });
  CHECK(r({ "x", "Basic dXNlcjpwYXNz" }) == V{ "x", "Basic ***" });
  // Prose is no credential.
  CHECK(r({ "x", "basic usage" }) == V{ "x", "basic usage" });
  CHECK(r({ "mysql", "-pS3cret", "-u", "me" }) ==
        V{ "mysql", "-p***", "-u", "me" });
  CHECK(r({ "mysql", "-p", "db" }) == V{ "mysql", "-p", "db" });
  CHECK(r({ "find", ".", "-path", "x", "-print" }) ==
        V{ "find", ".", "-path", "x", "-print" });
}

TEST_CASE("tokens in known formats: Slack and JSON Web Tokens") {
  using V = std::vector<std::string>;
  auto r = [](V args) { return ipfsacc::redact_args(args); };
  CHECK(r({ "x", "xoxb-fake-token" }) == V{ "x", "***" });
  CHECK(r({ "x", "--data=t=xoxp-1234-5678-abcdef" }) ==
        V{ "x", "--data=t=***" });
  CHECK(r({ "x", "xoxb-" }) == V{ "x", "xoxb-" });
  CHECK(r({ "x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln" }) ==
        V{ "x", "***" });
  CHECK(r({ "x", "jwt=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0." }) ==
        V{ "x", "jwt=***" });
  // Not three parts: no token.
  CHECK(r({ "x", "eyJhbGciOiJIUzI1NiJ9" }) == V{ "x", "eyJhbGciOiJIUzI1NiJ9" });
}

TEST_CASE("the secrets store's values are redacted wherever they appear") {
  using V = std::vector<std::string>;
  std::vector<std::string_view> values{ "verysecretvalue", "pin1" };
  auto r = [&](V args) { return ipfsacc::redact_args(args, values); };
  CHECK(r({ "x", "verysecretvalue" }) == V{ "x", "***" });
  CHECK(r({ "x", "--data=a:verysecretvalue:b" }) == V{ "x", "--data=a:***:b" });
  // A short value only as a whole argument.
  CHECK(r({ "x", "pin1" }) == V{ "x", "***" });
  CHECK(r({ "x", "spin12" }) == V{ "x", "spin12" });
  CHECK(ipfsacc::redact_display("x 'a verysecretvalue'", values) ==
        "x 'a ***'");
}
