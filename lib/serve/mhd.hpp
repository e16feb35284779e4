#pragma once

// libmicrohttpd, loaded when the server starts: the HTTP server library
// (C, kept in Debian, one thread per connection, so a response may block
// while its body arrives). Not linked: every other call of ipfsacc would
// pay for loading it and GnuTLS behind it.

#include <expected>
#include <microhttpd.h>
#include <string>

namespace ipfsacc::serve {

struct Mhd {
  MHD_Daemon* (*start_daemon)(unsigned int flags,
                              uint16_t port,
                              MHD_AcceptPolicyCallback apc,
                              void* apc_cls,
                              MHD_AccessHandlerCallback dh,
                              void* dh_cls,
                              ...);
  void (*stop_daemon)(MHD_Daemon* daemon);
  MHD_socket (*quiesce_daemon)(MHD_Daemon* daemon);
  const MHD_DaemonInfo* (*get_daemon_info)(MHD_Daemon* daemon,
                                           MHD_DaemonInfoType info_type,
                                           ...);
  int (*get_connection_values)(MHD_Connection* connection,
                               MHD_ValueKind kind,
                               MHD_KeyValueIterator iterator,
                               void* iterator_cls);
  MHD_Response* (*create_response_from_buffer)(size_t size,
                                               void* buffer,
                                               MHD_ResponseMemoryMode mode);
  MHD_Response* (*create_response_from_callback)(
    uint64_t size,
    size_t block_size,
    MHD_ContentReaderCallback crc,
    void* crc_cls,
    MHD_ContentReaderFreeCallback crfc);
  MHD_Result (*add_response_header)(MHD_Response* response,
                                    const char* header,
                                    const char* content);
  MHD_Result (*queue_response)(MHD_Connection* connection,
                               unsigned int status_code,
                               MHD_Response* response);
  void (*destroy_response)(MHD_Response* response);
};

// Loads libmicrohttpd on first use; the message says what is missing.
std::expected<const Mhd*, std::string> load_mhd();

} // namespace ipfsacc::serve
