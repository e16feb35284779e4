// ipfsacc --version: the version, the git revision it was built from, and
// what is compiled in (for bug reports, and to check a CI image's copy).

#include "commands.hpp"
#include "util/linking.hpp"
#include "util/sha256_hw.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <lmdb.h>
#include <sodium.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// Set by CMakeLists.txt on this file only, so a new revision recompiles
// nothing else.
#ifndef IPFSACC_GIT_REVISION
#define IPFSACC_GIT_REVISION "unknown"
#endif
#ifndef IPFSACC_LINKAGE
#define IPFSACC_LINKAGE "unknown"
#endif

namespace ipfsacc::app {

std::string version_text() {
  int major = 0;
  int minor = 0;
  int patch = 0;
  mdb_version(&major, &minor, &patch);
  char pcre2[48] = "?";
  pcre2_config(PCRE2_CONFIG_VERSION, pcre2);
  auto text =
    fmt::format("ipfsacc {} (git {})\n"
                "libraries: LMDB {}.{}.{}, libsodium {}, PCRE2 {}, hiredis "
                "{}.{}.{} (redis://; no TLS, so no rediss://)\n"
                "linking: {}\n"
                "SHA-256: {}",
                IPFSACC_VERSION,
                IPFSACC_GIT_REVISION,
                major,
                minor,
                patch,
                sodium_version_string(),
                pcre2,
                HIREDIS_MAJOR,
                HIREDIS_MINOR,
                HIREDIS_PATCH,
                IPFSACC_LINKAGE,
                util::sha256_hw_available()
                  ? "SHA-NI instructions (this CPU has the SHA extensions)"
                  : "libsodium (this CPU has no SHA extensions)");
  // The twin of a static front says which front it serves.
  if (const auto& front = util::handing_front(); !front.empty()) {
    text += fmt::format("\nfront: {} (fully static: it answers cache hits, "
                        "and hands everything else to this program)",
                        front);
  }
  return text;
}

} // namespace ipfsacc::app
