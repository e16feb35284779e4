#include "core/program.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace ipfsacc;
using ipfsacc::test::ScopedCwd;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Sets a file's mtime back to what it was: an edit the clock cannot see.
void restore_mtime(const fs::path& path, const struct stat& before) {
  timespec times[2] = { before.st_atim, before.st_mtim };
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

} // namespace

TEST_CASE("identify_program: a small file is identified by its contents") {
  TempDir dir;
  auto script = dir / "s.sh";
  write(script, "#!/bin/sh\necho old\n");
  auto first = identify_program(script.string());
  REQUIRE(first);
  CHECK(first->path == script.string());
  CHECK(first->what.starts_with("sha256 bafkrei"));
  // The same file again: the same identity (a hit stays a hit).
  auto again = identify_program(script.string());
  REQUIRE(again);
  CHECK(again->what == first->what);

  // Edited in place, same size, mtime put back: still another program.
  struct stat before;
  REQUIRE(::stat(script.c_str(), &before) == 0);
  write(script, "#!/bin/sh\necho new\n");
  restore_mtime(script, before);
  auto edited = identify_program(script.string());
  REQUIRE(edited);
  CHECK(edited->what != first->what);

  // The same contents elsewhere: the same what, another path.
  auto copy = dir / "copy.sh";
  write(copy, "#!/bin/sh\necho new\n");
  auto other = identify_program(copy.string());
  REQUIRE(other);
  CHECK(other->what == edited->what);
  CHECK(other->path != edited->path);
}

TEST_CASE("identify_program: a large file is identified by its metadata") {
  TempDir dir;
  auto big = dir / "big";
  write(big, std::string(kProgramHashLimit + 1, 'x'));
  auto first = identify_program(big.string());
  REQUIRE(first);
  CHECK(first->what.starts_with("stat "));
  auto again = identify_program(big.string());
  REQUIRE(again);
  CHECK(again->what == first->what);

  // Replaced by another file of the same size and mtime: another inode.
  struct stat before;
  REQUIRE(::stat(big.c_str(), &before) == 0);
  auto next = dir / "next";
  write(next, std::string(kProgramHashLimit + 1, 'y'));
  restore_mtime(next, before);
  fs::rename(next, big);
  auto replaced = identify_program(big.string());
  REQUIRE(replaced);
  CHECK(replaced->what != first->what);
}

TEST_CASE("identify_program: the path is absolute, symlinks kept") {
  TempDir dir;
  fs::create_directories(dir / "a");
  write(dir / "a" / "s.sh", "echo a\n");
  std::optional<ProgramIdentity> relative;
  {
    ScopedCwd in(dir / "a");
    relative = identify_program("./s.sh");
  }
  REQUIRE(relative);
  CHECK(relative->path == (dir / "a" / "s.sh").string());
  auto dotted = identify_program((dir / "a" / "." / "s.sh").string());
  REQUIRE(dotted);
  CHECK(dotted->path == relative->path);

  // A symlink is named as typed and identified by its target.
  fs::create_symlink(dir / "a" / "s.sh", dir / "link");
  auto linked = identify_program((dir / "link").string());
  REQUIRE(linked);
  CHECK(linked->path == (dir / "link").string());
  CHECK(linked->what == relative->what);
}

TEST_CASE("identify_program: a missing file is no program") {
  TempDir dir;
  CHECK(!identify_program((dir / "missing").string()));
}

TEST_CASE("identify_program: an unreadable binary is identified by stat") {
  if (::geteuid() == 0) {
    return; // root reads anything
  }
  TempDir dir;
  auto binary = dir / "x";
  write(binary, "x");
  fs::permissions(binary, fs::perms::owner_exec);
  auto id = identify_program(binary.string());
  REQUIRE(id);
  CHECK(id->what.starts_with("stat "));
}
