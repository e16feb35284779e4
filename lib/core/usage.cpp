#include "core/usage.hpp"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace ipfsacc {

namespace {

using json = nlohmann::json;

// Outputs larger than this are not searched for usage: an LLM's JSON result
// is small, and parsing a huge document would slow the miss down.
constexpr size_t kMaxParsed = 16 << 20;

uint64_t count(const json& j, std::string_view name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number()) {
    return 0;
  }
  if (it->is_number_unsigned() || it->is_number_integer()) {
    auto v = it->get<int64_t>();
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  }
  double v = it->get<double>();
  return v > 0 ? static_cast<uint64_t>(std::llround(v)) : 0;
}

std::string text(const json& j, std::string_view name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t micro_usd(const json& j, std::string_view name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number()) {
    return -1;
  }
  double v = it->get<double>();
  return v >= 0 ? static_cast<int64_t>(std::llround(v * 1e6)) : -1;
}

// Anthropic's usage block (the API and claude's result): cache reads and
// writes are input tokens too.
storage::ModelTokens anthropic_tokens(const json& usage, std::string model) {
  return { std::move(model),
           count(usage, "input_tokens") +
             count(usage, "cache_creation_input_tokens") +
             count(usage, "cache_read_input_tokens"),
           count(usage, "output_tokens") };
}

std::optional<Usage> from_document(const json& doc, std::string_view model) {
  if (!doc.is_object()) {
    return std::nullopt;
  }
  Usage usage;
  std::string named = text(doc, "model");
  if (named.empty()) {
    named = text(doc, "modelVersion");
  }
  if (named.empty()) {
    named = model;
  }
  for (auto name : { "total_cost_usd", "cost_usd" }) {
    if (usage.reported_cost_micro_usd < 0) {
      usage.reported_cost_micro_usd = micro_usd(doc, name);
    }
  }

  // claude: modelUsage has the tokens of each model the call used.
  if (auto it = doc.find("modelUsage"); it != doc.end() && it->is_object()) {
    for (const auto& [name, m] : it->items()) {
      if (!m.is_object()) {
        continue;
      }
      usage.models.push_back({ name,
                               count(m, "inputTokens") +
                                 count(m, "cacheReadInputTokens") +
                                 count(m, "cacheCreationInputTokens"),
                               count(m, "outputTokens") });
    }
  }
  // gemini -o json: stats.models.<name>.tokens.
  if (auto stats = doc.find("stats");
      usage.models.empty() && stats != doc.end() && stats->is_object()) {
    if (auto models = stats->find("models");
        models != stats->end() && models->is_object()) {
      for (const auto& [name, m] : models->items()) {
        auto tokens = m.find("tokens");
        if (tokens == m.end() || !tokens->is_object()) {
          continue;
        }
        usage.models.push_back(
          { name,
            count(*tokens, "prompt"),
            count(*tokens, "candidates") + count(*tokens, "thoughts") });
      }
    }
  }
  if (usage.models.empty()) {
    if (auto it = doc.find("usage"); it != doc.end() && it->is_object()) {
      if (it->contains("prompt_tokens") || it->contains("completion_tokens")) {
        // OpenAI-style (groq).
        usage.models.push_back({ named,
                                 count(*it, "prompt_tokens"),
                                 count(*it, "completion_tokens") });
      } else if (it->contains("input_tokens") ||
                 it->contains("output_tokens")) {
        usage.models.push_back(anthropic_tokens(*it, named));
      }
    } else if (auto meta = doc.find("usageMetadata");
               meta != doc.end() && meta->is_object()) {
      // The Gemini API.
      usage.models.push_back({ named,
                               count(*meta, "promptTokenCount"),
                               count(*meta, "candidatesTokenCount") +
                                 count(*meta, "thoughtsTokenCount") });
    }
  }
  if (usage.models.empty() && usage.reported_cost_micro_usd < 0) {
    return std::nullopt;
  }
  return usage;
}

} // namespace

std::optional<Usage> parse_usage(std::string_view output,
                                 std::string_view model) {
  if (output.size() > kMaxParsed) {
    return std::nullopt;
  }
  size_t start = output.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos ||
      (output[start] != '{' && output[start] != '[')) {
    return std::nullopt;
  }
  auto doc = json::parse(output, nullptr, false);
  if (!doc.is_discarded()) {
    return from_document(doc, model);
  }
  // JSON Lines (claude --output-format stream-json): the result is last.
  size_t end = output.find_last_not_of(" \t\r\n");
  size_t line = output.rfind('\n', end);
  line = line == std::string_view::npos ? 0 : line + 1;
  doc = json::parse(output.substr(line, end + 1 - line), nullptr, false);
  if (doc.is_discarded()) {
    return std::nullopt;
  }
  return from_document(doc, model);
}

std::optional<Price> parse_price(std::string_view text) {
  auto number = [&](double& out) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
      text.remove_prefix(1);
    }
    if (!text.empty() && text.front() == '$') {
      text.remove_prefix(1);
    }
    auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || out < 0 || !std::isfinite(out)) {
      return false;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return true;
  };
  Price price;
  if (!number(price.input)) {
    return std::nullopt;
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  if (!text.empty() && text.front() == '/') {
    text.remove_prefix(1);
  }
  if (!number(price.output)) {
    return std::nullopt;
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (!text.empty()) {
    return std::nullopt;
  }
  return price;
}

} // namespace ipfsacc
