// The error message of an API's answer, read by every tool of the HTTP path
// (sdk/api_json): any body shape, never a throw, never more than a bound.
#include "sdk/api_json.hpp"
#include "sdk/sdk.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace ipfsacc;

TEST_CASE("api error: the message of each API's error shape") {
  CHECK(sdk::api_error_message(R"({"error":{"message":"m"}})") == "m");
  CHECK(sdk::api_error_message(R"({"error":"e"})") == "e");
  CHECK(sdk::api_error_message(R"({"error":{"message":""}})").empty());
  auto gh = sdk::read_error_body(
    R"({"message":"Validation Failed","errors":["a",{"message":"b"},{"code":"c"},7]})");
  CHECK(gh.is_object);
  CHECK(gh.message == "Validation Failed");
  CHECK(gh.errors == std::vector<std::string>{ "a", "b" });
  CHECK_FALSE(gh.error);
}

TEST_CASE("api error: JSON of an unexpected shape is the body itself") {
  for (std::string body : { R"({"error":{"message":null}})",
                            R"({"error":{"message":123}})",
                            R"({"error":[1]})",
                            R"({"error":{"msg":"x"}})",
                            R"(["error"])",
                            R"("error")",
                            "null",
                            "1e999",
                            R"({"message":5,"errors":"x"})",
                            R"({"errors":{"message":"x"}})" }) {
    CAPTURE(body);
    std::string message;
    REQUIRE_NOTHROW(message = sdk::api_error_message(body));
    CHECK(message == body);
    sdk::ErrorBody read;
    REQUIRE_NOTHROW(read = sdk::read_error_body(body));
    CHECK(read.message.empty());
    CHECK(read.errors.empty());
    CHECK_FALSE(read.error);
  }
}

TEST_CASE("api error: a body that is not JSON, or empty") {
  CHECK(sdk::api_error_message("not json") == "not json");
  CHECK(sdk::api_error_message("\xff\xfe oops") == "\xff\xfe oops");
  CHECK(sdk::api_error_message("{\"error\":").size() == 9);
  CHECK(sdk::api_error_message("").empty());
  CHECK_FALSE(sdk::read_error_body("").is_object);
  CHECK_FALSE(sdk::read_error_body("<html>502</html>").is_object);
  CHECK(sdk::api_error_message("0123456789", 4) == "0123");
}

TEST_CASE("api error: a huge body gives a bounded message") {
  const std::string huge(4 * sdk::kErrorMessageLimit, 'x');
  CHECK(sdk::api_error_message(huge).size() == sdk::kErrorMessageLimit);
  CHECK(sdk::api_error_message(huge, 10).size() == 10);
  const std::string message = R"({"error":{"message":")" + huge +
                              R"("},"message":")" + huge + R"(","errors":[")" +
                              huge + R"("]})";
  CHECK(sdk::api_error_message(message).size() == sdk::kErrorMessageLimit);
  auto read = sdk::read_error_body(message);
  CHECK(read.message.size() == sdk::kErrorMessageLimit);
  REQUIRE(read.errors.size() == 1);
  CHECK(read.errors[0].size() == sdk::kErrorMessageLimit);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  REQUIRE_NOTHROW(sdk::read_error_body(deep));
  CHECK(sdk::api_error_message(deep).size() == sdk::kErrorMessageLimit);
}
