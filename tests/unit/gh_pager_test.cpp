// The one GraphQL pager of the gh commands (sdk/gh/pager), and the command
// table of gh.cpp.
#include "sdk/gh/command_table.hpp"
#include "sdk/gh/pager.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

using namespace ipfsacc;
using nlohmann::json;

namespace {

// Serves pages from a list and records the cursor and wanted count of each
// request.
struct Pages {
  std::vector<json> pages;
  std::vector<json> cursors; // null for the first request
  std::vector<long long> wanted;

  sdk::gh::PageFetch fetch() {
    return [this](const json* cursor,
                  long long want) -> std::expected<json, sdk::Outcome> {
      cursors.push_back(cursor ? *cursor : json(nullptr));
      wanted.push_back(want);
      if (cursors.size() > pages.size()) {
        sdk::Outcome failed;
        failed.exit_code = 1;
        failed.err = "past the last page\n";
        return std::unexpected(failed);
      }
      return pages[cursors.size() - 1];
    };
  }
};

json page(std::vector<int> nodes, json has_next, json cursor) {
  json info = json::object();
  if (!has_next.is_discarded()) {
    info["hasNextPage"] = has_next;
  }
  if (!cursor.is_discarded()) {
    info["endCursor"] = cursor;
  }
  return { { "nodes", nodes }, { "pageInfo", info } };
}

const json kAbsent = json(json::value_t::discarded);

} // namespace

TEST_CASE("gh pager: follows endCursor until hasNextPage is false") {
  Pages p;
  p.pages = { page({ 1, 2 }, true, "c1"),
              page({ 3 }, true, "c2"),
              page({ 4 }, false, nullptr) };
  auto nodes = sdk::gh::graphql_pages(30, p.fetch());
  REQUIRE(nodes);
  CHECK(*nodes == std::vector<json>{ 1, 2, 3, 4 });
  CHECK(p.cursors == std::vector<json>{ nullptr, "c1", "c2" });
  CHECK(p.wanted == std::vector<long long>{ 30, 28, 27 });
}

TEST_CASE("gh pager: stops at the limit, in the middle of a page") {
  Pages p;
  p.pages = { page({ 1, 2 }, true, "c1"), page({ 3, 4, 5 }, true, "c2") };
  auto nodes = sdk::gh::graphql_pages(4, p.fetch());
  REQUIRE(nodes);
  CHECK(*nodes == std::vector<json>{ 1, 2, 3, 4 });
  CHECK(p.cursors.size() == 2);

  Pages exact;
  exact.pages = { page({ 1, 2 }, true, "c1") };
  nodes = sdk::gh::graphql_pages(2, exact.fetch());
  REQUIRE(nodes);
  CHECK(nodes->size() == 2);
  CHECK(exact.cursors.size() == 1);
}

TEST_CASE("gh pager: a filter keeps some nodes; only they count") {
  Pages p;
  p.pages = { page({ 1, 2, 3 }, true, "c1"), page({ 4, 5, 6 }, false, "") };
  auto nodes = sdk::gh::graphql_pages(
    2, p.fetch(), [](const json& n) { return n.get<int>() % 2 == 0; });
  REQUIRE(nodes);
  CHECK(*nodes == std::vector<json>{ 2, 4 });
  CHECK(p.cursors.size() == 2);
}

TEST_CASE("gh pager: a missing or malformed pageInfo ends the paging") {
  const json malformed[] = {
    json{ { "nodes", { 1 } } },
    json{ { "nodes", { 1 } }, { "pageInfo", nullptr } },
    json{ { "nodes", { 1 } }, { "pageInfo", "x" } },
    page({ 1 }, kAbsent, "c1"),
    page({ 1 }, "true", "c1"),
    page({ 1 }, 1, "c1"),
    // More pages, but no cursor to ask for them with: asking again would
    // get this page again.
    page({ 1 }, true, kAbsent),
    page({ 1 }, true, nullptr),
    page({ 1 }, true, 5),
    // More pages, but none in this one.
    page({}, true, "c1"),
    json{ { "nodes", nullptr },
          { "pageInfo", page({}, true, "c1")["pageInfo"] } },
    json::array(),
    json(nullptr),
  };
  for (const auto& first : malformed) {
    CAPTURE(first.dump());
    Pages p;
    p.pages = { first, page({ 9 }, false, nullptr) };
    std::expected<std::vector<json>, sdk::Outcome> nodes;
    REQUIRE_NOTHROW(nodes = sdk::gh::graphql_pages(30, p.fetch()));
    REQUIRE(nodes);
    CHECK(p.cursors.size() == 1);
    CHECK(nodes->size() <= 1);
  }
  // A cursor that does not move.
  Pages stuck;
  stuck.pages = { page({ 1 }, true, "c1"),
                  page({ 2 }, true, "c1"),
                  page({ 3 }, false, nullptr) };
  auto nodes = sdk::gh::graphql_pages(30, stuck.fetch());
  REQUIRE(nodes);
  CHECK(*nodes == std::vector<json>{ 1, 2 });
  CHECK(stuck.cursors.size() == 2);
}

TEST_CASE("gh pager: a failing page is the answer") {
  Pages p;
  p.pages = { page({ 1 }, true, "c1") };
  auto nodes = sdk::gh::graphql_pages(30, p.fetch());
  REQUIRE_FALSE(nodes);
  CHECK(nodes.error().err == "past the last page\n");
}

TEST_CASE("gh commands: one row each, with both functions, found by words") {
  std::set<std::string> names;
  for (const auto& command : sdk::gh_commands()) {
    CAPTURE(command.name());
    CHECK(static_cast<bool>(command.run));
    CHECK(static_cast<bool>(command.identical));
    CHECK(command.size() >= 1);
    CHECK(names.insert(command.name()).second);
    std::vector<std::string> args;
    for (size_t i = 0; i < command.size(); ++i) {
      args.emplace_back(command.words[i]);
    }
    args.emplace_back("--json");
    CHECK(sdk::find_gh_command(args) == &command);
  }
  CHECK(names.contains("api"));
  CHECK(names.contains("pr list"));
  CHECK(sdk::find_gh_command(std::vector<std::string>{ "repo" }) == nullptr);
  CHECK(sdk::find_gh_command(std::vector<std::string>{ "pr", "view" }) ==
        nullptr);
  CHECK(sdk::find_gh_command(std::vector<std::string>{}) == nullptr);
}
