// A wrapped call that spills a large output or stdin to the cache's tmp/
// directory must not leave the spill file there once it exits.

#include "core/call.hpp"
#include "exec/runner.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ipfsacc;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

// Runs `ipfsacc run -- command…` in a child process (which leaves the way
// main would) with stdin from stdin_file (or /dev/null) and stdout/stderr to
// /dev/null. Returns the child's wait status.
int run_call(const fs::path& cache,
             const std::vector<std::string>& command,
             const fs::path& stdin_file,
             bool no_stdin) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    int in = stdin_file.empty() ? null : ::open(stdin_file.c_str(), O_RDONLY);
    if (null < 0 || in < 0) {
      ::_exit(120);
    }
    ::dup2(in, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    Config config;
    if (!config.set("cache_dir", cache.string(), Origin::command_line) ||
        !config.set("stats", "false", Origin::command_line)) {
      ::_exit(121);
    }
    CallOptions options;
    options.no_stdin = no_stdin;
    auto end = call_command(command, options, config);
    if (end.kind == CallEnd::Kind::wait_status) {
      exec::exit_like(end.value);
    }
    ::_exit(end.kind == CallEnd::Kind::exit_code ? end.value : 122);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

size_t entries(const fs::path& cache) {
  auto store = storage::Store::open(cache, storage::Access::read_only);
  REQUIRE_MESSAGE(store, store.error());
  size_t n = 0;
  REQUIRE((*store)->read([&](storage::StoreReader& r) {
    r.for_each_entry([&](const Digest&, const storage::Entry&) {
      ++n;
      return true;
    });
  }));
  return n;
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

} // namespace

TEST_CASE("a cached call with a spilled output leaves nothing in tmp/") {
  // exec::run spills outputs over 1 MiB to cache/tmp/spill.XXXXXX and
  // Recording's destructor removes them, but Call::miss ends with
  // exec::exit_like (_exit), so the destructor never runs. An output between
  // 1 and 8 MiB is copied into LMDB and its spill file stays behind.
  TempDir dir;
  auto cache = dir / "cache";
  int status =
    run_call(cache, { "/bin/sh", "-c", "head -c 2000000 /dev/zero" }, {}, true);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(entries(cache) == 1); // it was cached
  auto left = leftovers(cache / "tmp");
  CAPTURE(left.size());
  CHECK(left.empty());
}

TEST_CASE("a failed call with a spilled output leaves nothing in tmp/") {
  // Same cause: the uncached failure path exits with exec::exit_like too.
  TempDir dir;
  auto cache = dir / "cache";
  int status = run_call(
    cache, { "/bin/sh", "-c", "head -c 2000000 /dev/zero; exit 4" }, {}, true);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 4);
  CHECK(entries(cache) == 0); // failures are not cached by default
  auto left = leftovers(cache / "tmp");
  CAPTURE(left.size());
  CHECK(left.empty());
}

TEST_CASE("a call with a spilled stdin leaves nothing in tmp/") {
  // Piped stdin over 8 MiB is spilled to cache/tmp/stdin.XXXXXX; Stdin's
  // destructor would remove it, but the Call is never destroyed.
  TempDir dir;
  auto cache = dir / "cache";
  std::string input(9 << 20, 'x');
  REQUIRE(util::write_file_atomic(dir / "input", input, 0600));
  int status = run_call(
    cache, { "/bin/sh", "-c", "wc -c >/dev/null" }, dir / "input", false);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(entries(cache) == 1);
  auto left = leftovers(cache / "tmp");
  CAPTURE(left.size());
  CHECK(left.empty());
}
