#include "core/context.hpp"

#include "core/cid.hpp"
#include "exec/runner.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc {

namespace fs = std::filesystem;

std::string current_dir() {
  char buffer[4096];
  if (::getcwd(buffer, sizeof(buffer))) {
    return buffer;
  }
  return {};
}

std::optional<fs::path> find_repo_root(const fs::path& start) {
  fs::path dir = start;
  while (true) {
    struct stat st;
    if (::lstat((dir / ".git").c_str(), &st) == 0) {
      return dir;
    }
    if (!dir.has_parent_path() || dir.parent_path() == dir) {
      return std::nullopt;
    }
    dir = dir.parent_path();
  }
}

std::optional<fs::path> find_git_dir(const fs::path& start) {
  auto root = find_repo_root(start);
  if (!root) {
    return std::nullopt;
  }
  fs::path dir = *root;
  {
    auto candidate = dir / ".git";
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return candidate;
      }
      // A worktree or submodule: ".git" is a file "gitdir: PATH".
      if (auto text = util::read_file(candidate)) {
        std::string_view t = *text;
        if (t.starts_with("gitdir:")) {
          t.remove_prefix(7);
          while (!t.empty() && (t.front() == ' ')) {
            t.remove_prefix(1);
          }
          while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) {
            t.remove_suffix(1);
          }
          fs::path p(t);
          return p.is_absolute() ? p : dir / p;
        }
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> git_remotes(const fs::path& git_dir) {
  std::vector<std::string> remotes;
  // A worktree's config lives in the common directory.
  fs::path config = git_dir / "config";
  if (auto common = util::read_file(git_dir / "commondir")) {
    auto c = *common;
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r')) {
      c.pop_back();
    }
    fs::path p(c);
    config = (p.is_absolute() ? p : git_dir / p) / "config";
  }
  auto text = util::read_file(config);
  if (!text) {
    return remotes;
  }
  std::string section;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line[0]))) {
      line.remove_prefix(1);
    }
    if (line.starts_with("[")) {
      section = std::string(line);
      continue;
    }
    if (!section.starts_with("[remote \"")) {
      continue;
    }
    // `gh repo set-default` records its choice as gh-resolved.
    bool url = line.starts_with("url");
    if (!url && !line.starts_with("gh-resolved")) {
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    std::string_view value = line.substr(eq + 1);
    while (!value.empty() &&
           std::isspace(static_cast<unsigned char>(value[0]))) {
      value.remove_prefix(1);
    }
    while (!value.empty() &&
           std::isspace(static_cast<unsigned char>(value.back()))) {
      value.remove_suffix(1);
    }
    auto name_start = section.find('"') + 1;
    auto name = section.substr(name_start, section.rfind('"') - name_start);
    remotes.push_back(url ? fmt::format("{}={}", name, value)
                          : fmt::format("{}.gh-resolved={}", name, value));
  }
  std::sort(remotes.begin(), remotes.end());
  return remotes;
}

std::string repo_slug(std::string_view url) {
  if (url.find(".gh-resolved=") != std::string_view::npos) {
    return {};
  }
  if (auto eq = url.find('='); eq != std::string_view::npos &&
                               url.find("://") > eq && url.find('@') > eq) {
    url = url.substr(eq + 1); // "name=url" as git_remotes returns it
  }
  std::string_view path;
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto slash = url.find('/', scheme + 3);
    path = slash == std::string_view::npos ? "" : url.substr(slash + 1);
  } else if (auto colon = url.find(':'); colon != std::string_view::npos) {
    path = url.substr(colon + 1); // git@host:owner/name.git
  } else {
    return {};
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  if (path.ends_with(".git")) {
    path.remove_suffix(4);
  }
  auto last = path.rfind('/');
  if (last == std::string_view::npos || last == 0) {
    return {};
  }
  auto owner_start = path.rfind('/', last - 1);
  owner_start = owner_start == std::string_view::npos ? 0 : owner_start + 1;
  return util::lower(path.substr(owner_start));
}

std::string git_state(const fs::path& dir) {
  auto root = find_repo_root(dir);
  if (!root) {
    return {};
  }
  std::string git = util::find_executable("git", std::getenv("PATH") ?: "");
  if (git.empty()) {
    return {};
  }
  exec::RunOptions options;
  options.path = git;
  options.argv = { "git",
                   "-C",
                   dir.string(),
                   "--no-optional-locks",
                   "status",
                   "--porcelain=v2",
                   "-z",
                   "--branch",
                   "--untracked-files=all" };
  options.forward = false;
  auto result = exec::run(options);
  if (!result.exited_ok()) {
    return {};
  }
  const std::string& status = result.recording.out.memory;
  Sha256 hash;
  hash.update(status.data(), status.size());
  // Content changes that keep the status line the same still change the
  // size or the modification time of the path.
  std::string_view rest = status;
  while (!rest.empty()) {
    size_t end = rest.find('\0');
    std::string_view record = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    if (record.starts_with("#")) {
      continue;
    }
    auto space = record.rfind(' ');
    std::string_view path =
      record.starts_with("?") ? record.substr(2) : record.substr(space + 1);
    struct stat st;
    auto full = *root / std::string(path);
    if (::lstat(full.c_str(), &st) == 0) {
      auto line = fmt::format(
        "{}:{}:{}.{}", path, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
      hash.update(line.data(), line.size());
    }
    if (record.starts_with("2")) {
      // A rename record is followed by the original path.
      size_t next = rest.find('\0');
      rest = next == std::string_view::npos ? "" : rest.substr(next + 1);
    }
  }
  auto digest = hash.finish();
  return to_hex(digest);
}

} // namespace ipfsacc
