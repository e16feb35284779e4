#include "core/program.hpp"

#include "core/cid.hpp"
#include "core/context.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc {

namespace {

// path made absolute (from the working directory), without "." and empty
// components. ".." stays: dropping it with
// the component before would be wrong when that one is a symlink.
std::string absolute_path(std::string_view path) {
  std::string joined;
  if (!path.starts_with('/')) {
    joined = current_dir();
    joined += '/';
  }
  joined += path;
  std::string out;
  size_t pos = 0;
  while (pos < joined.size()) {
    size_t slash = joined.find('/', pos);
    if (slash == std::string::npos) {
      slash = joined.size();
    }
    std::string_view part(joined.data() + pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") {
      continue;
    }
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

std::string metadata(const struct stat& st) {
  return fmt::format("stat {} {} {}.{:09} {}.{:09}",
                     st.st_ino,
                     st.st_size,
                     st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec,
                     st.st_ctim.tv_sec,
                     st.st_ctim.tv_nsec);
}

// The contents of the file open on fd, which stat() said holds size bytes,
// or nullopt when a read fails or the file has grown since.
std::optional<std::string> small_contents(int fd, size_t size) {
  // One byte more than stat() said: a file that grew since is not hashed in
  // part (its metadata identifies it then).
  std::string data(size + 1, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::nullopt;
    }
    if (n == 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  if (got > size) {
    return std::nullopt;
  }
  data.resize(got);
  return data;
}

} // namespace

std::optional<ProgramIdentity> identify_program(std::string_view path) {
  std::string file(path);
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    return std::nullopt;
  }
  ProgramIdentity identity;
  identity.path = absolute_path(path);
  // A binary costs this one stat. A small file is read; one that cannot be
  // (a binary may be executable without being readable, mode 711) is
  // identified by its metadata.
  std::optional<std::string> contents;
  if (S_ISREG(st.st_mode) && st.st_size >= 0 &&
      static_cast<uint64_t>(st.st_size) <= kProgramHashLimit) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
      contents = small_contents(fd, static_cast<size_t>(st.st_size));
      ::close(fd);
    }
  }
  // The permission bits too: a script that lost its execute bit no longer
  // runs, and must not be answered as if it did.
  identity.what = contents ? fmt::format("sha256 {} mode {:04o}",
                                         cid_string(sha256(*contents)),
                                         st.st_mode & 07777)
                           : metadata(st);
  return identity;
}

} // namespace ipfsacc
