#include "core/config.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <set>

using namespace ipfsacc;
using namespace std::chrono_literals;
using ipfsacc::test::CleanIpfsaccEnv;
using ipfsacc::test::contains;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

// A config directory holding ipfsacc.conf with text, and the environment
// pointing at it, with no other IPFSACC_* variable set.
struct ConfigFixture {
  CleanIpfsaccEnv clean;
  TempDir dir;
  ScopedEnv config_dir{ "IPFSACC_CONFIG_DIR" };

  explicit ConfigFixture(std::string_view text) {
    config_dir.set(dir.path().string());
    auto written = util::write_file_atomic(dir / "ipfsacc.conf", text, 0600);
    REQUIRE(written);
  }
};

} // namespace

TEST_CASE("parse_config_text: pairs, comments and blank lines") {
  auto lines = parse_config_text("# a comment\n"
                                 "\n"
                                 "max_size = 2G\n"
                                 "   ttl=5m   \n"
                                 "  # indented comment\n"
                                 "account = a = b\r\n"
                                 "\t\n"
                                 "remote =",
                                 "test.conf");
  REQUIRE_MESSAGE(lines, lines.error());
  REQUIRE(lines->size() == 4);
  CHECK((*lines)[0].key == "max_size");
  CHECK((*lines)[0].value == "2G");
  CHECK((*lines)[0].line == 3);
  CHECK((*lines)[1].key == "ttl");
  CHECK((*lines)[1].value == "5m");
  CHECK((*lines)[1].line == 4);
  // Only the first '=' separates; a CR is whitespace.
  CHECK((*lines)[2].key == "account");
  CHECK((*lines)[2].value == "a = b");
  CHECK((*lines)[2].line == 6);
  CHECK((*lines)[3].key == "remote");
  CHECK((*lines)[3].value == "");
  CHECK((*lines)[3].line == 8);

  auto empty = parse_config_text("", "e.conf");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("parse_config_text: a line without '=' names its line") {
  auto lines =
    parse_config_text("# ok\nmax_size = 1G\nttl 5m\nstats = no\n", "my.conf");
  REQUIRE_FALSE(lines);
  CHECK(lines.error().starts_with("my.conf:3:"));
}

TEST_CASE("Config::validate") {
  SUBCASE("valid values") {
    CHECK(Config::validate("max_size", "500M"));
    CHECK(Config::validate("max_size", "2GiB"));
    CHECK(Config::validate("ttl", "30s"));
    CHECK(Config::validate("ttl", "")); // unset
    CHECK(Config::validate("default_ttl", "2h"));
    CHECK(Config::validate("ttl.gh", "10m"));
    CHECK(Config::validate("ttl.gh/api", "1d"));
    CHECK(Config::validate("serve_listen", "0.0.0.0:8100"));
    CHECK(Config::validate("serve_upstream_timeout", "30s"));
    CHECK(Config::validate("serve_upstream.anthropic", "http://127.0.0.1:9"));
    for (std::string b : { "true",
                           "false",
                           "yes",
                           "no",
                           "on",
                           "off",
                           "1",
                           "0",
                           "TRUE",
                           "Off" }) {
      CAPTURE(b);
      CHECK(Config::validate("disable", b));
    }
    CHECK(Config::validate("cache_dir", "/any/thing at all"));
    CHECK(Config::validate("account", "ci-bot"));
  }
  SUBCASE("an unknown key suggests the closest") {
    auto r = Config::validate("max_sise", "1G");
    REQUIRE_FALSE(r);
    CHECK(contains(r.error(), "max_sise"));
    CHECK(contains(r.error(), "did you mean 'max_size'"));
    auto far = Config::validate("completely_unrelated_key", "1");
    REQUIRE_FALSE(far);
    CHECK(contains(far.error(), "unknown config key"));
    CHECK_FALSE(contains(far.error(), "did you mean"));
    // "ttl." alone names no tool.
    CHECK_FALSE(Config::validate("ttl.", "5m"));
    CHECK_FALSE(Config::validate("serve_upstream.", "http://x"));
    CHECK_FALSE(Config::validate("serve_upstream.anthropic", "ftp://x"));
    CHECK_FALSE(Config::validate("serve_upstream_timeout", "soon"));
  }
  SUBCASE("bad values") {
    auto size = Config::validate("max_size", "lots");
    REQUIRE_FALSE(size);
    CHECK(contains(size.error(), "max_size"));
    CHECK(contains(size.error(), "lots"));
    CHECK_FALSE(Config::validate("max_size", ""));
    CHECK_FALSE(Config::validate("max_size", "-1G"));
    auto ttl = Config::validate("ttl", "5 minutes");
    REQUIRE_FALSE(ttl);
    CHECK(contains(ttl.error(), "5 minutes"));
    CHECK_FALSE(Config::validate("default_ttl", "soon"));
    CHECK_FALSE(Config::validate("ttl.gh", "10 min"));
    auto b = Config::validate("stats", "maybe");
    REQUIRE_FALSE(b);
    CHECK(contains(b.error(), "maybe"));
    CHECK_FALSE(Config::validate("disable", "2"));
  }
}

TEST_CASE("config keys: names unique, env vars IPFSACC_*, defaults valid") {
  std::set<std::string_view> names, envs;
  REQUIRE_FALSE(config_keys().empty());
  for (const auto& key : config_keys()) {
    CAPTURE(std::string(key.name));
    CHECK(names.insert(key.name).second);
    CHECK_FALSE(key.name.empty());
    CHECK_FALSE(key.description.empty());
    if (!key.env.empty()) {
      CHECK(key.env.starts_with("IPFSACC_"));
      CHECK(envs.insert(key.env).second);
    }
    // A key's default is a valid value of it.
    auto ok = Config::validate(key.name, key.default_value);
    CHECK_MESSAGE(ok, (ok ? "" : ok.error()));
  }
  for (auto name : other_env_vars()) {
    CAPTURE(std::string(name));
    CHECK(name.starts_with("IPFSACC_"));
    CHECK(envs.insert(name).second); // not also a config key's variable
  }
}

TEST_CASE("defaults apply when nothing is set") {
  ConfigFixture f("");
  auto c = Config::load(Strictness::error);
  REQUIRE_MESSAGE(c, c.error());
  for (const auto& key : config_keys()) {
    CAPTURE(std::string(key.name));
    CHECK(c->origin(key.name) == Origin::default_value);
  }
  CHECK_FALSE(c->disabled());
  CHECK(c->stats_enabled());
  CHECK_FALSE(c->ttl_override());
  CHECK(c->account().empty());
  CHECK(c->max_size() == *util::parse_size(c->get("max_size")));
  CHECK(c->values().size() == config_keys().size());
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg/cache");
    CHECK(c->cache_dir() == std::filesystem::path("/xdg/cache/ipfsacc"));
  }
}

TEST_CASE("priority: config file < environment < command line") {
  ConfigFixture f("# settings\n"
                  "max_size = 2G\n"
                  "stats = false\n"
                  "account = from-file\n"
                  "ttl = 10m\n");
  ScopedEnv max_size("IPFSACC_MAX_SIZE", "3G");
  ScopedEnv account("IPFSACC_ACCOUNT", "from-env");

  CHECK(Config::config_file() == f.dir / "ipfsacc.conf");
  auto loaded = Config::load(Strictness::error);
  REQUIRE_MESSAGE(loaded, loaded.error());
  Config c = *loaded;

  // Only in the file.
  CHECK(c.get("stats") == "false");
  CHECK(c.origin("stats") == Origin::config_file);
  CHECK_FALSE(c.stats_enabled());
  CHECK(c.ttl_override() == std::optional<util::Millis>(10min));
  // The environment beats the file.
  CHECK(c.get("max_size") == "3G");
  CHECK(c.origin("max_size") == Origin::environment);
  CHECK(c.max_size() == 3'000'000'000u);
  CHECK(c.account() == "from-env");
  // Neither: the default.
  CHECK(c.origin("disable") == Origin::default_value);

  // The command line beats both.
  REQUIRE(c.set("max_size", "4G", Origin::command_line));
  CHECK(c.origin("max_size") == Origin::command_line);
  CHECK(c.max_size() == 4'000'000'000u);
  REQUIRE(c.set("stats", "on", Origin::command_line));
  CHECK(c.stats_enabled());
  CHECK(c.origin("stats") == Origin::command_line);
  // An invalid value is refused and changes nothing.
  CHECK_FALSE(c.set("max_size", "huge", Origin::command_line));
  CHECK(c.get("max_size") == "4G");
  CHECK_FALSE(c.set("nonsense", "1", Origin::command_line));

  CHECK(origin_name(Origin::config_file) != origin_name(Origin::environment));
  CHECK(origin_name(Origin::command_line) !=
        origin_name(Origin::default_value));
}

TEST_CASE("an invalid environment value is an error or a warning") {
  ConfigFixture f("");
  ScopedEnv disable("IPFSACC_DISABLE", "perhaps");
  auto strict = Config::load(Strictness::error);
  REQUIRE_FALSE(strict);
  CHECK(contains(strict.error(), "IPFSACC_DISABLE"));
  auto lenient = Config::load(Strictness::warn);
  REQUIRE(lenient);
  REQUIRE(lenient->warnings().size() == 1);
  CHECK(contains(lenient->warnings()[0], "IPFSACC_DISABLE"));
  // The bad value is ignored.
  CHECK_FALSE(lenient->disabled());
  CHECK(lenient->origin("disable") == Origin::default_value);
}

TEST_CASE("a bad config file line names the file and line") {
  ConfigFixture f("max_size = 1G\n\nmax_sise = 2G\nstats = no\n");
  auto strict = Config::load(Strictness::error);
  REQUIRE_FALSE(strict);
  auto file = (f.dir / "ipfsacc.conf").string();
  CAPTURE(strict.error());
  CHECK(strict.error().starts_with(file + ":3:"));
  CHECK(contains(strict.error(), "max_size"));

  auto lenient = Config::load(Strictness::warn);
  REQUIRE(lenient);
  REQUIRE(lenient->warnings().size() == 1);
  CHECK(lenient->warnings()[0].starts_with(file + ":3:"));
  // The good lines still apply.
  CHECK(lenient->get("max_size") == "1G");
  CHECK_FALSE(lenient->stats_enabled());
}

TEST_CASE("per-tool and per-rule TTLs") {
  ConfigFixture f("ttl.gh = 10m\n"
                  "ttl.gh/api = 30s\n"
                  "ttl.hf/model-info = 1h\n");
  auto c = Config::load(Strictness::error);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->tool_ttl("gh", "api") == std::optional<util::Millis>(30s));
  CHECK(c->tool_ttl("gh", "pr-list") == std::optional<util::Millis>(10min));
  CHECK(c->tool_ttl("hf", "model-info") == std::optional<util::Millis>(1h));
  CHECK_FALSE(c->tool_ttl("hf", "other"));
  CHECK_FALSE(c->tool_ttl("claude", "api"));
  CHECK(c->origin("ttl.gh") == Origin::config_file);
  // The command line can set them too.
  REQUIRE(c->set("ttl.gh/pr-list", "2h", Origin::command_line));
  CHECK(c->tool_ttl("gh", "pr-list") == std::optional<util::Millis>(2h));
  CHECK(c->tool_ttl("gh", "api") == std::optional<util::Millis>(30s));
}

TEST_CASE("unknown IPFSACC_* variables are found with a suggestion") {
  ConfigFixture f("");
  CHECK(unknown_env_vars().empty());
  ScopedEnv typo("IPFSACC_TTLL", "5m");
  auto messages = unknown_env_vars();
  REQUIRE(messages.size() == 1);
  CHECK(contains(messages[0], "IPFSACC_TTLL"));
  CHECK(contains(messages[0], "did you mean IPFSACC_TTL?"));

  ScopedEnv far("IPFSACC_ZZZZZZZZZZZZZZZZ", "1");
  messages = unknown_env_vars();
  CHECK(messages.size() == 2);
  auto it = std::find_if(messages.begin(), messages.end(), [](const auto& m) {
    return contains(m, "IPFSACC_ZZZZZZZZZZZZZZZZ");
  });
  REQUIRE(it != messages.end());
  CHECK_FALSE(contains(*it, "did you mean"));

  // Known variables are not reported, IPFSACC_CONFIG_DIR included (set by
  // the fixture).
  ScopedEnv known("IPFSACC_TTL", "5m");
  CHECK(unknown_env_vars().size() == 2);

  // An error for ipfsacc's commands, a warning when wrapping a tool.
  CHECK_FALSE(Config::load(Strictness::error));
  auto lenient = Config::load(Strictness::warn);
  REQUIRE(lenient);
  CHECK(lenient->warnings().size() == 2);
}

TEST_CASE("config_dir: IPFSACC_CONFIG_DIR, then XDG_CONFIG_HOME, then HOME") {
  CleanIpfsaccEnv clean;
  ScopedEnv config("IPFSACC_CONFIG_DIR");
  ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg/config");
  ScopedEnv home("HOME", "/home/someone");
  config.set("/explicit");
  CHECK(Config::config_dir() == std::filesystem::path("/explicit"));
  config.unset();
  CHECK(Config::config_dir() == std::filesystem::path("/xdg/config/ipfsacc"));
  xdg.unset();
  CHECK(Config::config_dir() ==
        std::filesystem::path("/home/someone/.config/ipfsacc"));
}

TEST_CASE("exclude: a space or comma separated list of tools") {
  ConfigFixture f("exclude = code, vastai  groq,,\thf\n");
  auto c = Config::load(Strictness::error);
  REQUIRE_MESSAGE(c, c.error());
  CHECK(c->excluded() ==
        std::vector<std::string>{ "code", "vastai", "groq", "hf" });
  CHECK(c->excludes("code"));
  CHECK(c->excludes("hf"));
  CHECK_FALSE(c->excludes("gh"));
  CHECK_FALSE(c->excludes("huggingface-cli"));
  {
    ScopedEnv env("IPFSACC_EXCLUDE", "gh");
    auto e = Config::load(Strictness::error);
    REQUIRE_MESSAGE(e, e.error());
    CHECK(e->excluded() == std::vector<std::string>{ "gh" });
  }
  ConfigFixture none("");
  auto d = Config::load(Strictness::error);
  REQUIRE_MESSAGE(d, d.error());
  CHECK(d->excluded().empty());
}

TEST_CASE("IPFSACC_PATH is a known variable") {
  CleanIpfsaccEnv clean;
  ScopedEnv path("IPFSACC_PATH", "/opt/tools/bin");
  CHECK(unknown_env_vars().empty());
}

TEST_CASE("prefer: --prefer and IPFSACC_PREFER, then prefer.TOOL, then "
          "prefer") {
  CHECK(Config::validate("prefer", "sdk"));
  CHECK(Config::validate("prefer.hf", "cli"));
  auto bad = Config::validate("prefer.hf", "both");
  REQUIRE_FALSE(bad);
  CHECK(contains(bad.error(), "is not cli or sdk"));
  CHECK(Config::validate("http_timeout", "30s"));
  CHECK_FALSE(Config::validate("http_connect_timeout", "fast"));

  ConfigFixture f("prefer = sdk\nprefer.gh = cli\nhttp_timeout = 5s\n");
  auto file = Config::load(Strictness::error);
  REQUIRE(file);
  CHECK(file->prefer("gh") == "cli");
  CHECK(file->prefer("hf") == "sdk");
  CHECK(file->http_timeout() == std::chrono::seconds(5));
  CHECK(file->http_connect_timeout() == std::chrono::seconds(10));

  ScopedEnv env("IPFSACC_PREFER", "sdk");
  auto from_env = Config::load(Strictness::error);
  REQUIRE(from_env);
  CHECK(from_env->prefer("gh") == "sdk");
  REQUIRE(from_env->set("prefer", "cli", Origin::command_line));
  CHECK(from_env->prefer("hf") == "cli");
}

TEST_CASE("prefer: nothing set leaves it to the tool") {
  ConfigFixture f("");
  auto config = Config::load(Strictness::error);
  REQUIRE(config);
  CHECK_FALSE(config->prefer("claude"));
}
