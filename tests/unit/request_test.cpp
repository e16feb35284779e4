#include "core/context.hpp"
#include "core/policy.hpp"
#include "core/request.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <pty.h>
#include <set>
#include <unistd.h>

using namespace ipfsacc;
using ipfsacc::test::ScopedCwd;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;
using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace fs = std::filesystem;

namespace {

// Checks that every object in j has its keys in sorted order, as written.
void check_sorted(const ordered& j, const std::string& where = "$") {
  if (j.is_object()) {
    std::string previous;
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      CAPTURE(where);
      CAPTURE(key);
      if (!first) {
        CHECK(previous < key);
      }
      previous = key;
      first = false;
      check_sorted(value, where + "." + key);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      check_sorted(j[i], where + "[" + std::to_string(i) + "]");
    }
  }
}

// The gh policy, as built in (no user rule files).
ToolPolicy gh_policy() {
  TempDir empty;
  ScopedEnv config("IPFSACC_CONFIG_DIR", empty.path().string());
  auto found = find_policy("gh");
  REQUIRE(found);
  REQUIRE(*found);
  return **found;
}

std::vector<std::string> arg_list(std::initializer_list<const char*> list) {
  return { list.begin(), list.end() };
}

std::span<const uint8_t> raw_bytes(std::string_view s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

} // namespace

TEST_CASE("the request document is canonical JSON") {
  ScopedEnv set("UNIT_REQ_SET", "value");
  ScopedEnv unset("UNIT_REQ_UNSET");
  unset.unset();
  ScopedEnv empty("UNIT_REQ_EMPTY", "");

  ToolPolicy policy;
  policy.tool = "t";
  policy.key_env = { "UNIT_REQ_UNSET", "UNIT_REQ_SET" };
  Rule rule;
  rule.id = "r";
  rule.key_env = { "UNIT_REQ_EMPTY" };

  Request r;
  r.tool = "t";
  r.argv = { "list", "--json", "a b", "\"quoted\"\n" };
  r.account = "h:abcd";
  r.stdin_digest = sha256("input");
  r.terminal = { true, false, 120 };
  r.version = "t version 1.2.3";
  r.policy = &policy;
  r.rule = &rule;

  auto doc = request_document(r);
  CAPTURE(doc);
  // Re-serialising the parsed document gives the same bytes: keys sorted,
  // no insignificant whitespace.
  CHECK(json::parse(doc).dump() == doc);
  auto as_written = ordered::parse(doc);
  CHECK(as_written.dump() == doc);
  check_sorted(as_written);
  // Deterministic.
  CHECK(request_document(r) == doc);

  auto j = json::parse(doc);
  CHECK(j["tool"] == "t");
  CHECK(j["argv"] == json(r.argv));
  CHECK(j["account"] == "h:abcd");
  CHECK(j["stdin"] == cid_string(sha256("input")));
  CHECK(j["version"] == "t version 1.2.3");
  CHECK(j["tty"]["stdout"] == true);
  CHECK(j["tty"]["stderr"] == false);
  CHECK(j["tty"]["columns"] == 120);
  // Key variables: the value, "" when empty, null when unset.
  CHECK(j["env"]["UNIT_REQ_SET"] == "value");
  CHECK(j["env"]["UNIT_REQ_EMPTY"] == "");
  REQUIRE(j["env"].contains("UNIT_REQ_UNSET"));
  CHECK(j["env"]["UNIT_REQ_UNSET"].is_null());
  CHECK(j["env"].size() == 3);
}

TEST_CASE("everything in the request changes the document") {
  ToolPolicy policy;
  policy.tool = "t";
  policy.key_env = { "UNIT_REQ_VAR" };
  Request base;
  base.tool = "t";
  base.argv = { "a", "b" };
  base.policy = &policy;
  ScopedEnv var("UNIT_REQ_VAR");
  var.unset();
  auto doc = request_document(base);

  auto differs = [&](auto change) {
    Request r = base;
    change(r);
    return request_document(r) != doc;
  };
  CHECK(differs([](Request& r) { r.argv = { "b", "a" }; }));
  CHECK(differs([](Request& r) { r.argv = { "a b" }; }));
  CHECK(differs([](Request& r) { r.argv = { "a", "b", "" }; }));
  CHECK(differs([](Request& r) { r.tool = "u"; }));
  CHECK(differs([](Request& r) { r.account = "h:00"; }));
  CHECK(differs([](Request& r) { r.stdin_digest = sha256(""); }));
  CHECK(differs([](Request& r) { r.version = "2"; }));
  CHECK(differs([](Request& r) { r.terminal.stdout_tty = true; }));
  CHECK(differs([](Request& r) { r.terminal.stderr_tty = true; }));
  CHECK(differs([](Request& r) {
    r.program = ProgramIdentity{ "/a/s.sh", "sha256 x" };
  }));
  Request with_program = base;
  with_program.program = ProgramIdentity{ "/a/s.sh", "sha256 x" };
  auto program_doc = request_document(with_program);
  auto program_differs = [&](ProgramIdentity identity) {
    Request r = base;
    r.program = std::move(identity);
    return request_document(r) != program_doc;
  };
  CHECK(program_differs({ "/b/s.sh", "sha256 x" }));
  CHECK(program_differs({ "/a/s.sh", "sha256 y" }));
  CHECK_FALSE(program_differs({ "/a/s.sh", "sha256 x" }));
  // The variable being set (even to "") differs from it being unset.
  var.set("");
  CHECK(request_document(base) != doc);
  var.unset();
  CHECK(request_document(base) == doc);
}

TEST_CASE("one terminal for both streams is keyed apart from two") {
  Request two;
  two.tool = "t";
  two.argv = { "x" };
  two.terminal = { true, true, 80 };
  Request one = two;
  one.terminal.merged = true;
  CHECK(request_document(one) != request_document(two));
  CHECK(json::parse(request_document(one))["merged"] == true);
}

namespace {

// The standard descriptors moved to other files for its lifetime.
class ScopedStdio {
public:
  ScopedStdio(int out, int err)
    : saved_out_(::dup(STDOUT_FILENO))
    , saved_err_(::dup(STDERR_FILENO)) {
    ::fflush(stdout);
    ::fflush(stderr);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
  }
  ~ScopedStdio() {
    ::dup2(saved_out_, STDOUT_FILENO);
    ::dup2(saved_err_, STDERR_FILENO);
    ::close(saved_out_);
    ::close(saved_err_);
  }

private:
  int saved_out_;
  int saved_err_;
};

} // namespace

TEST_CASE("current_terminal: stdout and stderr on one terminal are merged") {
  int master_a, slave_a, master_b, slave_b;
  REQUIRE(::openpty(&master_a, &slave_a, nullptr, nullptr, nullptr) == 0);
  REQUIRE(::openpty(&master_b, &slave_b, nullptr, nullptr, nullptr) == 0);
  // The same terminal through another open file description (`2>/dev/pts/N`).
  int again = ::open(::ttyname(slave_a), O_RDWR | O_NOCTTY);
  REQUIRE(again >= 0);
  TerminalMode one, reopened, two;
  {
    ScopedStdio stdio(slave_a, slave_a);
    one = current_terminal();
  }
  {
    ScopedStdio stdio(slave_a, again);
    reopened = current_terminal();
  }
  {
    ScopedStdio stdio(slave_a, slave_b);
    two = current_terminal();
  }
  for (int fd : { master_a, slave_a, master_b, slave_b, again }) {
    ::close(fd);
  }
  CHECK(one.stdout_tty);
  CHECK(one.stderr_tty);
  CHECK(one.merged);
  CHECK(reopened.merged);
  CHECK(two.stdout_tty);
  CHECK(two.stderr_tty);
  CHECK_FALSE(two.merged);
}

TEST_CASE("the account appears only when set") {
  Request r;
  r.tool = "t";
  r.argv = { "x" };
  auto without = json::parse(request_document(r));
  CHECK_FALSE(without.contains("account"));
  CHECK_FALSE(without.contains("env"));
  CHECK_FALSE(without.contains("stdin"));
  CHECK_FALSE(without.contains("tty"));
  CHECK_FALSE(without.contains("context"));
  // A built-in tool's key has no program: its version stands for it.
  CHECK_FALSE(without.contains("program"));
  r.account = "name:ci";
  auto with = json::parse(request_document(r));
  CHECK(with["account"] == "name:ci");
}

TEST_CASE("argv that is not UTF-8 is written as hex") {
  Request r;
  r.tool = "t";
  r.argv = { "ok", std::string("\xff\x00\x41", 3), "caf\xc3\xa9" };
  r.version = "v\xfe";
  auto doc = request_document(r);
  auto j = json::parse(doc); // the document itself is valid JSON
  CHECK(j["argv"][0] == "ok");
  CHECK(j["argv"][1] == json{ { "hex", "ff0041" } });
  CHECK(j["argv"][2] == "caf\xc3\xa9");
  CHECK(j["version"] == json{ { "hex", "76fe" } });
  // A hex object never collides with the argument that is its text.
  Request other = r;
  other.argv[1] = R"({"hex": "ff0041"})";
  CHECK(request_document(other) != doc);
}

TEST_CASE("any bytes make a document, and different bytes a different one") {
  // Close to UTF-8 but not it: surrogates, overlong forms, past U+10FFFF.
  const std::string bytes[] = {
    "\xed\xa0\x80",     "\xed\xb0\x80",     "\xc0\xaf", "\xe0\x80\xaf",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",     "a\xe2\x82"
  };
  std::set<std::string> documents;
  for (const auto& arg : bytes) {
    CAPTURE(to_hex(raw_bytes(arg)));
    Request r;
    r.tool = "run";
    r.argv = { "echo", arg };
    r.version = arg;
    r.binary = arg;
    r.account = "name:" + arg;
    std::string doc;
    REQUIRE_NOTHROW(doc = request_document(r));
    auto j = json::parse(doc);
    CHECK(j["argv"][1] == json{ { "hex", to_hex(raw_bytes(arg)) } });
    CHECK(j["binary"] == json{ { "hex", to_hex(raw_bytes(arg)) } });
    documents.insert(doc);
  }
  CHECK(documents.size() == std::size(bytes));

  // A key variable whose value, or name, is not UTF-8.
  ScopedEnv value("UNIT_REQ_BYTES", "\xed\xa0\x80");
  std::string odd_name = "UNIT_REQ_\xff";
  ::setenv(odd_name.c_str(), "1", 1);
  Rule rule;
  rule.key_env = { "UNIT_REQ_BYTES", odd_name };
  Request r;
  r.tool = "run";
  r.argv = { "echo" };
  r.rule = &rule;
  std::string doc;
  REQUIRE_NOTHROW(doc = request_document(r));
  auto j = json::parse(doc);
  CHECK(j["env"]["UNIT_REQ_BYTES"] == json{ { "hex", "eda080" } });
  CHECK(j["env_hex"][to_hex(raw_bytes(odd_name))] == "1");
  ::unsetenv(odd_name.c_str());
  CHECK(j["env_hex"] != json::parse(request_document(r))["env_hex"]);
}

TEST_CASE("keys of valid UTF-8 requests are the ones existing caches hold") {
  // Computed before strings that are not UTF-8 were handled differently:
  // a change that moves these keys makes every existing cache miss.
  ScopedEnv key_var("UNIT_REQ_PINNED", "caf\xc3\xa9 \xe2\x82\xac");
  ToolPolicy policy;
  policy.tool = "gh";
  policy.key_env = { "UNIT_REQ_PINNED" };
  Request r;
  r.tool = "gh";
  r.argv = { "pr", "list", "--search", "caf\xc3\xa9 \xf0\x9f\x98\x80", "" };
  r.account = "h:00ff";
  r.stdin_digest = sha256("input");
  r.terminal = { true, true, 80 };
  r.version = "gh version 2.45.0 (2024-03-04)";
  r.policy = &policy;
  CHECK(cid_string(sha256(request_document(r))) ==
        "bafkreifali33byznpnqmgue25p2dxroux3wo4tp3opeqe4inveockfszja");
  Request plain;
  plain.tool = "run";
  plain.argv = { "echo", "hello" };
  CHECK(cid_string(sha256(request_document(plain))) ==
        "bafkreiaqtov5bkwbhxte3sjh3hvjrixhkgt5u34hu5t6zjonaxofynw4h4");
  // Bytes that were already written as hex keep their key too.
  plain.argv = { "printf", std::string("\xff\x00\x41", 3) };
  CHECK(cid_string(sha256(request_document(plain))) ==
        "bafkreihifaxjubh7vewbgokbsjnm4ecbjn5amb6ekt3dixq6z2n6om7kea");
}

TEST_CASE("account_hash") {
  const uint8_t key1[32] = { 1 };
  const uint8_t key2[32] = { 2 };
  std::string token = "GH_TOKEN=ghp_secret123456";
  auto h = account_hash(token, key1);
  CHECK(h.starts_with("h:"));
  CHECK(h.size() == 2 + 64);
  CHECK(h.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
  // Stable, and different for another token or another cache's key.
  CHECK(account_hash(token, key1) == h);
  CHECK(account_hash("GH_TOKEN=ghp_secret123457", key1) != h);
  CHECK(account_hash(token, key2) != h);
  CHECK(account_hash(token, {}) != h);
  // The token is not in it, in text or hex.
  CHECK(h.find("ghp_secret123456") == std::string::npos);
  CHECK(h.find(to_hex(raw_bytes("secret"))) == std::string::npos);
  // Not a plain hash of the token.
  CHECK(h.substr(2) != to_hex(sha256(token)));
}

TEST_CASE("account_token: sources in order, file with regex, unset skipped") {
  TempDir dir;
  REQUIRE(util::write_file_atomic(
    dir / "hosts.yml", "github.com:\n    oauth_token: gho_FILE\n", 0600));
  ScopedEnv env_token("UNIT_REQ_TOKEN");
  env_token.unset();
  ScopedEnv file_dir("UNIT_REQ_DIR", dir.path().string());
  ScopedEnv unset_dir("UNIT_REQ_NODIR");
  unset_dir.unset();

  ToolPolicy p;
  p.account.push_back({ "UNIT_REQ_TOKEN", "", LazyRegex() });
  p.account.push_back({ "", "$UNIT_REQ_NODIR/hosts.yml", LazyRegex() });
  p.account.push_back(
    { "", "$UNIT_REQ_DIR/hosts.yml", LazyRegex(R"(oauth_token:\s*(\S+))") });
  CHECK(account_token(p) == std::optional<std::string>("file=gho_FILE"));

  env_token.set("from-env");
  CHECK(account_token(p) ==
        std::optional<std::string>("UNIT_REQ_TOKEN=from-env"));
  env_token.set(""); // empty: skipped
  CHECK(account_token(p) == std::optional<std::string>("file=gho_FILE"));

  ToolPolicy whole;
  whole.account.push_back({ "", "$UNIT_REQ_DIR/hosts.yml", LazyRegex() });
  CHECK(account_token(whole) ==
        std::optional<std::string>(
          "file=github.com:\n    oauth_token: gho_FILE\n"));

  ToolPolicy none;
  none.account.push_back({ "", "$UNIT_REQ_NODIR/x", LazyRegex() });
  none.account.push_back({ "", (dir / "missing").string(), LazyRegex() });
  CHECK_FALSE(account_token(none));
}

TEST_CASE("call_scopes: -R, GH_REPO, arguments, then the git remotes") {
  auto gh = gh_policy();
  ScopedEnv gh_repo("GH_REPO");
  gh_repo.unset();
  TempDir outside; // not a repository
  ScopedCwd cwd(outside.path());

  CHECK(call_scopes(gh, arg_list({ "pr", "list", "-R", "Owner/Repo" })) ==
        std::vector<std::string>{ "owner/repo" });
  CHECK(call_scopes(gh, arg_list({ "pr", "list", "--repo=cli/cli" })) ==
        std::vector<std::string>{ "cli/cli" });
  CHECK(call_scopes(gh, arg_list({ "api", "repos/Octo/Cat/pulls" })) ==
        std::vector<std::string>{ "octo/cat" });
  CHECK(call_scopes(gh, arg_list({ "api", "/repos/{owner}/{repo}/pulls" }))
          .empty());
  CHECK(call_scopes(gh, arg_list({ "pr", "list" })).empty());

  gh_repo.set("Other/Thing");
  CHECK(call_scopes(gh, arg_list({ "pr", "list" })) ==
        std::vector<std::string>{ "other/thing" });
  // The flag comes first.
  CHECK(call_scopes(gh, arg_list({ "pr", "list", "-R", "a/b" })) ==
        std::vector<std::string>{ "a/b" });
}

TEST_CASE("call_scopes inside a git repository uses its remotes") {
  auto gh = gh_policy();
  ScopedEnv gh_repo("GH_REPO");
  gh_repo.unset();
  TempDir repo;
  fs::create_directories(repo / ".git");
  fs::create_directories(repo / "src" / "deep");
  REQUIRE(
    util::write_file_atomic(repo / ".git" / "config",
                            "[core]\n"
                            "\trepositoryformatversion = 0\n"
                            "\turl = not-a-remote\n"
                            "[remote \"origin\"]\n"
                            "\turl = git@github.com:Owner/Repo.git\n"
                            "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
                            "[remote \"upstream\"]\n"
                            "\turl = https://github.com/Up/Stream\n"
                            "[branch \"main\"]\n"
                            "\tremote = origin\n",
                            0644));

  auto git_dir = find_git_dir(repo / "src" / "deep");
  REQUIRE(git_dir);
  CHECK(*git_dir == repo / ".git");
  CHECK(git_remotes(*git_dir) ==
        std::vector<std::string>{ "origin=git@github.com:Owner/Repo.git",
                                  "upstream=https://github.com/Up/Stream" });

  ScopedCwd cwd(repo / "src" / "deep");
  CHECK(call_scopes(gh, arg_list({ "pr", "list" })) ==
        std::vector<std::string>{ "owner/repo", "up/stream" });
  // An explicit repository wins over the remotes.
  CHECK(call_scopes(gh, arg_list({ "pr", "list", "-R", "x/y" })) ==
        std::vector<std::string>{ "x/y" });
}

TEST_CASE("a worktree's .git file leads to the common config") {
  TempDir dir;
  auto main_git = dir / "main" / ".git";
  fs::create_directories(main_git / "worktrees" / "wt");
  REQUIRE(util::write_file_atomic(
    main_git / "config", "[remote \"origin\"]\n  url = git@h:O/R.git\n", 0644));
  REQUIRE(util::write_file_atomic(
    main_git / "worktrees" / "wt" / "commondir", "../..\n", 0644));
  fs::create_directories(dir / "wt");
  REQUIRE(util::write_file_atomic(
    dir / "wt" / ".git",
    "gitdir: " + (main_git / "worktrees" / "wt").string() + "\n",
    0644));
  auto git_dir = find_git_dir(dir / "wt");
  REQUIRE(git_dir);
  CHECK(*git_dir == main_git / "worktrees" / "wt");
  CHECK(git_remotes(*git_dir) ==
        std::vector<std::string>{ "origin=git@h:O/R.git" });
  CHECK_FALSE(find_git_dir(dir.path()));
}

TEST_CASE("repo_slug") {
  CHECK(repo_slug("https://github.com/Owner/Repo") == "owner/repo");
  CHECK(repo_slug("https://github.com/Owner/Repo.git") == "owner/repo");
  CHECK(repo_slug("https://github.com/Owner/Repo/") == "owner/repo");
  CHECK(repo_slug("https://user@github.com/o/r.git") == "o/r");
  CHECK(repo_slug("ssh://git@github.com/Owner/Repo.git") == "owner/repo");
  CHECK(repo_slug("ssh://git@github.com:22/o/r.git") == "o/r");
  CHECK(repo_slug("git@github.com:Owner/Repo.git") == "owner/repo");
  CHECK(repo_slug("github.com:o/r") == "o/r");
  // As git_remotes returns them.
  CHECK(repo_slug("origin=git@github.com:Owner/Repo.git") == "owner/repo");
  CHECK(repo_slug("upstream=https://github.com/a/b") == "a/b");
  // Not a repository.
  CHECK(repo_slug("https://github.com/owner") == "");
  CHECK(repo_slug("https://github.com") == "");
  CHECK(repo_slug("/local/path/repo") == "");
  CHECK(repo_slug("") == "");
}

TEST_CASE("key_files: a file's content, or its absence, is in the document") {
  TempDir repo;
  fs::create_directories(repo / ".git");
  fs::create_directories(repo / "sub");
  fs::create_directories(repo / "home");
  ScopedEnv home("HOME", (repo / "home").string());
  ScopedEnv unset("UNIT_REQ_NO_SUCH_VAR");
  unset.unset();
  REQUIRE(util::write_file_atomic(repo / "home" / "settings.json", "{}", 0600));
  REQUIRE(util::write_file_atomic(repo / "local.json", "v1", 0600));

  ToolPolicy policy;
  policy.tool = "t";
  policy.key_files = { "~/settings.json", "$UNIT_REQ_NO_SUCH_VAR/x" };
  Rule rule;
  rule.id = "r";
  rule.key_files = { "local.json", "missing.json" };
  Request r;
  r.tool = "t";
  r.policy = &policy;
  r.rule = &rule;

  // From a subdirectory: relative paths are taken from the repository root.
  ScopedCwd cwd(repo / "sub");
  auto j = json::parse(request_document(r));
  REQUIRE(j.contains("files"));
  CHECK(j["files"]["~/settings.json"] == cid_string(sha256("{}")));
  CHECK(j["files"]["local.json"] == cid_string(sha256("v1")));
  REQUIRE(j["files"].contains("missing.json"));
  CHECK(j["files"]["missing.json"].is_null());
  // A path whose variable is unset is skipped.
  CHECK_FALSE(j["files"].contains("$UNIT_REQ_NO_SUCH_VAR/x"));
  CHECK(j["files"].size() == 3);

  // Changing a file changes the document; so does creating one.
  auto before = request_document(r);
  REQUIRE(util::write_file_atomic(repo / "local.json", "v2", 0600));
  auto changed = request_document(r);
  CHECK(changed != before);
  REQUIRE(util::write_file_atomic(repo / "missing.json", "", 0600));
  CHECK(request_document(r) != changed);
}
