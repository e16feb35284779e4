#pragma once

#include "util/duration.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

// An HTTP client for the calls ipfsacc makes itself (a wrapped tool that is
// missing or cannot run, a remote storage tier). libcurl is loaded on the
// first request, never on the hit path.
namespace ipfsacc::http {

struct Header {
  std::string name;
  std::string value;
};

// AWS Signature Version 4, computed by libcurl (CURLOPT_AWS_SIGV4) over the
// method, URL, the headers of the request and its body.
struct AwsSigV4 {
  std::string provider; // "aws:amz:REGION:SERVICE"
  std::string access_key_id;
  std::string secret_access_key; // handed to libcurl only, never shown
};

struct Request {
  std::string method = "GET";
  std::string url;
  // Secrets (tokens, API keys) go here, never in the URL.
  std::vector<Header> headers;
  std::string body;
  // When set, the request is signed with it (S3).
  std::optional<AwsSigV4> sigv4;
};

struct Response {
  long status = 0;
  // As received, in order (of the last response when redirects were
  // followed).
  std::vector<Header> headers;
  std::string body;

  // The first header of that name (case-insensitive); nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The standard reason phrase of an HTTP status ("Not Found"), as Go's
// http.StatusText and Python's requests give it; "" for a status without
// one here.
std::string_view reason_phrase(long status);

struct Options {
  util::Millis connect_timeout{ 10'000 };
  util::Millis timeout{ 120'000 };
  // Attempts in all for 429, 502, 503 and 504 (Retry-After honoured, else
  // exponential backoff), each wait at most max_retry_wait.
  int max_attempts = 4;
  util::Millis max_retry_wait{ 60'000 };
  // The largest body accepted, counted as it is decoded (so a compressed
  // answer cannot expand past it either); a larger one is an Error with
  // too_large set, and no more of it is read.
  uint64_t max_body = std::numeric_limits<uint64_t>::max();
};

// The request could not be made or no response came (name resolution,
// connection, TLS, timeout); message is for the user and holds no secret.
struct Error {
  std::string message;
  bool timeout = false;
  bool too_large = false; // the body was over Options::max_body
};

using Result = std::expected<Response, Error>;

// Connections kept open between the requests made through it (HTTP
// keep-alive, and TLS sessions resumed): a remote that makes several
// requests in one process connects once. A Session is used by one thread
// at a time; a process forked while it holds connections leaves them to its
// parent (a connection two processes write to would mix their requests)
// and makes its own. Its connections close when it goes.
class Session {
public:
  Session() = default;
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

private:
  // http.cpp's perform() takes the handle and gives it back.
  friend struct SessionHandle;
  void* curl_ = nullptr; // libcurl's handle (a CURL*), with its connections
  pid_t owner_ = 0;      // the process that made it
};

// Performs the request (with the retries of options), on a connection of
// session when one is given and open to that server, else on a new one
// that session then keeps. HTTPS_PROXY, HTTP_PROXY and NO_PROXY are
// honoured; TLS is always verified.
Result perform(const Request& request,
               const Options& options,
               Session* session = nullptr);

// What a streamed transfer hands its caller, in order: the final response's
// status and headers once, then its body piece by piece as it arrives.
// Either function returning false stops the transfer.
struct StreamSink {
  std::function<bool(long status, const std::vector<Header>& headers)> head;
  std::function<bool(std::string_view piece)> body;
};

struct StreamOptions {
  util::Millis connect_timeout{ 10'000 };
  // The whole transfer, however long the answer streams for.
  util::Millis timeout{ 600'000 };
};

// Why a streamed transfer ended before its end.
struct StreamError {
  std::string message;  // for the user; holds no secret
  bool stopped = false; // the sink returned false
  bool started = false; // head was called before it ended
};

// Performs request once (no retries: the caller forwards what the server
// said, 429s included) and streams the answer to sink: the bytes exactly as
// sent, with no decoding (the caller asks for the encoding it wants in
// request.headers; a header with an empty value is not sent, and removes
// the one libcurl would add). Redirects are followed. Returns the final
// status.
std::expected<long, StreamError> stream(const Request& request,
                                        const StreamOptions& options,
                                        const StreamSink& sink);

// What performs requests: perform() in ipfsacc, a recording function in unit
// tests of the tool mappings.
using Transport = std::function<Result(const Request&)>;

} // namespace ipfsacc::http
