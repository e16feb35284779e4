#include "http/http.hpp"

#include "util/fs.hpp"
#include "util/linking.hpp"
#include "util/text.hpp"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <curl/curl.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

namespace ipfsacc::http {

using util::trim;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The libcurl functions we use, resolved once from libcurl.so.4. libcurl is
// not linked: loading it (and OpenSSL behind it) costs milliseconds at every
// start, and a cache hit makes no request.
struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

constexpr const char* kLibrary = "libcurl.so.4";

// Loads libcurl on first use; the message says what is missing.
std::expected<const Curl*, std::string> load_curl() {
  static std::once_flag once;
  static Curl curl;
  static std::string failure;
  std::call_once(once, [] {
    failure = util::static_load_refusal(kLibrary, "making HTTP requests");
    if (!failure.empty()) {
      return;
    }
    void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      failure = fmt::format("cannot load {} ({}); install libcurl4 to let "
                            "ipfsacc make HTTP requests",
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
    resolve(curl.global_init, "curl_global_init");
    resolve(curl.easy_init, "curl_easy_init");
    resolve(curl.easy_setopt, "curl_easy_setopt");
    resolve(curl.easy_perform, "curl_easy_perform");
    resolve(curl.easy_getinfo, "curl_easy_getinfo");
    resolve(curl.easy_cleanup, "curl_easy_cleanup");
    resolve(curl.easy_reset, "curl_easy_reset");
    resolve(curl.easy_strerror, "curl_easy_strerror");
    resolve(curl.slist_append, "curl_slist_append");
    resolve(curl.slist_free_all, "curl_slist_free_all");
    if (ok && curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      ok = false;
      failure = fmt::format("{} could not be initialised", kLibrary);
    }
    if (!ok) {
      curl.easy_init = nullptr;
    }
  });
  if (!curl.easy_init) {
    return std::unexpected(failure);
  }
  return &curl;
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value && *value) {
    return std::string(value);
  }
  return std::nullopt;
}

// The proxy for url from the usual variables: https_proxy/HTTPS_PROXY for
// https, http_proxy/HTTP_PROXY for http, then all_proxy/ALL_PROXY. Set
// explicitly rather than left to libcurl, which ignores HTTP_PROXY in
// capitals.
std::optional<std::string> proxy_for(std::string_view url) {
  bool https = url.starts_with("https:");
  const char* names[] = {
    https ? "https_proxy" : "http_proxy",
    https ? "HTTPS_PROXY" : "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
  };
  for (const char* name : names) {
    if (auto value = env(name)) {
      return value;
    }
  }
  return std::nullopt;
}

// What a request's method and URL say in a message: no query string (it
// holds no secret by design, but may be long).
std::string describe(const Request& request) {
  std::string_view url = request.url;
  url = url.substr(0, url.find('?'));
  return fmt::format("{} {}", request.method, url);
}

struct Transfer {
  Response response;
  uint64_t max_body = 0;
  bool too_large = false;
};

// Keeps the body up to the transfer's limit; past it, returns 0, which makes
// libcurl stop the transfer (and its decoding) with a write error.
size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (n > transfer->max_body - transfer->response.body.size()) {
    transfer->too_large = true;
    return 0;
  }
  transfer->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response (after a redirect or a 100 Continue): only the last
    // one's headers are kept.
    transfer->response.headers.clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response.headers.push_back(
      Header{ std::string(trim(line.substr(0, colon))),
              std::string(trim(line.substr(colon + 1))) });
  }
  return size * count;
}

// Marks each socket close-on-exec as libcurl makes it: a tool started while
// a connection is open must not inherit it.
int close_socket_on_exec(void*, curl_socket_t fd, curlsocktype) {
  util::set_close_on_exec(fd);
  return CURL_SOCKOPT_OK;
}

} // namespace

// A Session's handle, taken for one request and given back after it.
struct SessionHandle {
  // The session's handle when this process made it, else a new one (none
  // when libcurl cannot make one). One a parent process made is left to it
  // untouched: cleaning it up here would close (for TLS, end) connections
  // the parent still uses.
  static CURL* take(const Curl& curl, Session& session) {
    if (session.curl_ && session.owner_ != ::getpid()) {
      session.curl_ = nullptr;
    }
    if (!session.curl_) {
      session.curl_ = curl.easy_init();
      session.owner_ = ::getpid();
    }
    return static_cast<CURL*>(session.curl_);
  }
  // Forgets the request's options (and the pointers into it they hold),
  // keeping the connections, the DNS and TLS session caches.
  static void give_back(const Curl& curl, CURL* handle) {
    curl.easy_reset(handle);
  }
  static void close(Session& session) {
    if (session.curl_ && session.owner_ == ::getpid()) {
      if (auto curl = load_curl()) {
        (*curl)->easy_cleanup(static_cast<CURL*>(session.curl_));
      }
    }
    session.curl_ = nullptr;
  }
};

Session::~Session() {
  SessionHandle::close(*this);
}

namespace {

// One attempt: the response whatever its status, or why there is none. On
// session's connections when one is given.
Result attempt(const Curl& curl,
               const Request& request,
               const Options& options,
               Session* session) {
  CURL* handle =
    session ? SessionHandle::take(curl, *session) : curl.easy_init();
  if (!handle) {
    return std::unexpected(Error{ "cannot create an HTTP request (libcurl)" });
  }
  Transfer transfer;
  transfer.max_body = options.max_body;
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) {
    std::string line = header.name;
    line += header.value.empty() ? ";" : ": ";
    line += header.value;
    headers = curl.slist_append(headers, line.c_str());
    std::fill(line.begin(), line.end(), '\0');
  }
  auto set = curl.easy_setopt;
  set(handle, CURLOPT_URL, request.url.c_str());
  set(handle, CURLOPT_ERRORBUFFER, error_buffer);
  set(handle, CURLOPT_NOSIGNAL, 1L);
  set(handle, CURLOPT_NOPROGRESS, 1L);
  set(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  set(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(handle, CURLOPT_FOLLOWLOCATION, 1L);
  set(handle, CURLOPT_MAXREDIRS, 10L);
  // TLS is always verified; there is no option to turn that off.
  set(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  set(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  set(handle, CURLOPT_CONNECTTIMEOUT_MS, long(options.connect_timeout.count()));
  set(handle, CURLOPT_TIMEOUT_MS, long(options.timeout.count()));
  set(handle, CURLOPT_ACCEPT_ENCODING, "");
  set(handle, CURLOPT_WRITEFUNCTION, on_body);
  set(handle, CURLOPT_WRITEDATA, &transfer);
  set(handle, CURLOPT_HEADERFUNCTION, on_header);
  set(handle, CURLOPT_HEADERDATA, &transfer);
  set(handle, CURLOPT_SOCKOPTFUNCTION, close_socket_on_exec);
  auto proxy = proxy_for(request.url);
  set(handle, CURLOPT_PROXY, proxy ? proxy->c_str() : "");
  auto no_proxy = env("no_proxy");
  if (!no_proxy) {
    no_proxy = env("NO_PROXY");
  }
  if (no_proxy) {
    set(handle, CURLOPT_NOPROXY, no_proxy->c_str());
  }
  if (request.method == "HEAD") {
    set(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    set(handle, CURLOPT_POST, 1L);
  } else if (request.method != "GET") {
    set(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST") {
    set(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.size()));
    set(handle, CURLOPT_POSTFIELDS, request.body.c_str());
  }
  if (headers) {
    set(handle, CURLOPT_HTTPHEADER, headers);
  }
  if (request.sigv4) {
    set(handle, CURLOPT_AWS_SIGV4, request.sigv4->provider.c_str());
    set(handle, CURLOPT_USERNAME, request.sigv4->access_key_id.c_str());
    set(handle, CURLOPT_PASSWORD, request.sigv4->secret_access_key.c_str());
  }
  CURLcode code = curl.easy_perform(handle);
  long status = 0;
  curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (session) {
    SessionHandle::give_back(curl, handle);
  } else {
    curl.easy_cleanup(handle);
  }
  curl.slist_free_all(headers);
  if (transfer.too_large) {
    return std::unexpected(
      Error{ fmt::format("{}: the answer is larger than {}; refused",
                         describe(request),
                         util::format_size(options.max_body)),
             false,
             true });
  }
  if (code != CURLE_OK) {
    // libcurl's own text names hosts, ports and TLS problems, never a
    // request header.
    std::string why = error_buffer[0] ? error_buffer : curl.easy_strerror(code);
    bool timeout = code == CURLE_OPERATION_TIMEDOUT;
    return std::unexpected(
      Error{ fmt::format("{}: {}", describe(request), why), timeout });
  }
  transfer.response.status = status;
  return std::move(transfer.response);
}

bool retryable(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Retry-After: delay-seconds or an HTTP date; nullopt when absent or
// unreadable.
std::optional<util::Millis> retry_after(const Response& response) {
  auto value = response.header("Retry-After");
  if (!value) {
    return std::nullopt;
  }
  std::string text(trim(*value));
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isdigit(c);
      })) {
    if (text.size() > 9) {
      return util::Millis::max();
    }
    return util::Millis(std::stoll(text) * 1000);
  }
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) {
    return std::nullopt;
  }
  time_t when = ::timegm(&tm);
  int64_t delta = int64_t(when) * 1000 - util::real_now_ms();
  return util::Millis(std::max<int64_t>(delta, 0));
}

} // namespace

std::optional<std::string_view> Response::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) {
      return h.value;
    }
  }
  return std::nullopt;
}

Result perform(const Request& request,
               const Options& options,
               Session* session) {
  auto curl = load_curl();
  if (!curl) {
    return std::unexpected(Error{ curl.error() });
  }
  std::minstd_rand jitter(std::random_device{}());
  util::Millis backoff{ 500 };
  for (int tries = 1;; ++tries) {
    auto result = attempt(**curl, request, options, session);
    if (!result || !retryable(result->status) ||
        tries >= options.max_attempts) {
      return result;
    }
    util::Millis wait;
    if (auto asked = retry_after(*result)) {
      // A server that asks for longer than we would wait gets its answer
      // back now rather than a request it refused in advance.
      if (*asked > options.max_retry_wait) {
        return result;
      }
      wait = *asked;
    } else {
      wait = std::min(backoff + util::Millis(jitter() % 250),
                      options.max_retry_wait);
      backoff *= 2;
    }
    std::this_thread::sleep_for(wait);
  }
}

namespace {

struct StreamTransfer {
  const Curl* curl = nullptr;
  CURL* handle = nullptr;
  const StreamSink* sink = nullptr;
  std::vector<Header> headers; // of the response being received
  bool head_sent = false;
  bool stopped = false;
};

bool send_head(StreamTransfer& t) {
  t.head_sent = true;
  long status = 0;
  t.curl->easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &status);
  if (!t.sink->head(status, t.headers)) {
    t.stopped = true;
    return false;
  }
  return true;
}

size_t on_stream_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<StreamTransfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->headers.clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->headers.push_back(Header{ std::string(trim(line.substr(0, colon))),
                                 std::string(trim(line.substr(colon + 1))) });
  }
  return size * count;
}

size_t on_stream_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<StreamTransfer*>(user);
  size_t n = size * count;
  if (!t->head_sent && !send_head(*t)) {
    return 0;
  }
  if (!t->sink->body(std::string_view(data, n))) {
    t->stopped = true;
    return 0;
  }
  return n;
}

} // namespace

std::expected<long, StreamError> stream(const Request& request,
                                        const StreamOptions& options,
                                        const StreamSink& sink) {
  auto curl = load_curl();
  if (!curl) {
    return std::unexpected(StreamError{ curl.error() });
  }
  CURL* handle = (*curl)->easy_init();
  if (!handle) {
    return std::unexpected(
      StreamError{ "cannot create an HTTP request (libcurl)" });
  }
  StreamTransfer transfer;
  transfer.curl = *curl;
  transfer.handle = handle;
  transfer.sink = &sink;
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) {
    // "Name:" with nothing after it removes a header libcurl would add.
    std::string line = header.name;
    line += header.value.empty() ? ":" : ": ";
    line += header.value;
    headers = (*curl)->slist_append(headers, line.c_str());
    std::fill(line.begin(), line.end(), '\0');
  }
  auto set = (*curl)->easy_setopt;
  set(handle, CURLOPT_URL, request.url.c_str());
  set(handle, CURLOPT_ERRORBUFFER, error_buffer);
  set(handle, CURLOPT_NOSIGNAL, 1L);
  set(handle, CURLOPT_NOPROGRESS, 1L);
  set(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  set(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(handle, CURLOPT_FOLLOWLOCATION, 1L);
  set(handle, CURLOPT_MAXREDIRS, 10L);
  set(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  set(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  set(handle, CURLOPT_CONNECTTIMEOUT_MS, long(options.connect_timeout.count()));
  set(handle, CURLOPT_TIMEOUT_MS, long(options.timeout.count()));
  set(handle, CURLOPT_WRITEFUNCTION, on_stream_body);
  set(handle, CURLOPT_WRITEDATA, &transfer);
  set(handle, CURLOPT_HEADERFUNCTION, on_stream_header);
  set(handle, CURLOPT_HEADERDATA, &transfer);
  set(handle, CURLOPT_SOCKOPTFUNCTION, close_socket_on_exec);
  auto proxy = proxy_for(request.url);
  set(handle, CURLOPT_PROXY, proxy ? proxy->c_str() : "");
  auto no_proxy = env("no_proxy");
  if (!no_proxy) {
    no_proxy = env("NO_PROXY");
  }
  if (no_proxy) {
    set(handle, CURLOPT_NOPROXY, no_proxy->c_str());
  }
  if (request.method == "HEAD") {
    set(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    set(handle, CURLOPT_POST, 1L);
  } else if (request.method != "GET") {
    set(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST") {
    set(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.size()));
    set(handle, CURLOPT_POSTFIELDS, request.body.c_str());
  }
  if (headers) {
    set(handle, CURLOPT_HTTPHEADER, headers);
  }
  if (request.sigv4) {
    set(handle, CURLOPT_AWS_SIGV4, request.sigv4->provider.c_str());
    set(handle, CURLOPT_USERNAME, request.sigv4->access_key_id.c_str());
    set(handle, CURLOPT_PASSWORD, request.sigv4->secret_access_key.c_str());
  }
  CURLcode code = (*curl)->easy_perform(handle);
  if (code == CURLE_OK && !transfer.head_sent) {
    send_head(transfer); // an answer with no body
  }
  long status = 0;
  (*curl)->easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  std::string why;
  if (code != CURLE_OK) {
    why = error_buffer[0] ? error_buffer : (*curl)->easy_strerror(code);
  }
  (*curl)->easy_cleanup(handle);
  (*curl)->slist_free_all(headers);
  if (transfer.stopped) {
    return std::unexpected(
      StreamError{ fmt::format("{}: stopped", describe(request)),
                   true,
                   transfer.head_sent });
  }
  if (code != CURLE_OK) {
    return std::unexpected(
      StreamError{ fmt::format("{}: {}", describe(request), why),
                   false,
                   transfer.head_sent });
  }
  return status;
}

std::string_view reason_phrase(long status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

} // namespace ipfsacc::http
