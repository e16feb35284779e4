// ipfsacc doctor: checks the cache, the configuration and the wrapped tools,
// one line each: OK, WARN or FAIL, with how to fix what is wrong.

#include "commands.hpp"
#include "core/policy.hpp"
#include "entries.hpp"
#include "remote/remotes.hpp"
#include "secrets/store.hpp"
#include "storage/lock.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <poll.h>
#include <set>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kLowDiskSpace = 1'000'000'000;
constexpr int kVersionTimeoutMs = 5000;

struct DoctorOptions {
  bool deep = false;
};

class Report {
public:
  void ok(std::string_view check, std::string_view detail) {
    line("OK", check, detail, {});
  }
  void warn(std::string_view check,
            std::string_view detail,
            std::string_view fix = {}) {
    line("WARN", check, detail, fix);
  }
  void fail(std::string_view check,
            std::string_view detail,
            std::string_view fix = {}) {
    ++failures_;
    line("FAIL", check, detail, fix);
  }
  int failures() const { return failures_; }

private:
  void line(std::string_view status,
            std::string_view check,
            std::string_view detail,
            std::string_view fix) {
    fmt::print("{:<4}  {}: {}{}\n",
               status,
               check,
               detail,
               fix.empty() ? "" : fmt::format(" (fix: {})", fix));
    std::fflush(stdout);
  }
  int failures_ = 0;
};

std::string mode_text(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

// ---- configuration --------------------------------------------------------

void check_config(Report& report) {
  auto path = Config::config_file();
  auto text = util::read_file(path);
  struct stat st;
  if (!text && ::stat(path.c_str(), &st) != 0) {
    report.ok("config", fmt::format("no {} (defaults)", path.string()));
  } else if (auto trusted = Config::check_config_file_trusted(); !trusted) {
    report.fail("config",
                trusted.error() + "; it is ignored",
                fmt::format("chmod go-w {} {}",
                            path.parent_path().string(),
                            path.string()));
  } else if (!text) {
    report.fail("config", text.error(), "chmod u+r " + path.string());
  } else if (auto lines = parse_config_text(*text, path.string()); !lines) {
    report.fail("config", lines.error(), "write `key = value` lines");
  } else {
    int bad = 0;
    for (const auto& line : *lines) {
      if (auto ok = Config::validate(line.key, line.value); !ok) {
        ++bad;
        bool unknown = ok.error().starts_with("unknown config key");
        report.fail(
          "config",
          fmt::format("{}:{}: {}", path.string(), line.line, ok.error()),
          unknown ? fmt::format("ipfsacc config unset {}", line.key)
                  : fmt::format("ipfsacc config set {} VALUE", line.key));
      }
    }
    if (bad == 0) {
      report.ok("config",
                fmt::format("{}: {} {} valid",
                            path.string(),
                            lines->size(),
                            lines->size() == 1 ? "key" : "keys"));
    }
  }
  for (const auto& key : config_keys()) {
    if (key.env.empty()) {
      continue;
    }
    if (const char* value = std::getenv(std::string(key.env).c_str())) {
      if (auto ok = Config::validate(key.name, value); !ok) {
        report.fail("environment",
                    fmt::format("{}: {}", key.env, ok.error()),
                    fmt::format("fix or unset {}", key.env));
      }
    }
  }
  for (const auto& message : unknown_env_vars()) {
    report.warn("environment", message, "unset it or correct its name");
  }
}

// ---- cache directory and LMDB ---------------------------------------------

// The cache cannot be read (why): found corrupt, it has been set aside and
// the next call starts afresh; otherwise the user moves it aside.
void report_unusable(Report& report,
                     const fs::path& dir,
                     const std::string& why) {
  if (storage::Store::corruption_in(dir)) {
    std::error_code ec;
    if (!fs::exists(dir / "data.mdb", ec)) {
      report.fail("lmdb",
                  why,
                  "none needed: the next call starts a fresh cache; remove "
                  "the file set aside when you no longer want it");
    } else {
      // Not renamed: the directory is not writable by this user.
      report.fail("lmdb",
                  why,
                  fmt::format("move {} aside as a user who may write {}",
                              (dir / "data.mdb").string(),
                              dir.string()));
    }
    return;
  }
  report.fail(
    "lmdb",
    why,
    fmt::format("move {} aside; the cache is rebuilt on the next call",
                dir.string()));
}

// Returns the opened store when there is one to check further.
std::unique_ptr<storage::Store> check_cache_dir(Report& report,
                                                const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    report.ok("cache dir",
              fmt::format("{} does not exist yet (created on the first "
                          "cached call)",
                          dir.string()));
    return nullptr;
  }
  if (!S_ISDIR(st.st_mode)) {
    report.fail("cache dir",
                fmt::format("{} is not a directory", dir.string()),
                fmt::format("move it away, or set cache_dir elsewhere"));
    return nullptr;
  }
  if (st.st_uid != ::getuid()) {
    report.warn("cache dir",
                fmt::format("{} belongs to uid {}, not to you ({})",
                            dir.string(),
                            st.st_uid,
                            ::getuid()),
                "chown -R $(id -u) " + dir.string());
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    report.fail(
      "cache dir",
      fmt::format("{} is not writable: nothing new is cached", dir.string()),
      "chmod 700 " + dir.string());
  } else if ((st.st_mode & 077) != 0) {
    report.warn("cache dir",
                fmt::format("{} has mode {}: others can read cached outputs",
                            dir.string(),
                            mode_text(st.st_mode)),
                "chmod 700 " + dir.string());
  } else {
    report.ok("cache dir",
              fmt::format("{} (mode {})", dir.string(), mode_text(st.st_mode)));
  }

  // Corrupt caches set aside earlier (by any call that found one).
  for (const auto& aside : storage::set_aside_files(dir)) {
    report.warn(
      "lmdb",
      fmt::format("{} is a corrupt cache, set aside when it was found; the "
                  "cache was started afresh",
                  aside.string()),
      fmt::format("rm {}", aside.string()));
  }
  if (::stat((dir / "data.mdb").c_str(), &st) != 0) {
    report.ok("lmdb", "no cache yet (created on the first cached call)");
    return nullptr;
  }
  auto store = storage::Store::open(dir, storage::Access::read_only);
  if (!store) {
    report_unusable(report, dir, store.error());
    return nullptr;
  }
  report.ok("lmdb",
            fmt::format("opens; {} on disk",
                        util::format_size((*store)->disk_usage())));
  return std::move(*store);
}

// ---- consistency ----------------------------------------------------------

struct BlobUse {
  uint64_t size = 0;
  int64_t refs = 0; // references from entries
  Digest first_user{};
};

void check_contents(Report& report, storage::Store& store, bool deep) {
  auto read = store.read([&](storage::StoreReader& r) {
    auto sizes = r.table_sizes();
    int64_t counted = r.counter("entries");
    uint64_t corrupt_records = 0;
    std::map<Digest, BlobUse> uses;
    r.for_each_key(Digest{}, [&](const Digest& key) {
      bool corrupt = false;
      auto e = r.entry(key, &corrupt);
      if (!e) {
        ++corrupt_records;
        return true;
      }
      for (auto [digest, size] :
           { std::pair{ e->stdout_digest, e->stdout_size },
             std::pair{ e->stderr_digest, e->stderr_size } }) {
        if (size == 0) {
          continue;
        }
        auto& use = uses[digest];
        if (use.refs == 0) {
          use.first_user = key;
        }
        use.size = size;
        ++use.refs;
      }
      return true;
    });

    if (corrupt_records > 0) {
      report.fail("entries",
                  fmt::format("{} records do not decode", corrupt_records),
                  "ipfsacc purge --all --yes");
    } else if (static_cast<int64_t>(sizes.entries) != counted ||
               sizes.by_lru != sizes.entries ||
               sizes.by_expiry != sizes.entries) {
      report.warn("entries",
                  fmt::format("{} entries, but the counter says {} and the "
                              "indexes hold {} (last use) and {} (expiry)",
                              sizes.entries,
                              counted,
                              sizes.by_lru,
                              sizes.by_expiry),
                  "ipfsacc export F; ipfsacc purge --all --yes; ipfsacc "
                  "import F");
    } else {
      report.ok("entries",
                fmt::format("{} entries, indexes consistent", sizes.entries));
    }

    // Every output an entry names must be there, counted once per use.
    std::map<Digest, int64_t> refs;
    r.for_each_blob_ref([&](const Digest& d, int64_t n) {
      refs[d] = n;
      return true;
    });
    uint64_t missing = 0;
    uint64_t miscounted = 0;
    uint64_t bad = 0;
    uint64_t verified_bytes = 0;
    std::vector<Digest> affected;
    for (const auto& [digest, use] : uses) {
      auto it = refs.find(digest);
      if (it == refs.end() || it->second != use.refs) {
        ++miscounted;
      }
      auto bytes = r.blob(digest, use.size);
      if (!bytes) {
        ++missing;
        affected.push_back(use.first_user);
      } else if (deep) {
        if (sha256(*bytes) != digest) {
          ++bad;
          affected.push_back(use.first_user);
        } else {
          verified_bytes += use.size;
        }
      }
    }
    // Stored outputs no entry names: counted once, wherever they are.
    std::set<Digest> orphans;
    uint64_t orphan_bytes = 0;
    for (const auto& [digest, n] : refs) {
      if (!uses.contains(digest)) {
        orphans.insert(digest);
      }
    }
    uint64_t inline_blobs = 0;
    r.for_each_inline_blob([&](const Digest& d, std::span<const uint8_t> b) {
      ++inline_blobs;
      if (!uses.contains(d)) {
        orphans.insert(d);
        orphan_bytes += b.size();
      }
      return true;
    });
    std::error_code ec;
    for (fs::recursive_directory_iterator it(store.dir() / "blobs", ec), end;
         !ec && it != end;
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) {
        continue;
      }
      auto digest = parse_cid(it->path().filename().string());
      if (!digest || !uses.contains(*digest)) {
        orphans.insert(digest ? *digest : sha256(it->path().string()));
        orphan_bytes += it->file_size(ec);
      }
    }

    std::string keys;
    for (size_t i = 0; i < affected.size() && i < 3; ++i) {
      keys += fmt::format("; ipfsacc purge --key {}", cid_string(affected[i]));
    }
    if (missing > 0) {
      report.fail("blobs",
                  fmt::format("{} outputs named by entries are missing "
                              "(those calls run the tool again)",
                              missing),
                  keys.substr(2));
    }
    if (bad > 0) {
      report.fail("blobs",
                  fmt::format("{} outputs do not match their CID (never "
                              "served; the disk may be failing)",
                              bad),
                  keys.substr(2));
    }
    if (miscounted > 0) {
      report.warn("blobs",
                  fmt::format("{} reference counts are wrong: freeing may "
                              "leave or drop bytes early",
                              miscounted),
                  "ipfsacc export F; ipfsacc purge --all --yes; ipfsacc "
                  "import F");
    }
    if (missing == 0 && bad == 0 && miscounted == 0) {
      report.ok("blobs",
                deep ? fmt::format("{} outputs, all verify against their "
                                   "CIDs ({})",
                                   uses.size(),
                                   util::format_size(verified_bytes))
                     : fmt::format("{} outputs present and counted ({} in "
                                   "LMDB); --deep verifies their bytes",
                                   uses.size(),
                                   inline_blobs));
    }
    if (!orphans.empty()) {
      report.warn("blobs",
                  fmt::format("{} stored outputs belong to no entry ({})",
                              orphans.size(),
                              util::format_size(orphan_bytes)),
                  "ipfsacc export F; ipfsacc purge --all --yes; ipfsacc "
                  "import F");
    }
  });
  if (!read) {
    report_unusable(report, store.dir(), read.error());
  }
}

// Removes what killed calls left in the cache directory (lock files and
// spill files no live process holds) and says so when there was any.
void check_leftovers(Report& report, const fs::path& dir) {
  auto swept = storage::sweep_leftovers(dir, util::Sweep::remove);
  if (swept.files > 0) {
    report.ok("leftovers",
              fmt::format("removed {} {} ({}) left by killed calls",
                          swept.files,
                          swept.files == 1 ? "file" : "files",
                          util::format_size(swept.bytes)));
  }
}

// ---- disk space -----------------------------------------------------------

void check_space(Report& report, const Config& config) {
  fs::path dir = config.cache_dir();
  struct statvfs vfs;
  while (::statvfs(dir.c_str(), &vfs) != 0) {
    if (!dir.has_parent_path() || dir.parent_path() == dir) {
      report.warn("disk space", "cannot tell the free space");
      return;
    }
    dir = dir.parent_path();
  }
  uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  auto detail = fmt::format("{} free on {} (max_size {})",
                            util::format_size(free),
                            dir.string(),
                            util::format_size(config.max_size()));
  if (free < kLowDiskSpace) {
    report.warn("disk space",
                detail,
                "free some space, or keep the cache smaller: ipfsacc config "
                "set max_size 200M");
  } else {
    report.ok("disk space", detail);
  }
}

// ---- wrapped tools --------------------------------------------------------

// The first line path args… writes (stdout and stderr together), or nullopt
// when it fails, does not exit in time or cannot run.
std::optional<std::string> first_line(const std::string& path,
                                      const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, STDIN_FILENO);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(path.c_str(), args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(kVersionTimeoutMs);
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{ fds[0], POLLIN, 0 };
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    char buffer[4096];
    ssize_t got = ::read(fds[0], buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    if (out.size() < 65536) {
      out.append(buffer, static_cast<size_t>(got));
    }
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  size_t start = out.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    return std::string();
  }
  return out.substr(start, out.find('\n', start) - start);
}

void check_tools(Report& report) {
  std::string search_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  auto self = util::self_exe();
  std::vector<std::string> absent;
  for (const auto& name : known_binaries()) {
    auto path = util::find_executable(name, search_path, self);
    if (path.empty()) {
      absent.push_back(name);
      continue;
    }
    auto policy = find_policy(name);
    if (!policy || !*policy) {
      continue; // Its rule file is reported by check_rules.
    }
    const auto& version_args = (*policy)->version_args;
    if (version_args.empty()) {
      report.ok("tool " + name, path);
      continue;
    }
    std::vector<std::string> argv{ name };
    argv.insert(argv.end(), version_args.begin(), version_args.end());
    auto version = first_line(path, argv);
    if (!version) {
      report.warn("tool " + name,
                  fmt::format("{}: `{}` failed or hung, so its answers are "
                              "cached without its version in the key",
                              path,
                              fmt::join(argv, " ")),
                  fmt::format("check that `{}` works", fmt::join(argv, " ")));
    } else {
      report.ok("tool " + name, fmt::format("{} ({})", path, *version));
    }
  }
  if (!absent.empty()) {
    report.ok(
      "tools",
      fmt::format("not on PATH (not used): {}", fmt::join(absent, ", ")));
  }
}

void check_rules(Report& report) {
  auto dir = Config::config_dir() / "wrappers";
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".json") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> builtin;
  for (const auto& b : builtin_policies()) {
    builtin.emplace_back(b.file);
  }
  report.ok("rules",
            fmt::format("{} built-in rule files ({}); {} of yours in {}",
                        builtin.size(),
                        fmt::join(builtin, ", "),
                        files.size(),
                        dir.string()));
  for (const auto& path : files) {
    auto text = util::read_file(path);
    if (!text) {
      report.fail("rules", text.error(), "chmod u+r " + path.string());
      continue;
    }
    auto policy = parse_policy(*text, path.string(), Validate::yes);
    if (!policy) {
      report.fail("rules",
                  policy.error(),
                  "correct it (the format is in wrappers/README.md) or "
                  "remove it; until then its tools run uncached");
    } else {
      report.ok("rules",
                fmt::format("{}: {} with {} rules",
                            path.string(),
                            policy->tool,
                            policy->rules.size()));
    }
  }
}

// The secrets store (ipfsacc secrets): its file and key file must be
// readable by you alone.
void check_secrets(Report& report) {
  auto location = secrets::Location::from_environment();
  for (const auto& path : { location.file(), location.key_file() }) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      continue;
    }
    if (st.st_uid != ::getuid()) {
      report.fail("secrets",
                  fmt::format("{} belongs to uid {}, not to you",
                              path.string(),
                              st.st_uid),
                  "chown $(id -u) " + path.string());
    } else if ((st.st_mode & 077) != 0) {
      report.fail("secrets",
                  fmt::format("{} has mode {}: others can read it",
                              path.string(),
                              mode_text(st.st_mode)),
                  "chmod 600 " + path.string());
    } else {
      report.ok(
        "secrets",
        fmt::format("{} (mode {})", path.string(), mode_text(st.st_mode)));
    }
  }
}

} // namespace

// Each remote: reachable (with the round trip's latency), and writable
// unless it is read-only. Credentials never appear: remotes are named by
// their label.
void check_remotes(Report& report, const Config& config) {
  auto setting = config.get("remote");
  if (setting.empty()) {
    return;
  }
  auto remotes =
    remote::open_remotes(setting, config.get("remote_trusted_keys"));
  if (!remotes) {
    report.fail("remote", remotes.error(), "ipfsacc config set remote URL");
    return;
  }
  if (config.encrypt_cache()) {
    report.warn("remote",
                "not used: encrypt_cache keeps outputs off remotes",
                "turn encrypt_cache off to share outputs");
  }
  for (auto& r : (*remotes)->remotes()) {
    auto name = "remote " + r.label;
    auto* tier = (*remotes)->tier(r);
    auto started = std::chrono::steady_clock::now();
    auto pinged = tier
                    ? tier->ping()
                    : remote::Result<void>(std::unexpected(remote::Failure{}));
    if (!pinged) {
      auto warnings = (*remotes)->take_warnings();
      report.fail(name,
                  pinged.error().message.empty() && !warnings.empty()
                    ? warnings.front()
                    : "not reachable: " + pinged.error().message,
                  "start it, or check the URL and its password");
      continue;
    }
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
    auto reached =
      fmt::format("reachable, {:.2f} ms (connect and a round trip)",
                  latency.count() / 1000.0);
    if (r.spec.access == remote::Access::read_only) {
      report.ok(name, reached + ", read-only");
      continue;
    }
    if (auto wrote = tier->probe_write(); !wrote) {
      report.fail(name,
                  reached + ", but not writable: " + wrote.error().message,
                  "add |read-only, or grant this user writes");
      continue;
    }
    report.ok(name, reached + ", writable");
  }
}

Command setup_doctor(CLI::App& app) {
  auto o = std::make_shared<DoctorOptions>();
  auto* cmd = app.add_subcommand(
    "doctor", "check the cache, the configuration and the wrapped tools");
  cmd->add_flag(
    "--deep", o->deep, "also verify every stored output against its CID");
  cmd->footer("Each line is OK, WARN or FAIL, with a fix for what is wrong. "
              "Exit status 0\nwhen nothing FAILs, 1 otherwise.");
  Command command{ cmd, [o](const Config& config) {
                    Report report;
                    check_config(report);
                    auto store = check_cache_dir(report, config.cache_dir());
                    if (store) {
                      check_contents(report, *store, o->deep);
                    }
                    check_leftovers(report, config.cache_dir());
                    check_space(report, config);
                    check_rules(report);
                    check_tools(report);
                    check_secrets(report);
                    check_remotes(report, config);
                    return report.failures() == 0 ? kExitOk : kExitError;
                  } };
  command.strictness = Strictness::warn;
  return command;
}

} // namespace ipfsacc::app
