#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace ipfsacc::util {

namespace fs = std::filesystem;

// Whether a directory may be shared by the members of its group.
enum class Sharing { owner_only, group };

// How a trusted directory is shared.
enum class Shared { no, with_group };

// Checks, as ssh's StrictModes does, that nobody but this user (and root)
// can change what dir holds: dir must be owned by this user or root, and
// writable by nobody else. With Sharing::group, a directory its owner
// made for a group (group-writable with the setgid bit, so that what is
// created in it keeps the group) is trusted too when this user is in that
// group and so is its owner (or the owner is root): its members may write,
// others may not. Returns how the directory is shared, or why it is not
// trusted ("is writable by every user (mode 0777)"). A directory that does
// not exist yet is trusted (it will be made by this user).
std::expected<Shared, std::string> check_trusted_dir(const fs::path& dir,
                                                     Sharing sharing);

// Checks a file in a trusted directory the same way: owned by this user,
// root or (with Shared::with_group) a member of the directory's group, and
// writable by nobody else (the group, when shared). A missing file is
// trusted.
std::expected<void, std::string> check_trusted_file(const fs::path& file,
                                                    Shared shared);

// Gives path (a file or directory this user made in a directory shared by a
// group) mode, so that the group's members can use it whatever this
// process's umask; does nothing when not shared or not this user's.
void share_with_group(const fs::path& path, Shared shared, mode_t mode);

// Whether dir is laid out as a directory shared by a group (group-writable,
// setgid, not writable by others). Says nothing of whether it is trusted:
// see check_trusted_dir.
bool group_shared_dir(const fs::path& dir);

} // namespace ipfsacc::util
