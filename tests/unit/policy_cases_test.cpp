#include "core/policy.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

using namespace ipfsacc;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSourceDir = IPFSACC_SOURCE_DIR;

// What a match is, in the notation of tests/policy_cases.json.
std::string describe(const Match& m) {
  switch (m.kind) {
    case Match::Kind::pass:
      return "pass";
    case Match::Kind::cache:
      return "cache:" + (m.rule ? m.rule->id : std::string("<no rule>"));
    case Match::Kind::invalidate: {
      auto tags = m.invalidate_tags;
      std::sort(tags.begin(), tags.end());
      std::string out = "invalidate:";
      for (size_t i = 0; i < tags.size(); ++i) {
        out += (i ? "," : "") + tags[i];
      }
      return out;
    }
  }
  return "?";
}

std::vector<std::string> args(std::initializer_list<const char*> list) {
  return { list.begin(), list.end() };
}

} // namespace

TEST_CASE("every case of tests/policy_cases.json matches as expected") {
  TempDir config_dir; // empty: no user rule file can interfere
  ScopedEnv env("IPFSACC_CONFIG_DIR", config_dir.path().string());

  auto text = util::read_file(kSourceDir / "tests" / "policy_cases.json");
  REQUIRE_MESSAGE(text, text.error());
  json cases = json::parse(*text);
  REQUIRE(cases.is_array());
  REQUIRE(cases.size() > 0);

  // Policies live here so that Match::rule stays valid.
  std::map<std::string, ToolPolicy> policies;
  std::map<std::string, int> kinds;
  int failures = 0;
  for (const auto& c : cases) {
    std::string tool = c.at("tool").get<std::string>();
    std::vector<std::string> argv =
      c.at("argv").get<std::vector<std::string>>();
    std::string expect = c.at("expect").get<std::string>();
    bool stdin_tty = c.value("stdin_tty", false);
    std::string shown = util::join_args(argv);
    CAPTURE(tool);
    CAPTURE(shown);
    CAPTURE(stdin_tty);

    auto it = policies.find(tool);
    if (it == policies.end()) {
      auto found = find_policy(tool);
      REQUIRE_MESSAGE(found, "no rule file for " << tool);
      REQUIRE_MESSAGE(*found, found->error());
      it = policies.emplace(tool, std::move(**found)).first;
    }
    Match m = match_call(it->second, argv, stdin_tty);
    std::string got = describe(m);
    CHECK(got == expect);
    if (got != expect) {
      ++failures;
    }
    // An invalidation names each tag once.
    std::set<std::string> unique(m.invalidate_tags.begin(),
                                 m.invalidate_tags.end());
    CHECK(unique.size() == m.invalidate_tags.size());
    // A pass says why, for --explain.
    if (m.kind == Match::Kind::pass) {
      CHECK_FALSE(m.why.empty());
    }
    ++kinds[expect.substr(0, expect.find(':'))];
  }
  INFO("failing cases: " << failures);
  CHECK(failures == 0);
  // The file exercises all three outcomes.
  CHECK(kinds["cache"] > 0);
  CHECK(kinds["pass"] > 0);
  CHECK(kinds["invalidate"] > 0);
}

TEST_CASE("policy_to_cpp distinguishes policies that differ") {
  // Each variant changes one field of the base: generated code that left a
  // field out would read the same for two of them.
  const std::string rule = R"("id": "a", "command": ["x"], "ttl": "5m")";
  auto base =
    parse_policy(R"({"tool": "t", "rules": [{)" + rule + "}]}", "t.json");
  REQUIRE(base);
  auto code = policy_to_cpp(*base, "f");
  const std::vector<std::string> top_level = {
    R"("binaries": ["t", "t2"])",
    R"("version": {"args": ["-V"]})",
    R"("account": [{"env": "TOKEN"}])",
    R"("key_env": ["E"])",
    R"("key_files": ["~/f"])",
    R"("secrets": [{"name": "n", "env": "E"}])",
    R"("scope": [{"flag": ["-R"]}])",
    R"("invalidate": [{"command": ["y"], "tags": ["z"]}])",
  };
  const std::vector<std::string> in_rule = {
    R"("require_any": ["-p"])",
    R"("deny": ["-w"])",
    R"("deny_values": {"-m": ["w"]})",
    R"("allow_values": {"-X": ["GET"]})",
    R"("deny_regex": "q")",
    R"("require_regex": "q")",
    R"("key_env": ["E"])",
    R"("key_files": ["f"])",
    R"("context": ["cwd"])",
    R"("context_unless": ["-R"])",
    R"("context_when": "q")",
    R"("stdin": "key")",
    R"("interactive": true)",
    R"("cache_failures": true)",
    R"("negative_ttl": "1m")",
    R"("negative_ttl": "1m", "negative_match": "q")",
    R"("tags": ["t"])",
  };
  std::vector<std::string> variants = {
    R"({"tool": "t", "rules": [{"id": "a", "command": ["x"], "ttl": "6m"}]})",
    R"({"tool": "t", "rules": [{"id": "b", "command": ["x"], "ttl": "5m"}]})",
    R"({"tool": "t", "rules": [{"id": "a", "command": ["y"], "ttl": "5m"}]})",
    R"({"tool": "t", "rules": [{"id": "a", "command": ["x"]}]})",
  };
  for (const auto& field : top_level) {
    variants.push_back(R"({"tool": "t", )" + field + R"(, "rules": [{)" + rule +
                       "}]}");
  }
  for (const auto& field : in_rule) {
    variants.push_back(R"({"tool": "t", "rules": [{)" + rule + ", " + field +
                       "}]}");
  }
  for (const auto& variant : variants) {
    CAPTURE(variant);
    auto other = parse_policy(variant, "t.json");
    REQUIRE_MESSAGE(other, other.error());
    CHECK(policy_to_cpp(*other, "f") != code);
  }
  // The origin is part of it too (messages name the file).
  auto renamed =
    parse_policy(R"({"tool": "t", "rules": [{)" + rule + "}]}", "u.json");
  REQUIRE(renamed);
  CHECK(policy_to_cpp(*renamed, "f") != code);
}

TEST_CASE("match_call: require_regex needs one matching argument") {
  auto p = parse_policy(R"({
    "tool": "t",
    "rules": [
      {"id": "limit", "command": ["api"], "require_regex": "^/?rate_limit$",
       "deny_regex": "secret"},
      {"id": "any", "command": ["api"]}
    ]})",
                        "t.json",
                        Validate::yes);
  REQUIRE_MESSAGE(p, p.error());
  auto kind = [&](std::initializer_list<const char*> a) {
    return describe(match_call(*p, args(a), false));
  };
  CHECK(kind({ "api", "rate_limit" }) == "cache:limit");
  CHECK(kind({ "api", "--jq", ".x", "/rate_limit" }) == "cache:limit");
  CHECK(kind({ "api", "rate_limits" }) == "cache:any");
  CHECK(kind({ "api" }) == "cache:any");
  // require_regex does not override deny_regex.
  CHECK(kind({ "api", "rate_limit", "secret" }) == "cache:any");
  // An invalid require_regex is refused when validating.
  auto bad = parse_policy(
    R"({"tool": "t", "rules": [{"id": "a", "require_regex": "(x"}]})",
    "bad.json",
    Validate::yes);
  CHECK_FALSE(bad);
}

TEST_CASE("a user rule file replaces the built-in file of the same name") {
  TempDir config_dir;
  ScopedEnv env("IPFSACC_CONFIG_DIR", config_dir.path().string());
  fs::create_directories(config_dir / "wrappers");
  auto written = util::write_file_atomic(
    config_dir / "wrappers" / "gh.json",
    R"({"tool": "gh", "rules": [{"id": "only", "command": ["zzz"]}]})",
    0644);
  REQUIRE(written);
  auto found = find_policy("gh");
  REQUIRE(found);
  REQUIRE(*found);
  REQUIRE((*found)->rules.size() == 1);
  CHECK((*found)->rules[0].id == "only");
  CHECK(match_call(**found, args({ "pr", "list" }), false).kind ==
        Match::Kind::pass);

  // A broken user file is an error for that tool only.
  written = util::write_file_atomic(
    config_dir / "wrappers" / "gh.json", "{\"tool\": \"gh\",\n oops}", 0644);
  REQUIRE(written);
  found = find_policy("gh");
  REQUIRE(found);
  REQUIRE_FALSE(*found);
  CHECK(found->error().find("gh.json:2:") != std::string::npos);
  auto other = find_policy("vastai");
  REQUIRE(other);
  CHECK(*other);
  CHECK_FALSE(find_policy("no-such-tool-here"));
}

TEST_CASE("a user file that stands for a tool is its error whatever it holds") {
  TempDir config_dir;
  ScopedEnv env("IPFSACC_CONFIG_DIR", config_dir.path().string());
  fs::create_directories(config_dir / "wrappers");
  auto write = [&](const char* name, std::string_view text) {
    REQUIRE(
      util::write_file_atomic(config_dir / "wrappers" / name, text, 0644));
  };
  // NAME.json that does not even mention the name.
  write("code.json", "{}");
  auto found = find_policy("code");
  REQUIRE(found);
  REQUIRE_FALSE(*found);
  CHECK(found->error().find("code.json") != std::string::npos);
  // The file replacing the built-in one that names a binary.
  write("hf.json", "{\"tool\": \"hf\", \"binaries\": [");
  found = find_policy("huggingface-cli");
  REQUIRE(found);
  REQUIRE_FALSE(*found);
  CHECK(found->error().find("hf.json:1:") != std::string::npos);
  // A file for a tool of its own, broken: that tool's error.
  write("mine.json", "{\"tool\": \"mytool\", \"rules\": 1e999}");
  found = find_policy("mytool");
  REQUIRE(found);
  REQUIRE_FALSE(*found);
  CHECK(found->error().find("mine.json:1:") != std::string::npos);
  // Other tools are not affected.
  auto gh = find_policy("gh");
  REQUIRE(gh);
  CHECK(*gh);
}

// ---- malformed rule files -------------------------------------------------

TEST_CASE("invalid JSON is reported with the file and line") {
  const char* text = "{\n"
                     "  \"tool\": \"x\",\n"
                     "  \"binaries\": [\"x\" \"y\"],\n"
                     "  \"rules\": []\n"
                     "}\n";
  auto p = parse_policy(text, "bad.json");
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("bad.json:3:"));
  CHECK(p.error().find("invalid JSON") != std::string::npos);

  // The error at the start of a line.
  const char* text2 = "{\n"
                      "  \"tool\": \"x\",\n"
                      "  oops\n"
                      "}\n";
  auto p2 = parse_policy(text2, "bad2.json");
  REQUIRE_FALSE(p2);
  CAPTURE(p2.error());
  CHECK(p2.error().starts_with("bad2.json:3:"));

  // Comments are allowed and do not shift the line.
  const char* text3 = "// a comment\n"
                      "/* two\n lines */ {\n"
                      "  \"tool\": \"x\",,\n"
                      "}\n";
  auto p3 = parse_policy(text3, "bad3.json");
  REQUIRE_FALSE(p3);
  CAPTURE(p3.error());
  CHECK(p3.error().starts_with("bad3.json:4:"));
}

TEST_CASE("a number out of range is reported, not thrown") {
  const char* text = "{\n"
                     "  \"tool\": \"x\",\n"
                     "  \"rules\": [{\"id\": \"r\", \"ttl\": 1e999}]\n"
                     "}\n";
  std::expected<ToolPolicy, std::string> p = std::unexpected("");
  REQUIRE_NOTHROW(p = parse_policy(text, "big.json", Validate::yes));
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("big.json:3: invalid JSON: "));
  CHECK(p.error().find("1e999") != std::string::npos);
}

TEST_CASE("an unknown field in a rule is reported at its line") {
  const char* text =
    "{\n"
    "  \"tool\": \"x\",\n"
    "  \"rules\": [\n"
    "    {\"id\": \"a\", \"command\": [\"a\"], \"ttl\": \"5m\"},\n"
    "    {\"id\": \"b\", \"command\": [\"b\"], \"colour\": \"red\"}\n"
    "  ]\n"
    "}\n";
  auto p = parse_policy(text, "rules.json");
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("rules.json:5:"));
  CHECK(p.error().find("colour") != std::string::npos);
  CHECK(p.error().find("'b'") != std::string::npos);

  // At the top level too.
  auto top = parse_policy("{\n\"tool\": \"x\",\n\"rulez\": []\n}", "t.json");
  REQUIRE_FALSE(top);
  CHECK(top.error().starts_with("t.json:3:"));
  CHECK(top.error().find("rulez") != std::string::npos);
}

TEST_CASE("an invalid duration is reported at its line") {
  const char* text =
    "{\n"
    "  \"tool\": \"x\",\n"
    "  \"rules\": [\n"
    "    {\"id\": \"a\", \"command\": [\"a\"], \"ttl\": \"5m\"},\n"
    "    {\"id\": \"b\", \"command\": [\"b\"],\n"
    "     \"ttl\": \"5 minutes\"}\n"
    "  ]\n"
    "}\n";
  auto p = parse_policy(text, "ttl.json");
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("ttl.json:6:"));
  CHECK(p.error().find("5 minutes") != std::string::npos);
}

TEST_CASE("an invalid regex is an error only when validating") {
  const char* text = "{\n"
                     "  \"tool\": \"x\",\n"
                     "  \"rules\": [\n"
                     "    {\"id\": \"a\", \"command\": [\"a\"]},\n"
                     "    {\"id\": \"b\", \"command\": [\"b\"],\n"
                     "     \"deny_regex\": \"(unclosed\"}\n"
                     "  ]\n"
                     "}\n";
  auto lazy = parse_policy(text, "re.json", Validate::no);
  REQUIRE_MESSAGE(lazy, lazy.error());
  // Not validated: the bad pattern is found when used, and the rule does not
  // cache (the call passes through).
  REQUIRE(lazy->rules.size() == 2);
  CHECK(lazy->rules[1].deny_regex.error());
  CHECK_FALSE(lazy->rules[0].deny_regex.error());
  CHECK(describe(match_call(*lazy, args({ "b" }), false)) == "pass");
  CHECK(describe(match_call(*lazy, args({ "a" }), false)) == "cache:a");

  auto strict = parse_policy(text, "re.json", Validate::yes);
  REQUIRE_FALSE(strict);
  CAPTURE(strict.error());
  CHECK(strict.error().starts_with("re.json:6:"));
  CHECK(strict.error().find("regex") != std::string::npos);
}

TEST_CASE("other malformed fields are rejected") {
  for (std::string text : {
         R"({"rules": []})",                                // no tool
         R"([1, 2])",                                       // not an object
         R"({"tool": "x", "rules": [{"command": ["a"]}]})", // no id
         R"({"tool": "x", "rules": [{"id": "a", "command": "a"}]})", // not a
                                                                     // list
         R"({"tool": "x", "rules": [{"id": "a", "stdin": "yes"}]})",
         R"({"tool": "x", "rules": [{"id": "a", "interactive": "yes"}]})",
         R"({"tool": "x", "rules": [{"id": "a", "context": ["moon"]}]})",
         R"({"tool": "x", "rules": [{"id": "a", "negative_ttl": "soon"}]})",
         R"({"tool": "x", "rules": [{"id": "a", "negative_match": "404"}]})",
         R"({"tool": "x", "rules": [{"id": "a", "deny_values": ["-x"]}]})",
         R"({"tool": "x", "account": [{"env": "A", "file": "f"}]})",
         R"({"tool": "x", "invalidate": [{"command": ["a"]}]})",
       }) {
    CAPTURE(text);
    auto p = parse_policy(text, "m.json");
    CHECK_FALSE(p);
    if (!p) {
      CHECK(p.error().starts_with("m.json:"));
    }
  }
}

TEST_CASE("an error in a later invalidation names that line") {
  // Context::anchor("\"invalidate\"") never moves past the first
  // invalidation, so every invalidation's error is looked up from the start
  // of the list and lands on the first one's line.
  const char* text = "{\n"
                     "  \"tool\": \"x\",\n"
                     "  \"invalidate\": [\n"
                     "    {\"command\": [\"a\"], \"tags\": [\"t\"]},\n"
                     "    {\"command\": [\"b\"], \"tags\": \"t\"}\n"
                     "  ]\n"
                     "}\n";
  auto p = parse_policy(text, "inv.json");
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("inv.json:5:"));
}

TEST_CASE("an error names its rule's line when the id appears earlier") {
  // The rule "view" is anchored at the first "view" string after the
  // previous rule's id, which is the previous rule's command word.
  const char* text =
    "{\n"
    "  \"tool\": \"x\",\n"
    "  \"rules\": [\n"
    "    {\"id\": \"pr-view\", \"command\": [\"pr\", \"view\"], \"ttl\": "
    "\"5m\"},\n"
    "    {\"id\": \"view\", \"command\": [\"view\"], \"ttl\": \"5 min\"}\n"
    "  ]\n"
    "}\n";
  auto p = parse_policy(text, "anchor.json");
  REQUIRE_FALSE(p);
  CAPTURE(p.error());
  CHECK(p.error().starts_with("anchor.json:5:"));
}

// ---- flags ----------------------------------------------------------------

TEST_CASE("flag_value and has_flag accept every documented form") {
  SUBCASE("long flags") {
    CHECK(flag_value(args({ "pr", "--repo", "o/r" }), "--repo") == "o/r");
    CHECK(flag_value(args({ "pr", "--repo=o/r" }), "--repo") == "o/r");
    CHECK(flag_value(args({ "pr", "--repo=" }), "--repo") == "");
    CHECK(flag_value(args({ "pr", "--repo" }), "--repo") == "");
    CHECK(has_flag(args({ "pr", "--repo" }), "--repo"));
    CHECK(has_flag(args({ "pr", "--repo=x" }), "--repo"));
    // A longer flag that starts with the same letters is another flag.
    CHECK_FALSE(flag_value(args({ "pr", "--repository", "x" }), "--repo"));
    CHECK_FALSE(has_flag(args({ "pr", "--repository" }), "--repo"));
    CHECK_FALSE(has_flag(args({ "pr", "--reposx=1" }), "--repo"));
  }
  SUBCASE("short flags") {
    CHECK(flag_value(args({ "api", "-X", "GET" }), "-X") == "GET");
    CHECK(flag_value(args({ "api", "-XGET" }), "-X") == "GET");
    CHECK(flag_value(args({ "api", "-X=GET" }), "-X") == "GET");
    CHECK(flag_value(args({ "api", "-X" }), "-X") == "");
    CHECK(has_flag(args({ "pr", "-w" }), "-w"));
    CHECK(has_flag(args({ "pr", "-wfoo" }), "-w"));
    CHECK(has_flag(args({ "pr", "-w=1" }), "-w"));
    // Case matters, and a long flag is not a short one.
    CHECK_FALSE(has_flag(args({ "pr", "-W" }), "-w"));
    CHECK_FALSE(has_flag(args({ "pr", "--web" }), "-w"));
    CHECK_FALSE(flag_value(args({ "pr", "--web" }), "-w"));
  }
  SUBCASE("nothing after -- is a flag") {
    CHECK_FALSE(has_flag(args({ "run", "--", "--web" }), "--web"));
    CHECK_FALSE(has_flag(args({ "run", "--", "-w" }), "-w"));
    CHECK_FALSE(flag_value(args({ "run", "--", "--repo", "x" }), "--repo"));
    CHECK_FALSE(flag_value(args({ "run", "--", "-Rx" }), "-R"));
    CHECK(flag_value(args({ "--repo", "a", "--", "--repo", "b" }), "--repo") ==
          "a");
  }
  SUBCASE("absent, and the first occurrence wins") {
    CHECK_FALSE(flag_value(args({}), "--repo"));
    CHECK_FALSE(has_flag(args({ "pr", "list" }), "-R"));
    CHECK(flag_value(args({ "-R", "a", "-R", "b" }), "-R") == "a");
    // A value that looks like the flag is still the value.
    CHECK(flag_value(args({ "--jq", "--jq" }), "--jq") == "--jq");
  }
}

TEST_CASE("match_call: rule order, deny, allow_values and interactive") {
  auto p = parse_policy(R"({
    "tool": "t",
    "rules": [
      {"id": "first", "command": ["a"], "require_any": ["-p", "--print"]},
      {"id": "second", "command": ["a"], "deny": ["--web"],
       "allow_values": {"-X": ["GET"]},
       "deny_values": {"--mode": ["write"]}},
      {"id": "tty", "command": ["i"], "interactive": true}
    ],
    "invalidate": [
      {"command": ["a", "b"], "tags": ["y", "x"]},
      {"command": ["a"], "tags": ["x", "z"]}
    ]})",
                        "t.json");
  REQUIRE_MESSAGE(p, p.error());
  auto kind = [&](std::initializer_list<const char*> a, bool tty = false) {
    return describe(match_call(*p, args(a), tty));
  };
  CHECK(kind({ "a", "-p" }) == "cache:first");
  CHECK(kind({ "a", "--print=1" }) == "cache:first");
  CHECK(kind({ "a" }) == "cache:second");
  CHECK(kind({ "a", "-X", "GET" }) == "cache:second");
  CHECK(kind({ "a", "-XGET" }) == "cache:second");
  // Not allowed or denied: falls to the invalidations of "a".
  CHECK(kind({ "a", "-X", "POST" }) == "invalidate:x,z");
  CHECK(kind({ "a", "--mode=write" }) == "invalidate:x,z");
  CHECK(kind({ "a", "--mode", "read" }) == "cache:second");
  CHECK(kind({ "a", "--web" }) == "invalidate:x,z");
  // "a b" matches both invalidations: the union, once each.
  CHECK(kind({ "a", "b", "--web" }) == "invalidate:x,y,z");
  CHECK(kind({ "i" }, false) == "cache:tty");
  CHECK(kind({ "i" }, true) == "pass");
  CHECK(kind({ "zzz" }) == "pass");
  // The command must be a prefix of the arguments, word by word.
  CHECK(kind({ "ab" }) == "pass");
  CHECK(kind({}) == "pass");

  auto m = match_call(*p, args({ "a", "-X", "POST" }), false);
  CHECK(m.why == "a write");
  auto web = match_call(*p, args({ "i" }), true);
  CHECK(web.why.find("interactive") != std::string::npos);
}
