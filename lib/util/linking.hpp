#pragma once

#include <string>
#include <string_view>

namespace ipfsacc::util {

// Returns true when this program was linked statically: the kernel started
// it with no program interpreter (the auxiliary vector's AT_BASE is 0).
bool statically_linked();

// Returns why a statically linked program does not load `library` (a
// shared library that starts threads), or "" when the program is linked
// dynamically and may load it. glibc lets a static program dlopen a
// library, but runs it against a second copy of libc whose threads cannot
// start: libcurl resolving a host name, or libmicrohttpd serving, would
// crash the process. `needed_for` says what the library is for.
std::string static_load_refusal(std::string_view library,
                                std::string_view needed_for);

} // namespace ipfsacc::util
