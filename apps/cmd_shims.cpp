// ipfsacc shims install|list|remove [DIR]: masquerade like ccache. A shim is
// a symlink named after a tool (gh → ipfsacc) in a directory put first on
// PATH; ipfsacc invoked under a tool's name runs as `ipfsacc TOOL ARGS…` and
// finds the real tool further along PATH (main.cpp, call.cpp).

#include "commands.hpp"
#include "core/call.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

namespace fs = std::filesystem;

struct ShimsOptions {
  std::string dir;
  bool all = false;
};

fs::path default_shim_dir() {
  if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data) {
    return fs::path(data) / "ipfsacc" / "shims";
  }
  return util::home_dir() / ".local" / "share" / "ipfsacc" / "shims";
}

fs::path shim_dir(const ShimsOptions& options) {
  if (options.dir.empty()) {
    return default_shim_dir();
  }
  std::error_code ec;
  auto dir = fs::absolute(options.dir, ec);
  return ec ? fs::path(options.dir) : dir.lexically_normal();
}

bool same_file(const fs::path& a, const fs::path& b) {
  struct stat sa;
  struct stat sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// A shim is a symlink to this ipfsacc, or to any file called ipfsacc (made
// by another copy, or left dangling by an uninstall).
bool is_shim(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    return false;
  }
  std::error_code ec;
  auto target = fs::read_symlink(path, ec);
  return !ec &&
         (target.filename() == "ipfsacc" || same_file(path, util::self_exe()));
}

// Whether PATH lists dir (by identity: a symlinked spelling counts).
bool on_path(const fs::path& dir) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (true) {
    auto colon = rest.find(':');
    auto entry = rest.substr(0, colon);
    if (!entry.empty() && same_file(fs::path(entry), dir)) {
      return true;
    }
    if (colon == std::string_view::npos) {
      return false;
    }
    rest.remove_prefix(colon + 1);
  }
}

// The shims in dir, sorted by name.
std::vector<std::string> shims_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (is_shim(entry.path())) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Tells how to put dir on PATH, or which shims PATH does not reach first.
void path_advice(const fs::path& dir, const std::vector<std::string>& names) {
  if (!on_path(dir)) {
    fmt::print("{} is not on PATH. Put it first, in ~/.bashrc or ~/.zshrc:\n"
               "  export PATH=\"{}:$PATH\"\n"
               "or in ~/.config/fish/config.fish:\n"
               "  fish_add_path --move {}\n",
               dir.string(),
               dir.string(),
               dir.string());
    return;
  }
  const char* path = std::getenv("PATH");
  for (const auto& name : names) {
    auto first = util::find_executable(name, path ? path : "");
    if (!first.empty() && !same_file(first, dir / name)) {
      fmt::print("{} comes first on PATH, before the shim: put {} earlier "
                 "on PATH\n",
                 first,
                 dir.string());
    }
  }
}

int install(const ShimsOptions& options, const Config& config) {
  auto dir = shim_dir(options);
  auto self = util::self_exe();
  if (self.empty()) {
    fmt::print(stderr, "ipfsacc: error: cannot tell where ipfsacc is\n");
    return 1;
  }
  if (auto made = util::make_dirs(dir, 0755); !made) {
    fmt::print(stderr, "ipfsacc: error: {}\n", made.error());
    return 1;
  }
  int status = 0;
  std::vector<std::string> installed;
  std::vector<std::string> missing;
  for (const auto& tool : tool_binaries(config)) {
    if (!tool.safe_name || tool.excluded) {
      continue;
    }
    if (tool.path.empty() && !options.all) {
      missing.push_back(tool.name);
      continue;
    }
    auto link = dir / tool.name;
    struct stat st;
    if (::lstat(link.c_str(), &st) == 0 && !is_shim(link)) {
      fmt::print(stderr,
                 "ipfsacc: error: {} exists and is not an ipfsacc shim; "
                 "left alone\n",
                 link.string());
      status = 1;
      continue;
    }
    // A new link renamed over the old one: the name never goes missing.
    auto tmp = dir / fmt::format(".{}.{}.tmp", tool.name, ::getpid());
    ::unlink(tmp.c_str());
    if (::symlink(self.c_str(), tmp.c_str()) != 0 ||
        ::rename(tmp.c_str(), link.c_str()) != 0) {
      fmt::print(stderr,
                 "ipfsacc: error: cannot create {}: {}\n",
                 link.string(),
                 std::strerror(errno));
      ::unlink(tmp.c_str());
      status = 1;
      continue;
    }
    installed.push_back(tool.name);
  }
  if (installed.empty()) {
    fmt::print("No shims installed in {}.\n", dir.string());
  } else {
    fmt::print("Shims in {}: {}\n", dir.string(), fmt::join(installed, " "));
  }
  if (!missing.empty()) {
    fmt::print("Not installed, so no shim (--all makes them anyway): {}\n",
               fmt::join(missing, " "));
  }
  if (!installed.empty()) {
    path_advice(dir, installed);
  }
  return status;
}

int list(const ShimsOptions& options, const Config& config) {
  auto dir = shim_dir(options);
  auto names = shims_in(dir);
  if (names.empty()) {
    fmt::print("No shims in {}.\n", dir.string());
    return 0;
  }
  size_t width = 0;
  for (const auto& name : names) {
    width = std::max(width, name.size());
  }
  for (const auto& name : names) {
    auto real = find_tool(name);
    fmt::print("{:<{}}  {}{}\n",
               name,
               width,
               real.empty() ? "not installed (the shim exits 127)" : real,
               config.excludes(name) ? " (excluded: runs uncached)" : "");
  }
  path_advice(dir, names);
  return 0;
}

int remove(const ShimsOptions& options) {
  auto dir = shim_dir(options);
  int status = 0;
  size_t removed = 0;
  for (const auto& name : shims_in(dir)) {
    if (::unlink((dir / name).c_str()) != 0) {
      fmt::print(stderr,
                 "ipfsacc: error: cannot remove {}: {}\n",
                 (dir / name).string(),
                 std::strerror(errno));
      status = 1;
      continue;
    }
    ++removed;
  }
  // Only an empty directory goes; anything else in it is not ours.
  bool gone = ::rmdir(dir.c_str()) == 0;
  fmt::print("Removed {} shim{} from {}{}.\n",
             removed,
             removed == 1 ? "" : "s",
             dir.string(),
             gone ? " (and the directory)" : "");
  return status;
}

} // namespace

Command setup_shims(CLI::App& app) {
  auto options = std::make_shared<ShimsOptions>();
  auto* cmd = app.add_subcommand(
    "shims",
    "masquerade like ccache: symlinks such as gh -> ipfsacc, first on PATH");
  cmd->require_subcommand(1);
  auto dir_help = "the shim directory (default "
                  "$XDG_DATA_HOME/ipfsacc/shims or "
                  "~/.local/share/ipfsacc/shims)";
  auto* install_cmd = cmd->add_subcommand(
    "install", "link the installed wrapped tools' names to ipfsacc in DIR");
  install_cmd->add_option("dir", options->dir, dir_help);
  install_cmd->add_flag(
    "--all", options->all, "also tools that are not installed");
  auto* list_cmd = cmd->add_subcommand(
    "list", "show the shims in DIR and the real tool each one runs");
  list_cmd->add_option("dir", options->dir, dir_help);
  auto* remove_cmd =
    cmd->add_subcommand("remove", "remove the shims in DIR (nothing else)");
  remove_cmd->add_option("dir", options->dir, dir_help);
  return { cmd, [options, install_cmd, list_cmd](const Config& config) {
            if (install_cmd->parsed()) {
              return install(*options, config);
            }
            if (list_cmd->parsed()) {
              return list(*options, config);
            }
            return remove(*options);
          } };
}

} // namespace ipfsacc::app
