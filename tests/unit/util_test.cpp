#include "test_support.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"
#include "util/linking.hpp"
#include "util/text.hpp"

#include <array>
#include <cstdio>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

using namespace ipfsacc;
using namespace ipfsacc::util;
using namespace std::chrono_literals;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

int64_t ms(std::string_view text) {
  auto d = parse_duration(text);
  REQUIRE_MESSAGE(d, d.error());
  return d->count();
}

uint64_t bytes(std::string_view text) {
  auto s = parse_size(text);
  REQUIRE_MESSAGE(s, s.error());
  return *s;
}

// What /bin/sh makes of a shell-quoted word.
std::string through_shell(const std::string& quoted) {
  std::string command = "printf '%s' " + quoted;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), p)) > 0) {
    out.append(buffer.data(), n);
  }
  CHECK(::pclose(p) == 0);
  return out;
}

void make_executable(const fs::path& path, mode_t mode = 0755) {
  REQUIRE(write_file_atomic(path, "#!/bin/sh\nexit 0\n", mode));
}

} // namespace

TEST_CASE("parse_duration accepts every documented unit") {
  CHECK(ms("500ms") == 500);
  CHECK(ms("30s") == 30'000);
  CHECK(ms("5m") == 300'000);
  CHECK(ms("1h") == 3'600'000);
  CHECK(ms("7d") == 604'800'000);
  CHECK(ms("2w") == 1'209'600'000);
  CHECK(ms("45") == 45'000); // a bare number is seconds
  CHECK(ms("0") == 0);
  CHECK(ms("1.5h") == 5'400'000);
  CHECK(ms("0.5s") == 500);
}

TEST_CASE("parse_duration rejects what is not a duration") {
  for (std::string bad : { "",
                           "5x",
                           "m",
                           "-5s",
                           "5 s",
                           " 5s",
                           "5s ",
                           "5mm",
                           "five",
                           "nan",
                           "inf",
                           "5S",
                           "5M",
                           "1h30m",
                           "s5" }) {
    CAPTURE(bad);
    auto d = parse_duration(bad);
    CHECK_FALSE(d);
    if (!d) {
      CHECK(d.error().find(std::string("'") + bad + "'") != std::string::npos);
    }
  }
}

TEST_CASE("parse_duration never accepts a huge value as negative") {
  // 1e20 days does not fit in int64 milliseconds: std::llround's result is
  // unspecified then (LLONG_MIN on x86), so the TTL comes out negative.
  for (std::string huge : { "1e20d", "1e300s", "99999999999999999999w" }) {
    CAPTURE(huge);
    auto d = parse_duration(huge);
    if (d) {
      CHECK(d->count() > 0);
    }
  }
}

TEST_CASE("parse_epoch_seconds reads IPFSACC_NOW's seconds") {
  CHECK(parse_epoch_seconds("1700000000") == 1'700'000'000'000);
  CHECK(parse_epoch_seconds("1700000000.25") == 1'700'000'000'250);
  CHECK(parse_epoch_seconds("0") == 0);
  for (auto bad :
       { "", "-1", "soon", "17e", "1700000000s", " 1", "1e14", "inf", "nan" }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_epoch_seconds(bad).has_value());
  }
}

TEST_CASE("format_duration") {
  CHECK(format_duration(0ms) == "0ms");
  CHECK(format_duration(350ms) == "350ms");
  CHECK(format_duration(1s) == "1s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(288s) == "4m48s");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(1h + 1min + 1s) == "1h1m");
  // Two adjacent units at most: "1d", not "1d0h5m".
  CHECK(format_duration(24h + 5min) == "1d");
  CHECK(format_duration(24h + 3h + 5min) == "1d3h");
  CHECK(format_duration(-5s) == "-5s");
  // What it writes, parse_duration reads back (for one unit).
  for (auto d : { 1s, 59s, 60s, 3600s, 86400s, 7 * 86400s }) {
    CAPTURE(d.count());
    auto back = parse_duration(format_duration(d));
    REQUIRE(back);
    CHECK(*back == d);
  }
}

TEST_CASE("parse_size") {
  CHECK(bytes("1000") == 1000);
  CHECK(bytes("0") == 0);
  CHECK(bytes("10B") == 10);
  CHECK(bytes("1k") == 1000);
  CHECK(bytes("1kB") == 1000);
  CHECK(bytes("500M") == 500'000'000);
  CHECK(bytes("1G") == 1'000'000'000);
  CHECK(bytes("1.5G") == 1'500'000'000);
  CHECK(bytes("2TB") == 2'000'000'000'000);
  CHECK(bytes("64KiB") == 65'536);
  CHECK(bytes("1Mi") == 1'048'576);
  CHECK(bytes("2GiB") == 2'147'483'648);
  for (std::string bad :
       { "", "G", "1X", "-1", "-1G", "1 G", " 1G", "1Gb", "1GIB", "lots" }) {
    CAPTURE(bad);
    auto s = parse_size(bad);
    CHECK_FALSE(s);
    if (!s) {
      CHECK(s.error().find(bad) != std::string::npos);
    }
  }
}

TEST_CASE("format_size uses powers of 1000") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(999) == "999 B");
  CHECK(format_size(1000) == "1.0 kB");
  CHECK(format_size(1'200'000) == "1.2 MB");
  CHECK(format_size(3'000'000'000) == "3.0 GB");
}

TEST_CASE("edit_distance") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "abc") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("sitting", "kitten") == 3);
  CHECK(edit_distance("flaw", "lawn") == 2);
  CHECK(edit_distance("ttl", "tll") == 1);
  CHECK(edit_distance("abcdef", "azcdef") == 1);
}

TEST_CASE("closest") {
  const std::string_view keys[] = { "max_size", "ttl", "default_ttl", "stats" };
  CHECK(closest("max_sise", keys) == "max_size");
  CHECK(closest("MAX_SIZE", keys) == "max_size");
  CHECK(closest("stat", keys) == "stats");
  CHECK(closest("defualt_ttl", keys) == "default_ttl");
  CHECK(closest("completely_different", keys) == "");
  CHECK(closest("anything", std::span<const std::string_view>()) == "");
}

TEST_CASE("shell_quote") {
  CHECK(shell_quote("abc") == "abc");
  CHECK(shell_quote("--repo=o/r") == "--repo=o/r");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("a\nb") == "'a\\x0ab'");
  CHECK(shell_quote("\x1b[31m") == "'\\x1b[31m'");
  CHECK(shell_quote("\x7f") == "'\\x7f'");
  // Quoted words mean themselves to a shell.
  for (std::string word : { "a b",
                            "$HOME",
                            "it's",
                            "`id`",
                            "*",
                            "a;b|c&d",
                            "\"q\"",
                            "\\",
                            "{x,y}",
                            "~",
                            "#x",
                            "!",
                            "" }) {
    CAPTURE(word);
    CHECK(through_shell(shell_quote(word)) == word);
  }
  std::string joined = join_args(std::vector<std::string>{ "gh", "a b", "" });
  CHECK(joined == "gh 'a b' ''");
}

TEST_CASE("shell_quote leaves no raw control byte") {
  // util/text.hpp: "every byte that is not printable ASCII escaped ... safe
  // to show on one line". Bytes from 0x80 up are copied raw, and 0x9b is
  // CSI in the C1 set (and 0x85 is NEL, a line break) on terminals that
  // honour 8-bit controls.
  for (std::string s : { std::string("\x9b"
                                     "31m"),
                         std::string("a\x85"
                                     "b"),
                         std::string("\xff") }) {
    auto q = shell_quote(s);
    CAPTURE(q);
    for (unsigned char c : q) {
      CHECK(c < 0x80);
    }
  }
}

TEST_CASE("valid_utf8") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9"));       // é
  CHECK(valid_utf8("\xe2\x82\xac"));      // €
  CHECK(valid_utf8("\xf0\x9f\x98\x80!")); // 😀
  CHECK_FALSE(valid_utf8("\xc3"));        // truncated at the end
  CHECK_FALSE(valid_utf8("a\xe2\x82"));
  CHECK_FALSE(valid_utf8("a\xf0\x9f\x98"));
  CHECK_FALSE(valid_utf8("\x80"));                 // a lone continuation byte
  CHECK_FALSE(valid_utf8("\xff"));                 // never in UTF-8
  CHECK_FALSE(valid_utf8("\xf8\x88\x80\x80\x80")); // 5-byte form
  CHECK_FALSE(valid_utf8("\xc3\x28")); // the continuation is not one
  CHECK_FALSE(valid_utf8("\xe2\x28\xa1"));
  CHECK(valid_utf8(std::string("a\0b", 3)));
  // Well-formed only: what a JSON library accepts as a string.
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));     // a UTF-16 surrogate
  CHECK_FALSE(valid_utf8("\xed\xbf\xbf"));     // the last one
  CHECK(valid_utf8("\xed\x9f\xbf"));           // U+D7FF, just below
  CHECK_FALSE(valid_utf8("\xc0\xaf"));         // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));     // overlong, 3 bytes
  CHECK_FALSE(valid_utf8("\xf0\x80\x80\xaf")); // overlong, 4 bytes
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));       // U+10FFFF
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80")); // past it
  CHECK_FALSE(valid_utf8("\xf5\x80\x80\x80")); // a lead byte never used
}

TEST_CASE("valid_utf8 accepts exactly what nlohmann's dump accepts") {
  auto dumps = [](const std::string& s) {
    try {
      (void)nlohmann::json(s).dump();
      return true;
    } catch (const nlohmann::json::type_error&) {
      return false;
    }
  };
  // Every sequence of up to three bytes made of interesting values, and
  // four-byte sequences around the edges of the planes.
  const unsigned char edges[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                  0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
                                  0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
  size_t checked = 0;
  for (auto a : edges) {
    for (auto b : edges) {
      for (auto c : edges) {
        for (std::string s :
             { std::string{ char(a) },
               std::string{ char(a), char(b) },
               std::string{ char(a), char(b), char(c) },
               std::string{ char(a), char(b), char(c), '\x80' },
               std::string{ char(a), char(b), char(c), '\xbf' } }) {
          std::string bytes;
          for (unsigned char byte : s) {
            bytes += "0123456789abcdef"[byte >> 4];
            bytes += "0123456789abcdef"[byte & 15];
          }
          CAPTURE(bytes);
          CHECK(valid_utf8(s) == dumps(s));
          ++checked;
        }
      }
    }
  }
  CHECK(checked > 40000);
}

TEST_CASE("expand_path") {
  ScopedEnv home("HOME", "/home/me");
  ScopedEnv var("UNIT_TEST_VAR", "/some/where");
  ScopedEnv unset("UNIT_TEST_UNSET");
  unset.unset();
  ScopedEnv empty("UNIT_TEST_EMPTY", "");

  CHECK(expand_path("~/x/y") == "/home/me/x/y");
  CHECK(expand_path("/abs/path") == "/abs/path");
  CHECK(expand_path("rel/path") == "rel/path");
  CHECK(expand_path("$UNIT_TEST_VAR/gh/hosts.yml") ==
        "/some/where/gh/hosts.yml");
  CHECK(expand_path("${UNIT_TEST_VAR}x") == "/some/wherex");
  CHECK(expand_path("a/${UNIT_TEST_VAR}/b") == "a//some/where/b");
  CHECK(expand_path("~/$UNIT_TEST_VAR") == "/home/me//some/where");
  // An unset (or empty) variable: the caller skips the source.
  CHECK(expand_path("$UNIT_TEST_UNSET/hosts.yml") == "");
  CHECK(expand_path("${UNIT_TEST_UNSET}") == "");
  CHECK(expand_path("$UNIT_TEST_EMPTY/x") == "");
  // Only a leading "~/" is the home directory.
  CHECK(expand_path("a/~/b") == "a/~/b");
  CHECK(expand_path("~user/x") == "~user/x");
}

TEST_CASE("write_file_atomic sets the mode and leaves no temporary file") {
  TempDir dir;
  auto path = dir / "out.txt";
  REQUIRE(write_file_atomic(path, "first", 0640));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(read_file(path) == std::string("first"));

  // Replacing keeps one file, with the new contents and mode; the umask
  // does not change the mode asked for.
  mode_t old_mask = ::umask(077);
  auto replaced = write_file_atomic(path, std::string("second\0x", 8), 0644);
  ::umask(old_mask);
  REQUIRE(replaced);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
  CHECK(read_file(path) == std::string("second\0x", 8));

  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CAPTURE(e.path().string());
    ++files;
  }
  CHECK(files == 1);

  // A directory that does not exist: an error naming the path, and nothing
  // left behind.
  auto failed = write_file_atomic(dir / "no" / "file", "x", 0600);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().find((dir / "no" / "file").string()) !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir / "no"));
}

TEST_CASE("read_file and make_dirs") {
  TempDir dir;
  auto missing = read_file(dir / "missing");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("missing") != std::string::npos);

  auto deep = dir / "a" / "b" / "c";
  REQUIRE(make_dirs(deep, 0700));
  CHECK(fs::is_directory(deep));
  struct stat st;
  REQUIRE(::stat((dir / "a").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(make_dirs(deep, 0700)); // already there
  REQUIRE(write_file_atomic(dir / "f", "x", 0600));
  CHECK_FALSE(make_dirs(dir / "f", 0700));
  CHECK_FALSE(make_dirs(dir / "f" / "sub", 0700));
}

TEST_CASE("find_executable") {
  TempDir dir;
  fs::create_directories(dir / "d1");
  fs::create_directories(dir / "d2");
  fs::create_directories(dir / "d3");
  make_executable(dir / "d1" / "tool");
  make_executable(dir / "d2" / "tool");
  make_executable(dir / "d3" / "other");
  REQUIRE(write_file_atomic(dir / "d3" / "tool", "not executable", 0644));
  fs::create_directories(dir / "d3" / "dir-tool");

  std::string path = (dir / "d3").string() + ":" + (dir / "d1").string() + ":" +
                     (dir / "d2").string();
  // The first executable on the path; not executable files are skipped.
  CHECK(find_executable("tool", path) == (dir / "d1" / "tool").string());
  // Skipping ourselves finds the next one.
  CHECK(find_executable("tool", path, dir / "d1" / "tool") ==
        (dir / "d2" / "tool").string());
  // The skipped file is recognised through a symlink to it too.
  fs::create_symlink(dir / "d1" / "tool", dir / "link");
  CHECK(find_executable("tool", path, dir / "link") ==
        (dir / "d2" / "tool").string());
  // Directories are not executables.
  CHECK(find_executable("dir-tool", path) == "");
  CHECK(find_executable("nothing", path) == "");
  CHECK(find_executable("tool", "") == "");
  // A name with a slash is taken as it is.
  auto direct = (dir / "d3" / "other").string();
  CHECK(find_executable(direct, "") == direct);
  CHECK(find_executable((dir / "d3" / "missing").string(), path) == "");
}

TEST_CASE("close_on_exec_since marks what was opened under a directory") {
  TempDir inside;
  TempDir outside;
  auto cloexec = [](int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
  };
  auto open_plain = [](const fs::path& path) {
    return ::open(path.c_str(), O_RDWR | O_CREAT, 0600); // no O_CLOEXEC
  };
  int before = open_plain(inside / "before");
  int first = next_fd();
  int a = open_plain(inside / "data.mdb");
  int b = open_plain(outside / "other");
  int c = open_plain(inside / "lock.mdb");
  REQUIRE(before >= 0);
  REQUIRE(a == first);
  REQUIRE(b >= 0);
  REQUIRE(c >= 0);
  CHECK_FALSE(cloexec(a));
  close_on_exec_since(first, inside.path());
  CHECK(cloexec(a));
  CHECK(cloexec(c));
  CHECK_FALSE(cloexec(b));      // not under the directory
  CHECK_FALSE(cloexec(before)); // opened before
  set_close_on_exec(b);
  CHECK(cloexec(b));
  for (int fd : { before, a, b, c }) {
    ::close(fd);
  }
}

TEST_CASE("util: split_list keeps the pieces between separators") {
  using ipfsacc::util::split_list;
  auto pieces = split_list(" a, b,,c\t", ", \t");
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0] == "a");
  CHECK(pieces[1] == "b");
  CHECK(pieces[2] == "c");
  CHECK(split_list("", ", ").empty());
  CHECK(split_list(" , ", ", ").empty());
  CHECK(split_list("one", ", ").size() == 1);
}

TEST_CASE("util: host lookups a static program makes by itself") {
  using ipfsacc::util::hosts_line_is_static;
  CHECK(hosts_line_is_static("passwd: files\nhosts:          files dns\n"));
  CHECK(hosts_line_is_static("hosts: dns [!UNAVAIL=return] files # local\n"));
  CHECK(hosts_line_is_static("hosts:\tfiles[NOTFOUND=return]\tdns"));
  CHECK(hosts_line_is_static("passwd: files systemd\n")); // no hosts line
  CHECK(hosts_line_is_static(""));
  // Debian's desktop default, and systemd-resolved's.
  CHECK_FALSE(hosts_line_is_static(
    "hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n"));
  CHECK_FALSE(hosts_line_is_static(
    "hosts: mymachines resolve [!UNAVAIL=return] files myhostname dns\n"));
  CHECK_FALSE(hosts_line_is_static("hosts: files ldap[UNAVAIL=continue] dns"));
  CHECK_FALSE(hosts_line_is_static("# hosts: files\nhosts: files nis\n"));
}
