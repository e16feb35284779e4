#include "util/trusted_dir.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace ipfsacc::util {

namespace {

std::string user_name(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw ? std::string(pw->pw_name) : fmt::format("{}", uid);
}

std::string group_name(gid_t gid) {
  struct group* gr = ::getgrgid(gid);
  return gr ? std::string(gr->gr_name) : fmt::format("{}", gid);
}

// Whether this process is in group gid (effective or supplementary).
bool in_group(gid_t gid) {
  if (::getegid() == gid) {
    return true;
  }
  int n = ::getgroups(0, nullptr);
  if (n <= 0) {
    return false;
  }
  std::vector<gid_t> groups(static_cast<size_t>(n));
  n = ::getgroups(n, groups.data());
  return n > 0 && std::find(groups.begin(), groups.begin() + n, gid) !=
                    groups.begin() + n;
}

// Whether user uid is a member of group gid (its primary group or listed).
bool member_of(uid_t uid, gid_t gid) {
  struct passwd* pw = ::getpwuid(uid);
  if (!pw) {
    return false;
  }
  if (pw->pw_gid == gid) {
    return true;
  }
  std::string name = pw->pw_name;
  struct group* gr = ::getgrgid(gid);
  if (!gr) {
    return false;
  }
  for (char** m = gr->gr_mem; m && *m; ++m) {
    if (name == *m) {
      return true;
    }
  }
  return false;
}

std::string mode_text(mode_t mode) {
  return fmt::format("{:04o}", mode & 07777);
}

bool owner_trusted(uid_t owner) {
  return owner == ::geteuid() || owner == 0;
}

} // namespace

std::expected<Shared, std::string> check_trusted_dir(const fs::path& dir,
                                                     Sharing sharing) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return Shared::no;
  }
  if (st.st_mode & S_IWOTH) {
    return std::unexpected(fmt::format("is writable by every user (mode {})",
                                       mode_text(st.st_mode)));
  }
  bool group_writable = (st.st_mode & S_IWGRP) != 0;
  if (group_writable) {
    if (sharing != Sharing::group) {
      return std::unexpected(fmt::format("is writable by group {} (mode {})",
                                         group_name(st.st_gid),
                                         mode_text(st.st_mode)));
    }
    if (!(st.st_mode & S_ISGID)) {
      return std::unexpected(fmt::format(
        "is writable by group {} (mode {}) without the setgid bit of a "
        "directory shared by a group (chmod g+s)",
        group_name(st.st_gid),
        mode_text(st.st_mode)));
    }
    if (!in_group(st.st_gid)) {
      return std::unexpected(
        fmt::format("is writable by group {}, which this user is not in",
                    group_name(st.st_gid)));
    }
    if (!owner_trusted(st.st_uid) && !member_of(st.st_uid, st.st_gid)) {
      return std::unexpected(
        fmt::format("is owned by user {}, who is not in its group {}",
                    user_name(st.st_uid),
                    group_name(st.st_gid)));
    }
    return Shared::with_group;
  }
  if (!owner_trusted(st.st_uid)) {
    return std::unexpected(
      fmt::format("is owned by user {}", user_name(st.st_uid)));
  }
  return Shared::no;
}

std::expected<void, std::string> check_trusted_file(const fs::path& file,
                                                    Shared shared) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    return {};
  }
  if (st.st_mode & S_IWOTH) {
    return std::unexpected(fmt::format("{} is writable by every user (mode {})",
                                       file.filename().string(),
                                       mode_text(st.st_mode)));
  }
  bool group = shared == Shared::with_group;
  if ((st.st_mode & S_IWGRP) && !group) {
    return std::unexpected(fmt::format("{} is writable by group {} (mode {})",
                                       file.filename().string(),
                                       group_name(st.st_gid),
                                       mode_text(st.st_mode)));
  }
  struct stat dir;
  bool member = group && ::stat(file.parent_path().c_str(), &dir) == 0 &&
                member_of(st.st_uid, dir.st_gid);
  if ((st.st_mode & S_IWGRP) && member && st.st_gid != dir.st_gid) {
    return std::unexpected(
      fmt::format("{} is writable by group {}, not the cache's group",
                  file.filename().string(),
                  group_name(st.st_gid)));
  }
  if (!owner_trusted(st.st_uid) && !member) {
    return std::unexpected(fmt::format("{} is owned by user {}",
                                       file.filename().string(),
                                       user_name(st.st_uid)));
  }
  return {};
}

void share_with_group(const fs::path& path, Shared shared, mode_t mode) {
  struct stat st;
  if (shared == Shared::with_group && ::stat(path.c_str(), &st) == 0 &&
      st.st_uid == ::geteuid() && (st.st_mode & 07777) != mode) {
    ::chmod(path.c_str(), mode);
  }
}

bool group_shared_dir(const fs::path& dir) {
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && (st.st_mode & S_ISGID) &&
         (st.st_mode & S_IWGRP) && !(st.st_mode & S_IWOTH);
}

} // namespace ipfsacc::util
