#pragma once

#include "sdk/sdk.hpp"

#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

// Paging through a GraphQL connection the way gh does: a page, then the next
// one after pageInfo.endCursor while pageInfo.hasNextPage, until the limit.
namespace ipfsacc::sdk::gh {

// Fetches one page: the connection ({"nodes": [...], "pageInfo": {...}}),
// or the failure to end the command with. cursor is nullptr for the first
// page, else the previous page's endCursor (a string); wanted is how many
// more nodes the command takes.
using PageFetch = std::function<std::expected<nlohmann::json, Outcome>(
  const nlohmann::json* cursor,
  long long wanted)>;

// Whether a node counts towards the limit and is returned (a filter gh
// applies to the nodes it receives); every node when empty.
using NodeFilter = std::function<bool(const nlohmann::json&)>;

// The nodes kept, in order, at most limit of them. Paging stops at the
// limit, when hasNextPage is not true, and, since a page that cannot move
// on would be asked for again without end, when a page has no nodes or its
// endCursor is not a new string. The first failure of fetch is returned.
std::expected<std::vector<nlohmann::json>, Outcome> graphql_pages(
  long long limit,
  const PageFetch& fetch,
  const NodeFilter& keep = {});

} // namespace ipfsacc::sdk::gh
