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

// Whether this machine's host name lookups (the "hosts" line of
// /etc/nsswitch.conf) use only the sources glibc builds into a static
// program, `files` and `dns`. Any other source is a module glibc loads with
// dlopen, which a static program can run only on the glibc it was linked
// with. Read once.
bool static_host_lookup_safe();

// Whether the "hosts" line of an nsswitch.conf names only `files` and
// `dns` (true when it has none: glibc then uses those two).
bool hosts_line_is_static(std::string_view nsswitch_conf);

// The front and its twin. The default build installs ipfsacc as a static
// front, which answers cache hits with no dynamic loader work, and
// ipfsacc-dynamic, which does what needs a shared library. The front hands a
// call over by exec'ing the twin with the same arguments and the environment
// plus IPFSACC_FRONT=<the front's path>.

// The twin of this static program: ipfsacc-dynamic beside it (a build
// directory) or in ../libexec/ipfsacc/ (an installation). "" when this
// program is linked dynamically or has no twin: a lone static binary.
const std::string& dynamic_twin();

// "IPFSACC_FRONT=<this program>", for the twin's environment.
std::string front_marker();

// In the twin, the front that handed over ("" otherwise): read from
// IPFSACC_FRONT by the first call, which removes it from the environment so
// no tool inherits it. main calls it before anything else.
const std::string& handing_front();

} // namespace ipfsacc::util
