#include "serve/server.hpp"

#include "serve/mhd.hpp"
#include "util/text.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sodium.h>
#include <unistd.h>

namespace ipfsacc::serve {

namespace {

// The largest request body accepted (a prompt with its images); a larger
// one is answered 413.
constexpr size_t kMaxRequestBody = 64 << 20;
// The size of the pieces the library asks a response's body in.
constexpr size_t kBlockSize = 64 << 10;

// One request as it arrives: made when its first line is read, freed when
// it is done.
struct Arrival {
  std::string uri; // as sent: path and query, still escaped
  std::string body;
  bool started = false;
  bool too_large = false;
};

void* on_uri(void* cls, const char* uri, MHD_Connection*) {
  ++static_cast<Server*>(cls)->in_flight_count();
  auto* arrival = new (std::nothrow) Arrival;
  if (arrival) {
    arrival->uri = uri ? uri : "";
  }
  return arrival;
}

void on_completed(void* cls,
                  MHD_Connection*,
                  void** context,
                  MHD_RequestTerminationCode) {
  delete static_cast<Arrival*>(*context);
  *context = nullptr;
  --static_cast<Server*>(cls)->in_flight_count();
}

MHD_Result add_header(void* cls,
                      MHD_ValueKind,
                      const char* key,
                      const char* value) {
  auto* headers = static_cast<std::vector<http::Header>*>(cls);
  headers->push_back({ key ? key : "", value ? value : "" });
  return MHD_YES;
}

// A body arriving through a pipe, read as it comes.
struct PipeReader {
  std::shared_ptr<Pipe> pipe;
  std::string piece;
  size_t at = 0;
};

ssize_t read_pipe(void* cls, uint64_t, char* buf, size_t max) {
  auto* r = static_cast<PipeReader*>(cls);
  if (r->at == r->piece.size()) {
    r->piece.clear();
    r->at = 0;
    switch (r->pipe->read(r->piece)) {
      case Pipe::Read::piece:
        break;
      case Pipe::Read::end:
        return MHD_CONTENT_READER_END_OF_STREAM;
      case Pipe::Read::broken:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
  }
  size_t n = std::min(max, r->piece.size() - r->at);
  std::memcpy(buf, r->piece.data() + r->at, n);
  r->at += n;
  return static_cast<ssize_t>(n);
}

void free_pipe(void* cls) {
  auto* r = static_cast<PipeReader*>(cls);
  // The client is done or gone: the transfer stops if it has not ended.
  r->pipe->leave();
  delete r;
}

// A stored body, sent in the pieces it arrived in: from memory, or from
// the private copy of one too large for memory.
struct PiecesReader {
  std::string body;
  util::Fd file;
  uint64_t size = 0; // of body or file
  std::vector<uint64_t> pieces;
  size_t index = 0;
  uint64_t at = 0;       // in the body
  uint64_t in_piece = 0; // sent of pieces[index]
};

ssize_t read_pieces(void* cls, uint64_t, char* buf, size_t max) {
  auto* r = static_cast<PiecesReader*>(cls);
  if (r->at >= r->size) {
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  while (r->index < r->pieces.size() && r->in_piece == r->pieces[r->index]) {
    ++r->index;
    r->in_piece = 0;
  }
  uint64_t left = r->index < r->pieces.size()
                    ? r->pieces[r->index] - r->in_piece
                    : r->size - r->at;
  size_t n =
    static_cast<size_t>(std::min<uint64_t>({ left, max, r->size - r->at }));
  if (r->file) {
    ssize_t got;
    do {
      got = ::pread(r->file.get(), buf, n, static_cast<off_t>(r->at));
    } while (got < 0 && errno == EINTR);
    // The copy was written whole: an early end is a failing disk.
    if (got <= 0) {
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    n = static_cast<size_t>(got);
  } else {
    std::memcpy(buf, r->body.data() + r->at, n);
  }
  r->at += n;
  r->in_piece += n;
  return static_cast<ssize_t>(n);
}

void free_pieces(void* cls) {
  delete static_cast<PiecesReader*>(cls);
}

MHD_Result send(const Mhd& mhd, MHD_Connection* connection, Reply reply) {
  MHD_Response* response = nullptr;
  if (reply.pipe) {
    auto* reader = new PipeReader{ reply.pipe, {}, 0 };
    response =
      mhd.create_response_from_callback(reply.length.value_or(MHD_SIZE_UNKNOWN),
                                        kBlockSize,
                                        read_pipe,
                                        reader,
                                        free_pipe);
    if (!response) {
      free_pipe(reader);
    }
  } else if (reply.file || (reply.head.chunked && !reply.body.empty())) {
    auto* reader = new PiecesReader;
    reader->size = reply.file ? reply.file_size : reply.body.size();
    reader->body = std::move(reply.body);
    reader->file = std::move(reply.file);
    reader->pieces = std::move(reply.pieces);
    response = mhd.create_response_from_callback(
      reply.head.chunked ? MHD_SIZE_UNKNOWN : reader->size,
      kBlockSize,
      read_pieces,
      reader,
      free_pieces);
    if (!response) {
      free_pieces(reader);
    }
  } else {
    response = mhd.create_response_from_buffer(
      reply.body.size(), reply.body.data(), MHD_RESPMEM_MUST_COPY);
  }
  if (!response) {
    return MHD_NO;
  }
  for (const auto& h : reply.head.headers) {
    // The library refuses the headers it sets itself: left out.
    (void)mhd.add_response_header(response, h.name.c_str(), h.value.c_str());
  }
  auto queued = mhd.queue_response(
    connection, static_cast<unsigned>(reply.head.status), response);
  mhd.destroy_response(response);
  return queued;
}

Reply answer(Server& server,
             MHD_Connection* connection,
             const Mhd& mhd,
             std::string_view method,
             Arrival& arrival) {
  std::string_view uri = arrival.uri;
  auto mark = uri.find('?');
  std::string_view path = uri.substr(0, mark);
  std::string_view query =
    mark == std::string_view::npos ? std::string_view() : uri.substr(mark + 1);
  std::vector<http::Header> headers;
  mhd.get_connection_values(connection, MHD_HEADER_KIND, add_header, &headers);
  if (!server.token().empty()) {
    std::string_view given;
    for (const auto& h : headers) {
      if (util::lower(h.name) == "x-ipfsacc-token") {
        given = h.value;
      }
    }
    const auto& token = server.token();
    if (given.size() != token.size() ||
        sodium_memcmp(given.data(), token.data(), token.size()) != 0) {
      return error_reply(401, "ipfsacc_unauthorized", "x-ipfsacc-token needed");
    }
  }
  if (path == "/healthz") {
    Reply reply;
    reply.head.status = 200;
    reply.head.headers.push_back({ "Content-Type", "text/plain" });
    reply.body = "ok\n";
    return reply;
  }
  if (path == "/metrics") {
    // Prometheus' text exposition format; behind the token like the rest,
    // as the counters say what the proxy's users ask.
    Reply reply;
    reply.head.status = 200;
    reply.head.headers.push_back(
      { "Content-Type", "text/plain; version=0.0.4; charset=utf-8" });
    reply.body = server.proxy().metrics().exposition();
    return reply;
  }
  const Route* route = find_route(path);
  if (!route) {
    return error_reply(
      404,
      "ipfsacc_no_route",
      fmt::format("no route for {}; the routes are /anthropic, /openai, "
                  "/groq, /gemini, /hf and /github",
                  path.substr(0, 200)));
  }
  if (arrival.too_large) {
    return error_reply(413, "ipfsacc_too_large", "request body too large");
  }
  ProxyRequest request;
  request.method = std::string(method);
  request.route = route;
  request.path = std::string(path.substr(route->prefix.size()));
  request.query = std::string(query);
  request.headers = std::move(headers);
  request.body = std::move(arrival.body);
  return server.proxy().handle(std::move(request));
}

MHD_Result on_request(void* cls,
                      MHD_Connection* connection,
                      const char* url,
                      const char* method,
                      const char*,
                      const char* upload,
                      size_t* upload_size,
                      void** context) {
  auto* server = static_cast<Server*>(cls);
  auto* arrival = static_cast<Arrival*>(*context);
  if (!arrival) {
    return MHD_NO; // out of memory when it arrived
  }
  if (!arrival->started) {
    arrival->started = true;
    if (arrival->uri.empty() && url) {
      arrival->uri = url;
    }
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (arrival->body.size() + *upload_size > kMaxRequestBody) {
      arrival->too_large = true;
      arrival->body = std::string();
    } else if (!arrival->too_large) {
      arrival->body.append(upload, *upload_size);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  auto mhd = load_mhd();
  if (!mhd) {
    return MHD_NO;
  }
  // One request's failure is its own: an answer of 500, never the end of
  // the server.
  Reply reply;
  try {
    reply = answer(*server, connection, **mhd, method ? method : "", *arrival);
  } catch (const std::exception& e) {
    reply = error_reply(500, "ipfsacc_error", e.what());
  }
  try {
    return send(**mhd, connection, std::move(reply));
  } catch (const std::exception&) {
    return MHD_NO;
  }
}

} // namespace

std::expected<Listen, std::string> parse_listen(std::string_view text) {
  Listen listen;
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) {
      return std::unexpected(fmt::format("{}: not [ADDRESS]:PORT", text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::unexpected(fmt::format("{}: not HOST:PORT", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!host.empty()) {
    listen.host = std::string(host);
  }
  unsigned value = 0;
  auto [end, ec] =
    std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return std::unexpected(fmt::format("{}: {} is not a port", text, port));
  }
  listen.port = static_cast<uint16_t>(value);
  return listen;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "::1") {
    return true;
  }
  in_addr v4{};
  std::string text(host);
  return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 &&
         (ntohl(v4.s_addr) >> 24) == 127;
}

std::expected<std::unique_ptr<Server>, std::string>
Server::start(const Listen& listen, std::string token, Proxy& proxy) {
  auto mhd = load_mhd();
  if (!mhd) {
    return std::unexpected(mhd.error());
  }
  std::unique_ptr<Server> server(new Server);
  server->proxy_ = &proxy;
  server->token_ = std::move(token);
  // MHD_USE_ITC: quiesce() needs it.
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* address = nullptr;
  std::string host = listen.host == "localhost" ? "127.0.0.1" : listen.host;
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(listen.port);
    address = reinterpret_cast<const sockaddr*>(&v4);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(listen.port);
    address = reinterpret_cast<const sockaddr*>(&v6);
    flags |= MHD_USE_IPv6;
  } else {
    return std::unexpected(
      fmt::format("{} is not an IP address to listen on", listen.host));
  }
  server->daemon_ = (*mhd)->start_daemon(flags,
                                         listen.port,
                                         nullptr,
                                         nullptr,
                                         on_request,
                                         server.get(),
                                         MHD_OPTION_SOCK_ADDR,
                                         address,
                                         MHD_OPTION_URI_LOG_CALLBACK,
                                         on_uri,
                                         server.get(),
                                         MHD_OPTION_NOTIFY_COMPLETED,
                                         on_completed,
                                         server.get(),
                                         MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                         size_t(256 << 10),
                                         MHD_OPTION_END);
  if (!server->daemon_) {
    return std::unexpected(fmt::format(
      "cannot listen on {}:{} (in use, or not an address of this machine)",
      listen.host,
      listen.port));
  }
  const MHD_DaemonInfo* info =
    (*mhd)->get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info ? info->port : listen.port;
  return server;
}

void Server::quiesce() {
  if (daemon_ && quiesced_socket_ < 0) {
    if (auto mhd = load_mhd()) {
      quiesced_socket_ = (*mhd)->quiesce_daemon(daemon_);
    }
  }
}

void Server::stop() {
  if (daemon_) {
    if (auto mhd = load_mhd()) {
      (*mhd)->stop_daemon(daemon_);
    }
    daemon_ = nullptr;
  }
  // The listening socket quiesce() took is ours to close, after the stop.
  if (quiesced_socket_ >= 0) {
    ::close(quiesced_socket_);
    quiesced_socket_ = -1;
  }
  proxy_->drain();
}

Server::~Server() {
  stop();
}

} // namespace ipfsacc::serve
