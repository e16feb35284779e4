#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ipfsacc {

// The working directory, physical (symlinks resolved), or "" if unknown.
std::string current_dir();

// The directory holding the `.git` of the repository around dir.
std::optional<std::filesystem::path> find_repo_root(
  const std::filesystem::path& dir);

// The .git directory of the repository around dir (following a `.git` file
// of a worktree), or nullopt outside a repository.
std::optional<std::filesystem::path> find_git_dir(
  const std::filesystem::path& dir);

// "name=url" for every remote in the repository's config, sorted.
std::vector<std::string> git_remotes(const std::filesystem::path& git_dir);

// "owner/name" of a GitHub-style remote URL (https, ssh, scp-like), or "".
std::string repo_slug(std::string_view url);

// A digest of the repository's state as an agent reading it sees it: HEAD
// and, for every changed or untracked path (`git status`), its status, size
// and modification time. "" outside a repository or without git.
std::string git_state(const std::filesystem::path& dir);

} // namespace ipfsacc
