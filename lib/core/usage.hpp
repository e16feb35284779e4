#pragma once

#include "storage/entry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc {

// What an LLM tool's output says it spent.
struct Usage {
  std::vector<storage::ModelTokens> models;
  // The cost the output reports itself, in millionths of a dollar; -1 when
  // it reports none.
  int64_t reported_cost_micro_usd = -1;
};

// Reads token usage from a JSON output (a single JSON document, or JSON
// Lines whose last line is the result), in the shapes the wrapped tools
// print: claude -p --output-format json (usage, modelUsage, total_cost_usd),
// the Anthropic Messages API, OpenAI-style chat completions (groq: usage
// with prompt_tokens/completion_tokens), the Gemini API (usageMetadata) and
// gemini -o json (stats.models.*.tokens). model is used for a document
// that does not name its model. Returns nullopt when the output is not JSON
// or carries no usage.
std::optional<Usage> parse_usage(std::string_view output,
                                 std::string_view model);

// A model's price: US dollars per million input and output tokens (which is
// also millionths of a dollar per token).
struct Price {
  double input = 0;
  double output = 0;
};

// Parses "3/15" or "3 15" (dollars per million input/output tokens).
std::optional<Price> parse_price(std::string_view text);

} // namespace ipfsacc
