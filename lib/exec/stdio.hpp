#pragma once

#include <string>

namespace ipfsacc::exec {

// Which of the standard descriptors (stdin, stdout, stderr) the caller had
// closed (`>&-`, `<&-`, `2>&-`) when ipfsacc started.
struct ClosedStdio {
  bool in = false;
  bool out = false;
  bool err = false;

  bool any() const { return in || out || err; }
  // "stdout", "stdin and stderr", …; "" when none is closed.
  std::string names() const;
};

// Call first thing in main, before anything opens a file. Puts /dev/null,
// close-on-exec, on each standard descriptor that is closed: nothing ipfsacc
// opens later can then take its number (a cache file becoming "stdout"),
// while a tool it runs still finds the descriptor closed. Returns which
// were closed.
ClosedStdio hold_closed_stdio();

// What hold_closed_stdio found (none closed when it was not called).
const ClosedStdio& closed_stdio();

} // namespace ipfsacc::exec
