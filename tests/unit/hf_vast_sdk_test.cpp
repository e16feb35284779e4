// The hf and vastai HTTP paths' own parsing and printing: JSON the way
// Python's json.dumps writes it, vast-cli's query language, and what the two
// mappings send and print (with a recording transport).
#include "sdk/pyjson.hpp"
#include "sdk/sdk.hpp"
#include "sdk/vast_query.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <map>

using namespace ipfsacc;
using ipfsacc::test::contains;
using ojson = nlohmann::ordered_json;

namespace {

struct Replies {
  std::vector<http::Request> requests;
  std::vector<http::Response> replies;

  http::Transport transport() {
    return [this](const http::Request& request) -> http::Result {
      requests.push_back(request);
      auto reply = replies.at(std::min(requests.size(), replies.size()) - 1);
      return reply;
    };
  }
};

sdk::Invocation call_of(std::string tool,
                        std::vector<std::string> args,
                        std::map<std::string, std::string> env,
                        Replies& replies) {
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
  call.transport = replies.transport();
  return call;
}

http::Response json_reply(long status,
                          std::string body,
                          std::vector<http::Header> headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.push_back({ "Content-Type", "application/json" });
  return r;
}

std::string sent_header(const http::Request& request, std::string_view name) {
  for (const auto& h : request.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return {};
}

} // namespace

TEST_CASE("pyjson: floats are printed as Python's repr") {
  using sdk::pyjson::float_repr;
  CHECK(float_repr(1.0) == "1.0");
  CHECK(float_repr(0.5) == "0.5");
  CHECK(float_repr(1e-5) == "1e-05");
  CHECK(float_repr(0.0001) == "0.0001");
  CHECK(float_repr(100000.0) == "100000.0");
  CHECK(float_repr(1e16) == "1e+16");
  CHECK(float_repr(1e15) == "1000000000000000.0");
  CHECK(float_repr(123456789.125) == "123456789.125");
  CHECK(float_repr(0.1 + 0.2) == "0.30000000000000004");
  CHECK(float_repr(-2.5e-7) == "-2.5e-07");
  CHECK(float_repr(1.5e300) == "1.5e+300");
  CHECK(float_repr(-0.0) == "-0.0");
  CHECK(float_repr(0.3466666666666667) == "0.3466666666666667");
}

TEST_CASE("pyjson: strings are escaped as with ensure_ascii") {
  using sdk::pyjson::ascii_string;
  CHECK(ascii_string("caf\xc3\xa9") == "\"caf\\u00e9\"");
  CHECK(ascii_string("a\"b\\c\n\t") == "\"a\\\"b\\\\c\\n\\t\"");
  CHECK(ascii_string(std::string("\x01\x7f", 2)) == "\"\\u0001\\u007f\"");
  // U+1F600 as a surrogate pair; invalid UTF-8 as U+FFFD.
  CHECK(ascii_string("\xf0\x9f\x98\x80") == "\"\\ud83d\\ude00\"");
  CHECK(ascii_string("\xff") == "\"\\ufffd\"");
}

TEST_CASE("pyjson: indentation, separators and key order") {
  auto value = ojson::parse(
    R"({"b": [1, {"z": null, "a": true}], "a": {}, "c": [], "d": 2.0})");
  CHECK(sdk::pyjson::dumps(value, 2) ==
        "{\n  \"b\": [\n    1,\n    {\n      \"z\": null,\n      \"a\": true\n"
        "    }\n  ],\n  \"a\": {},\n  \"c\": [],\n  \"d\": 2.0\n}");
  CHECK(
    sdk::pyjson::dumps(value, 1, sdk::pyjson::SortKeys::yes) ==
    "{\n \"a\": {},\n \"b\": [\n  1,\n  {\n   \"a\": true,\n   \"z\": null\n"
    "  }\n ],\n \"c\": [],\n \"d\": 2.0\n}");
  CHECK(sdk::pyjson::dumps(value, -1) ==
        R"({"b": [1, {"z": null, "a": true}], "a": {}, "c": [], "d": 2.0})");
}

TEST_CASE("vast: parse_query reads comparisons the way vast-cli does") {
  ojson res = ojson::object();
  res["verified"] = { { "eq", true } };
  res["rented"] = { { "eq", false } };
  std::vector<std::string> words{ "num_gpus=1",
                                  "gpu_name in [RTX_4090,H100_SXM]",
                                  "reliability > 0.99",
                                  "cpu_ram>=16",
                                  "dph<1",
                                  "rented=any",
                                  "verified=False",
                                  "foo=bar" };
  auto warnings = sdk::vast::parse_query(words, res);
  REQUIRE(warnings);
  CHECK(*warnings ==
        "Warning: Unrecognized field: foo, see list of recognized fields.\n");
  CHECK(sdk::pyjson::dumps(res, -1) ==
        R"({"verified": {"eq": false}, "num_gpus": {"eq": "1"}, )"
        R"("gpu_name": {"in": ["RTX 4090", "H100 SXM"]}, )"
        R"("reliability": {"gt": "0.99"}, "cpu_ram": {"gte": 16000.0}, )"
        R"("dph_total": {"lt": "1"}, "foo": {"eq": "bar"}})");
}

TEST_CASE("vast: what parse_query rejects is not guessed") {
  ojson res = ojson::object();
  std::vector<std::string> unquoted{ "num_gpus", "=", "1", "~~" };
  CHECK_FALSE(sdk::vast::parse_query(unquoted, res));
  std::vector<std::string> driver{ "driver_version>=535.86.05" };
  CHECK_FALSE(sdk::vast::parse_query(driver, res));
  std::vector<std::string> wildcard{ "rented>any" };
  CHECK_FALSE(sdk::vast::parse_query(wildcard, res));
  std::vector<std::string> op{ "num_gpus=>1" };
  CHECK_FALSE(sdk::vast::parse_query(op, res));
}

TEST_CASE("vast: the offers query and the rented filter") {
  std::vector<std::string> words{ "num_gpus=1" };
  auto q = sdk::vast::offers_query(
    words, sdk::vast::Defaults::yes, "dph,-score", "bid", 5, 5.0, false);
  REQUIRE(q);
  CHECK(sdk::pyjson::dumps(q->query, -1) ==
        R"({"verified": {"eq": true}, "external": {"eq": false}, )"
        R"("rentable": {"eq": true}, "rented": {"eq": false}, )"
        R"("num_gpus": {"eq": "1"}, "order": [["dph_total", "asc"], )"
        R"(["score", "desc"]], "type": "bid", "limit": 5, )"
        R"("allocated_storage": 5.0})");
  auto rows = ojson::parse(
    R"([{"id": 1, "rented": false}, {"id": 2, "rented": true},
        {"id": 3, "rented": null}, {"id": 4}])");
  auto kept = sdk::vast::filter_rented(rows, q->query);
  CHECK(kept.dump() ==
        R"([{"id":1,"rented":false},{"id":3,"rented":null},{"id":4}])");
}

TEST_CASE("hf: models info prints repo_info_to_dict as json.dumps(indent=2)") {
  Replies r;
  r.replies.push_back(json_reply(200, R"({
    "_id": "x", "id": "org/m", "private": false, "downloads": 5,
    "createdAt": "2022-03-02T23:29:04.000Z",
    "lastModified": "2024-02-19T10:57:45.123Z",
    "mask_token": null, "cardData": {"license": "mit"},
    "siblings": [{"rfilename": "a.bin", "lfs": {"size": 3, "sha256": "ab",
                  "pointerSize": 130}}],
    "transformersInfo": {"auto_model": "AutoModel"},
    "config": {"eps": 1e-05}
  })"));
  auto call =
    call_of("hf",
            { "models", "info", "org/m", "--revision", "v1.0/x" },
            { { "HF_ENDPOINT", "http://hub.test/" }, { "HF_TOKEN", "hf_abc" } },
            r);
  auto answer = sdk::hf_run(call);
  REQUIRE(answer);
  REQUIRE(r.requests.size() == 1);
  CHECK(r.requests[0].url ==
        "http://hub.test/api/models/org/m/revision/v1.0%2Fx");
  CHECK(sent_header(r.requests[0], "Authorization") == "Bearer hf_abc");
  CHECK_FALSE(contains(r.requests[0].url, "hf_abc"));
  CHECK(answer->out ==
        "{\n"
        "  \"id\": \"org/m\",\n"
        "  \"created_at\": \"2022-03-02T23:29:04+00:00\",\n"
        "  \"last_modified\": \"2024-02-19T10:57:45.123000+00:00\",\n"
        "  \"private\": false,\n"
        "  \"downloads\": 5,\n"
        "  \"card_data\": {},\n"
        "  \"config\": {\n"
        "    \"eps\": 1e-05\n"
        "  },\n"
        "  \"transformers_info\": {\n"
        "    \"auto_model\": \"AutoModel\",\n"
        "    \"custom_class\": null,\n"
        "    \"pipeline_tag\": null,\n"
        "    \"processor\": null\n"
        "  },\n"
        "  \"siblings\": [\n"
        "    {\n"
        "      \"rfilename\": \"a.bin\",\n"
        "      \"size\": null,\n"
        "      \"blob_id\": null,\n"
        "      \"lfs\": {\n"
        "        \"size\": 3,\n"
        "        \"sha256\": \"ab\",\n"
        "        \"pointer_size\": 130\n"
        "      }\n"
        "    }\n"
        "  ]\n"
        "}\n");
  CHECK(answer->exit_code == 0);
}

TEST_CASE("hf: a missing repository is hf's message on stdout, exit 1") {
  Replies r;
  r.replies.push_back(json_reply(404,
                                 R"({"error":"Repository not found"})",
                                 { { "X-Error-Code", "RepoNotFound" } }));
  auto call = call_of(
    "hf", { "datasets", "info", "org/none" }, { { "NO_COLOR", "1" } }, r);
  auto answer = sdk::hf_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "Dataset org/none not found.\n");
  CHECK(answer->exit_code == 1);
  CHECK(answer->not_found);
  CHECK_FALSE(answer->cacheable);
  // With colours (hf does not look at the terminal).
  auto colour = call_of("hf", { "spaces", "info", "org/none" }, {}, r);
  CHECK(sdk::hf_run(colour)->out ==
        "Space \x1b[1morg/none\x1b[0m not found.\n");
}

TEST_CASE("hf: unmapped options are unsupported, not guessed") {
  Replies r;
  r.replies.push_back(json_reply(200, "[]"));
  for (auto args : std::vector<std::vector<std::string>>{
         { "models", "ls", "--sort", "likes" },
         { "models", "ls", "--filter", "text-generation" },
         { "models", "info", "gpt2", "--expand", "likes" },
         { "models", "info", "gpt2", "--token", "hf_x" },
         { "models", "ls", "org/repo" },
         { "models", "card", "gpt2" },
         { "download", "gpt2" } }) {
    auto call = call_of("hf", args, {}, r);
    auto answer = sdk::hf_run(call);
    REQUIRE_FALSE(answer);
    CHECK(contains(answer.error().message, "install hf"));
  }
  CHECK(r.requests.empty());
}

TEST_CASE("hf: models ls follows Link pages up to --limit") {
  Replies r;
  r.replies.push_back(json_reply(
    200,
    R"([{"id": "a", "likes": 1}, {"id": "b", "likes": 2}])",
    { { "Link", "<http://hub.test/api/models?cursor=2>; rel=\"next\"" } }));
  r.replies.push_back(json_reply(200, R"([{"id": "c"}, {"id": "d"}])"));
  auto call = call_of("hf",
                      { "models", "ls", "--search", "gpt 2", "--limit=3" },
                      { { "HF_ENDPOINT", "http://hub.test" } },
                      r);
  auto answer = sdk::hf_run(call);
  REQUIRE(answer);
  REQUIRE(r.requests.size() == 2);
  CHECK(r.requests[0].url ==
        "http://hub.test/api/models?search=gpt%202&limit=3");
  CHECK(r.requests[1].url == "http://hub.test/api/models?cursor=2");
  CHECK(answer->out ==
        "[\n  {\n    \"id\": \"a\",\n    \"likes\": 1\n  },\n  {\n    \"id\": "
        "\"b\",\n    \"likes\": 2\n  },\n  {\n    \"id\": \"c\"\n  }\n]\n");
}

TEST_CASE("vastai: show user --raw drops the api_key and sorts the keys") {
  Replies r;
  r.replies.push_back(
    json_reply(200, R"({"username": "ada", "api_key": "k", "balance": 1.5})"));
  auto call = call_of(
    "vastai",
    { "show", "user", "--raw" },
    { { "VAST_URL", "http://vast.test" }, { "VAST_API_KEY", "secret" } },
    r);
  auto answer = sdk::vastai_run(call);
  REQUIRE(answer);
  CHECK(r.requests[0].url == "http://vast.test/api/v0/users/current?owner=me");
  CHECK(sent_header(r.requests[0], "Authorization") == "Bearer secret");
  CHECK(answer->out == "{\n \"balance\": 1.5,\n \"username\": \"ada\"\n}\n");
  auto table = call_of("vastai", { "show", "user" }, {}, r);
  CHECK_FALSE(sdk::vastai_run(table));
}

TEST_CASE("vastai: an HTTP error is vast-cli's line on stdout, exit 0") {
  Replies r;
  r.replies.push_back(json_reply(404, R"({"msg": "Not found."})"));
  auto call = call_of("vastai", { "show", "machines", "--raw" }, {}, r);
  auto answer = sdk::vastai_run(call);
  REQUIRE(answer);
  CHECK(answer->out == "failed with error 404: Not found.\n");
  CHECK(answer->exit_code == 0);
  CHECK(answer->not_found);
  CHECK_FALSE(answer->cacheable);
}
