#include "sdk/gh/pager.hpp"

#include "sdk/gh/fields.hpp"

#include <optional>
#include <string>

namespace ipfsacc::sdk::gh {

using json = nlohmann::json;

std::expected<std::vector<json>, Outcome>
graphql_pages(long long limit, const PageFetch& fetch, const NodeFilter& keep) {
  std::vector<json> kept;
  std::optional<json> cursor;
  for (;;) {
    auto page = fetch(cursor ? &*cursor : nullptr,
                      limit - static_cast<long long>(kept.size()));
    if (!page) {
      return std::unexpected(std::move(page.error()));
    }
    // A null "nodes" is no nodes.
    const auto& nodes = member(*page, "nodes");
    bool full = static_cast<long long>(kept.size()) >= limit;
    for (const auto& node : nodes) {
      if (full) {
        break;
      }
      if (keep && !keep(node)) {
        continue;
      }
      kept.push_back(node);
      full = static_cast<long long>(kept.size()) >= limit;
    }
    const auto& info = member(*page, "pageInfo");
    const auto& more = member(info, "hasNextPage");
    const auto& next = member(info, "endCursor");
    if (full || !more.is_boolean() || !more.get<bool>() || nodes.empty() ||
        !next.is_string() || (cursor && *cursor == next)) {
      break;
    }
    cursor = next;
  }
  return kept;
}

} // namespace ipfsacc::sdk::gh
