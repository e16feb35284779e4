#include "serve/mhd.hpp"

#include "util/linking.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <mutex>
#include <type_traits>

namespace ipfsacc::serve {

namespace {
constexpr const char* kLibrary = "libmicrohttpd.so.12";
}

std::expected<const Mhd*, std::string> load_mhd() {
  static std::once_flag once;
  static Mhd mhd;
  static std::string failure;
  std::call_once(once, [] {
    failure = util::static_load_refusal(kLibrary, "ipfsacc serve");
    if (!failure.empty()) {
      return;
    }
    void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      failure = fmt::format("cannot load {} ({}); install libmicrohttpd12 to "
                            "run ipfsacc serve",
                            kLibrary,
                            why ? why : "not found");
      return;
    }
    bool ok = true;
    auto resolve = [&](auto& fn, const char* name) {
      void* symbol = ::dlsym(lib, name);
      if (!symbol) {
        ok = false;
        failure = fmt::format("{} has no {}", kLibrary, name);
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
    };
    resolve(mhd.start_daemon, "MHD_start_daemon");
    resolve(mhd.stop_daemon, "MHD_stop_daemon");
    resolve(mhd.quiesce_daemon, "MHD_quiesce_daemon");
    resolve(mhd.get_daemon_info, "MHD_get_daemon_info");
    resolve(mhd.get_connection_values, "MHD_get_connection_values");
    resolve(mhd.create_response_from_buffer, "MHD_create_response_from_buffer");
    resolve(mhd.create_response_from_callback,
            "MHD_create_response_from_callback");
    resolve(mhd.add_response_header, "MHD_add_response_header");
    resolve(mhd.queue_response, "MHD_queue_response");
    resolve(mhd.destroy_response, "MHD_destroy_response");
    if (!ok) {
      mhd.start_daemon = nullptr;
    }
  });
  if (!mhd.start_daemon) {
    return std::unexpected(failure);
  }
  return &mhd;
}

} // namespace ipfsacc::serve
