#include "core/cid.hpp"
#include "exec/runner.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

using namespace ipfsacc;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

exec::RunOptions shell(const std::string& script) {
  exec::RunOptions o;
  o.path = "/bin/sh";
  o.argv = { "sh", "-c", script };
  o.forward = false;
  return o;
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("stdout and stderr are recorded with their digests and order") {
  // The pauses let each write reach us before the next one: two pipes carry
  // no order between them otherwise.
  auto o = shell("printf out1; sleep 0.2; printf err1 >&2; sleep 0.2; "
                 "printf out2");
  auto r = exec::run(o);
  REQUIRE(r.started);
  CHECK(r.exited_ok());
  CHECK(r.shell_code() == 0);
  const auto& rec = r.recording;
  CHECK(rec.complete);
  CHECK(rec.out.memory == "out1out2");
  CHECK(rec.err.memory == "err1");
  CHECK(rec.out.size == 8);
  CHECK(rec.err.size == 4);
  CHECK(rec.out.digest == sha256("out1out2"));
  CHECK(rec.err.digest == sha256("err1"));
  CHECK(rec.out.file.empty());
  REQUIRE(rec.segments.size() == 3);
  CHECK(rec.segments[0].stream == storage::Stream::out);
  CHECK(rec.segments[0].size == 4);
  CHECK(rec.segments[1].stream == storage::Stream::err);
  CHECK(rec.segments[1].size == 4);
  CHECK(rec.segments[2].stream == storage::Stream::out);
  CHECK(rec.segments[2].size == 4);
  CHECK(r.duration_ms >= 0);
}

TEST_CASE("no output: empty digests and no segments") {
  auto r = exec::run(shell("exit 0"));
  REQUIRE(r.started);
  CHECK(r.recording.out.size == 0);
  CHECK(r.recording.out.digest == empty_digest());
  CHECK(r.recording.err.digest == empty_digest());
  CHECK(r.recording.segments.empty());
}

TEST_CASE("a large output spills to a file with the right digest") {
  TempDir dir;
  auto spill_dir = dir / "tmp";
  auto o = shell("head -c 3000000 /dev/zero; printf tail");
  o.spill_dir = spill_dir;
  std::string expected(3'000'000, '\0');
  expected += "tail";
  fs::path file;
  {
    auto r = exec::run(o);
    REQUIRE(r.started);
    CHECK(r.exited_ok());
    const auto& out = r.recording.out;
    CHECK(r.recording.complete);
    CHECK(out.size == expected.size());
    CHECK(out.digest == sha256(expected));
    REQUIRE_FALSE(out.file.empty());
    file = out.file;
    CHECK(file.parent_path() == spill_dir);
    CHECK(out.memory.empty());
    auto content = util::read_file(file);
    REQUIRE(content);
    CHECK(content->size() == expected.size());
    CHECK(sha256(*content) == sha256(expected));
    uint64_t total = 0;
    for (const auto& s : r.recording.segments) {
      CHECK(s.stream == storage::Stream::out);
      total += s.size;
    }
    CHECK(total == expected.size());
  }
  // The recording's owner removes its spill files.
  CHECK_FALSE(fs::exists(file));
  CHECK(files_in(spill_dir) == 0);
}

TEST_CASE("exit statuses and signals") {
  auto r = exec::run(shell("exit 3"));
  REQUIRE(r.started);
  CHECK_FALSE(r.exited_ok());
  CHECK(WIFEXITED(r.wait_status));
  CHECK(r.shell_code() == 3);

  auto killed = exec::run(shell("printf before; kill -TERM $$; printf after"));
  REQUIRE(killed.started);
  CHECK_FALSE(killed.exited_ok());
  CHECK(WIFSIGNALED(killed.wait_status));
  CHECK(WTERMSIG(killed.wait_status) == SIGTERM);
  CHECK(killed.shell_code() == 128 + SIGTERM);
  CHECK(killed.shell_code() == 143);
  CHECK(killed.recording.out.memory == "before");
}

TEST_CASE("stdin data is fed to the child") {
  exec::StdinData in;
  in.memory = "line one\nline two\n";
  for (int i = 0; i < 20000; ++i) { // larger than a pipe buffer
    in.memory += "filler " + std::to_string(i) + "\n";
  }
  exec::RunOptions o;
  o.path = "/bin/cat";
  o.argv = { "cat" };
  o.forward = false;
  o.stdin_data = &in;
  auto r = exec::run(o);
  REQUIRE(r.started);
  CHECK(r.exited_ok());
  CHECK(r.recording.out.size == in.memory.size());
  CHECK(r.recording.out.digest == sha256(in.memory));

  // Empty stdin: the child sees end of file at once.
  exec::StdinData nothing;
  o.stdin_data = &nothing;
  auto empty = exec::run(o);
  REQUIRE(empty.started);
  CHECK(empty.exited_ok());
  CHECK(empty.recording.out.size == 0);

  // From a file.
  TempDir dir;
  REQUIRE(util::write_file_atomic(dir / "in", "from a file", 0600));
  exec::StdinData file;
  file.file = dir / "in";
  o.stdin_data = &file;
  auto from_file = exec::run(o);
  REQUIRE(from_file.started);
  CHECK(from_file.recording.out.memory == "from a file");
}

TEST_CASE("extra environment variables replace ours for the child") {
  ScopedEnv ours("UNIT_RUN_VAR", "parent");
  auto o = shell("printf '%s|%s' \"$UNIT_RUN_VAR\" \"$UNIT_RUN_NEW\"");
  o.extra_env = { "UNIT_RUN_VAR=child", "UNIT_RUN_NEW=new" };
  auto r = exec::run(o);
  REQUIRE(r.started);
  CHECK(r.recording.out.memory == "child|new");
  CHECK(std::string(std::getenv("UNIT_RUN_VAR")) == "parent");
  // argv[0] is the name the tool sees.
  auto named = shell("printf '%s' \"$0\"");
  named.argv = { "custom-name", "-c", "printf '%s' \"$0\"" };
  auto n = exec::run(named);
  CHECK(n.recording.out.memory == "custom-name");
}

TEST_CASE("record=false captures nothing") {
  auto o = shell("printf hello; printf err >&2");
  o.record = false;
  auto r = exec::run(o);
  REQUIRE(r.started);
  CHECK(r.exited_ok());
  CHECK(r.recording.segments.empty());
  CHECK(r.recording.out.memory.empty());
}

TEST_CASE("a missing executable does not start") {
  exec::RunOptions o;
  o.path = "/nonexistent/ipfsacc-unit-no-such-tool";
  o.argv = { "no-such-tool" };
  o.forward = false;
  auto r = exec::run(o);
  CHECK_FALSE(r.started);
  CHECK(r.spawn_errno == ENOENT);
  CHECK_FALSE(r.exited_ok());

  // Not executable: started is false too, with another error.
  TempDir dir;
  REQUIRE(util::write_file_atomic(dir / "plain", "#!/bin/sh\n", 0644));
  o.path = (dir / "plain").string();
  auto denied = exec::run(o);
  CHECK_FALSE(denied.started);
  CHECK(denied.spawn_errno == EACCES);
}
