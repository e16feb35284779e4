#include "serve/routes.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace ipfsacc::serve {

namespace {

using namespace std::chrono_literals;
using std::string_view;

constexpr string_view kAnthropicCredentials[] = { "x-api-key",
                                                  "authorization" };
constexpr string_view kBearer[] = { "authorization" };
constexpr string_view kGeminiCredentials[] = { "x-goog-api-key",
                                               "authorization" };
constexpr string_view kGeminiQuery[] = { "key" };
constexpr string_view kAnthropicHeaders[] = { "anthropic-version",
                                              "anthropic-beta" };
constexpr string_view kOpenAiHeaders[] = { "openai-beta" };
constexpr string_view kGithubHeaders[] = { "accept", "x-github-api-version" };

// The last events of streams. Chat completions end with [DONE]; the
// Responses API ends with response.completed or response.incomplete (a
// whole answer cut at max_output_tokens), never [DONE]; response.failed is
// not an answer. A Gemini stream has no closing event: the chunk that ends
// it is the one that says why (finishReason, the last chunk only). A stream
// cut before its last event also ends cleanly, and is a part of an answer.
constexpr string_view kAnthropicEnd[] = { "event: message_stop" };
constexpr string_view kOpenAiEnds[] = { "data: [DONE]",
                                        "event: response.completed",
                                        "event: response.incomplete" };
constexpr string_view kGeminiEnd[] = { "\"finishReason\"" };

constexpr Route kRoutes[] = {
  { "anthropic",
    "/anthropic",
    "https://api.anthropic.com",
    "ANTHROPIC_BASE_URL",
    "",
    kAnthropicCredentials,
    {},
    kAnthropicHeaders,
    "anthropic",
    kAnthropicEnd,
    "anthropic_api_key",
    "x-api-key",
    "",
    false },
  { "openai",
    "/openai",
    "https://api.openai.com",
    "OPENAI_BASE_URL",
    "/v1",
    kBearer,
    {},
    kOpenAiHeaders,
    "",
    kOpenAiEnds,
    "openai_api_key",
    "authorization",
    "Bearer ",
    false },
  { "groq",
    "/groq",
    "https://api.groq.com",
    "GROQ_BASE_URL",
    "",
    kBearer,
    {},
    kOpenAiHeaders,
    "",
    kOpenAiEnds,
    "groq_api_key",
    "authorization",
    "Bearer ",
    false },
  { "gemini",
    "/gemini",
    "https://generativelanguage.googleapis.com",
    "GOOGLE_GEMINI_BASE_URL",
    "",
    kGeminiCredentials,
    kGeminiQuery,
    {},
    "",
    kGeminiEnd,
    "gemini_api_key",
    "x-goog-api-key",
    "",
    false },
  { "hf",
    "/hf",
    "https://huggingface.co",
    "HF_ENDPOINT",
    "",
    kBearer,
    {},
    {},
    "",
    {},
    "hf_token",
    "authorization",
    "Bearer ",
    false },
  { "github",
    "/github",
    "https://api.github.com",
    "GITHUB_API_URL",
    "",
    kBearer,
    {},
    kGithubHeaders,
    "",
    {},
    "github_token",
    "authorization",
    "Bearer ",
    true },
};

enum class Match { suffix, prefix, contains, any };

// One row of what is cached: requests of method on the routes named (","
// separated; "" for all) whose path matches, kept for ttl, or sampled_ttl
// when the request samples (a temperature other than 0). The first row that
// matches decides.
struct CacheRow {
  string_view routes;
  string_view method;
  Match match;
  string_view pattern;
  util::Millis ttl;
  util::Millis sampled_ttl;
  // Only when the query holds this text ("" for any query).
  string_view query_has = "";
};

constexpr string_view kLlm = "anthropic,openai,groq";
// Completions 1 h at temperature 0 and 30 min sampled, embeddings and token
// counts 24 h; Hub info 1 h, file lists 30 min, searches 10 min; GitHub
// workflow runs 60 s, the rest 5 min: the field's practice.
const CacheRow kCacheRows[] = {
  { kLlm, "POST", Match::suffix, "/v1/messages/count_tokens", 24h, 24h },
  { kLlm, "POST", Match::suffix, "/v1/messages", 1h, 30min },
  { kLlm, "POST", Match::suffix, "/v1/chat/completions", 1h, 30min },
  { kLlm, "POST", Match::suffix, "/v1/completions", 1h, 30min },
  { kLlm, "POST", Match::suffix, "/v1/responses", 1h, 30min },
  { kLlm, "POST", Match::suffix, "/v1/embeddings", 24h, 24h },
  { "gemini", "POST", Match::suffix, ":generateContent", 1h, 30min },
  { "gemini", "POST", Match::suffix, ":streamGenerateContent", 1h, 30min },
  { "gemini", "POST", Match::suffix, ":embedContent", 24h, 24h },
  { "gemini", "POST", Match::suffix, ":batchEmbedContents", 24h, 24h },
  { "gemini", "POST", Match::suffix, ":countTokens", 24h, 24h },
  { "hf", "GET", Match::prefix, "/api/", 10min, 10min, "search=" },
  { "hf", "GET", Match::contains, "/tree/", 30min, 30min },
  { "hf", "GET", Match::any, "", 1h, 1h },
  { "github", "GET", Match::contains, "/actions/", 60s, 60s },
  { "github", "GET", Match::any, "", 5min, 5min },
};

// A Hub file at a commit (resolve/<40 hex>/…) never changes.
constexpr util::Millis kImmutable = 30 * 24h;

bool names(string_view list, string_view name) {
  if (list.empty()) {
    return true;
  }
  while (!list.empty()) {
    auto comma = list.find(',');
    if (list.substr(0, comma) == name) {
      return true;
    }
    list = comma == string_view::npos ? string_view() : list.substr(comma + 1);
  }
  return false;
}

bool matches(const CacheRow& row, string_view path) {
  switch (row.match) {
    case Match::suffix:
      return path.ends_with(row.pattern);
    case Match::prefix:
      return path.starts_with(row.pattern);
    case Match::contains:
      return path.find(row.pattern) != string_view::npos;
    case Match::any:
      return true;
  }
  return false;
}

bool at_commit(string_view path) {
  auto at = path.find("/resolve/");
  if (at == string_view::npos) {
    return false;
  }
  auto rev = path.substr(at + 9);
  auto slash = rev.find('/');
  rev = rev.substr(0, slash);
  return rev.size() == 40 && std::all_of(rev.begin(), rev.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) ||
                  (c >= 'a' && c <= 'f');
         });
}

// Whether a generation request samples: any temperature but 0 (the APIs'
// default is 1), at the top level or in Gemini's generationConfig.
bool samples(const nlohmann::json* body) {
  if (!body || !body->is_object()) {
    return true;
  }
  const nlohmann::json* t = nullptr;
  if (auto it = body->find("temperature"); it != body->end()) {
    t = &*it;
  } else if (auto config = body->find("generationConfig");
             config != body->end() && config->is_object()) {
    if (auto it2 = config->find("temperature"); it2 != config->end()) {
      t = &*it2;
    }
  }
  return !t || !t->is_number() || t->get<double>() != 0.0;
}

} // namespace

std::span<const Route> routes() {
  return kRoutes;
}

const Route* find_route(std::string_view path) {
  for (const auto& route : kRoutes) {
    if (path.starts_with(route.prefix) && (path.size() == route.prefix.size() ||
                                           path[route.prefix.size()] == '/')) {
      return &route;
    }
  }
  return nullptr;
}

bool stream_ended(const Route& route, std::string_view tail) {
  if (route.stream_ends.empty()) {
    return true;
  }
  return std::any_of(
    route.stream_ends.begin(), route.stream_ends.end(), [&](string_view end) {
      return tail.rfind(end) != string_view::npos;
    });
}

const Route* route_named(std::string_view name) {
  for (const auto& route : kRoutes) {
    if (route.name == name) {
      return &route;
    }
  }
  return nullptr;
}

std::optional<util::Millis> cache_lifetime(const Route& route,
                                           std::string_view method,
                                           std::string_view path,
                                           std::string_view query,
                                           const nlohmann::json* body) {
  if (route.name == "hf" && method == "GET" && at_commit(path)) {
    return kImmutable;
  }
  for (const auto& row : kCacheRows) {
    if (row.method == method && names(row.routes, route.name) &&
        matches(row, path) &&
        (row.query_has.empty() ||
         query.find(row.query_has) != string_view::npos)) {
      return samples(body) ? row.sampled_ttl : row.ttl;
    }
  }
  return std::nullopt;
}

} // namespace ipfsacc::serve
