#include "exec/stdio.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace ipfsacc::exec {

namespace {

ClosedStdio g_closed_stdio;

bool descriptor_closed(int fd) {
  return ::fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

} // namespace

std::string ClosedStdio::names() const {
  std::vector<const char*> closed;
  for (auto [is, name] : { std::pair{ in, "stdin" },
                           std::pair{ out, "stdout" },
                           std::pair{ err, "stderr" } }) {
    if (is) {
      closed.push_back(name);
    }
  }
  std::string out_text;
  for (size_t i = 0; i < closed.size(); ++i) {
    if (i > 0) {
      out_text += i + 1 == closed.size() ? " and " : ", ";
    }
    out_text += closed[i];
  }
  return out_text;
}

ClosedStdio hold_closed_stdio() {
  for (auto [fd, closed] :
       { std::pair{ STDIN_FILENO, &g_closed_stdio.in },
         std::pair{ STDOUT_FILENO, &g_closed_stdio.out },
         std::pair{ STDERR_FILENO, &g_closed_stdio.err } }) {
    *closed = descriptor_closed(fd);
    if (!*closed) {
      continue;
    }
    // The lower ones are open by now, so the lowest free number is fd.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0 && null != fd) {
      ::dup3(null, fd, O_CLOEXEC);
      ::close(null);
    }
  }
  return g_closed_stdio;
}

const ClosedStdio& closed_stdio() {
  return g_closed_stdio;
}

} // namespace ipfsacc::exec
