// Fuzz target: what ipfsacc serve makes of a request it receives (the
// query, the headers and the JSON body, through the route's scrub profile,
// into the canonical request document) and of a stored answer's head. The
// document must be canonical JSON: parsed and written again, the same
// bytes. The input's first byte picks the route; the rest is the query, the
// headers (NAME: VALUE lines) and the body, separated by blank lines.
#include "fuzz.hpp"
#include "serve/answer_store.hpp"
#include "serve/request_key.hpp"
#include "serve/routes.hpp"

#include <nlohmann/json.hpp>

using namespace ipfsacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = fuzz::text(data, size);
  if (auto head = serve::decode_head(input)) {
    auto again = serve::decode_head(serve::encode_head(*head));
    fuzz::check(again && again->status == head->status &&
                  again->headers.size() == head->headers.size(),
                "a decoded head, encoded again, is the same head");
  }
  if (input.empty()) {
    return 0;
  }
  auto routes = serve::routes();
  serve::ProxyRequest request;
  request.route = &routes[static_cast<uint8_t>(input[0]) % routes.size()];
  request.method = "POST";
  request.path = "/v1/messages";
  input.remove_prefix(1);
  auto part = [&]() {
    auto end = input.find("\n\n");
    auto piece = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view()
                                          : input.substr(end + 2);
    return piece;
  };
  request.query = std::string(part());
  auto headers = part();
  while (!headers.empty()) {
    auto end = headers.find('\n');
    auto line = headers.substr(0, end);
    headers = end == std::string_view::npos ? std::string_view()
                                            : headers.substr(end + 1);
    auto colon = line.find(':');
    request.headers.push_back({ std::string(line.substr(0, colon)),
                                colon == std::string_view::npos
                                  ? ""
                                  : std::string(line.substr(colon + 1)) });
  }
  request.body = std::string(input);
  const serve::ScrubProfile* profile =
    request.route->scrub.empty()
      ? nullptr
      : serve::builtin_scrub_profile(request.route->scrub);
  (void)serve::request_credentials(request);
  auto body = serve::json_body(request);
  (void)serve::cache_lifetime(*request.route,
                              request.method,
                              request.path,
                              request.query,
                              body ? &*body : nullptr);
  auto document = serve::canonical_request(
    request, request.route->upstream, profile, "h:account");
  auto parsed = nlohmann::json::parse(document, nullptr, false);
  fuzz::check(!parsed.is_discarded(), "the request document is JSON");
  fuzz::check(parsed.dump() == document,
              "the request document is canonical JSON");
  return 0;
}
