#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

// The query of `vastai search offers`, built the way vast-cli's
// search__offers() and parse_query() build it (vast.py, see vastai.cpp).
namespace ipfsacc::sdk::vast {

enum class Defaults { no, yes };

struct OffersQuery {
  // The JSON body POSTed to /bundles/, keys in vast-cli's order.
  nlohmann::ordered_json query;
  // What parse_query prints on stderr ("Warning: Unrecognized field: …").
  std::string warnings;
};

// parse_query(" ".join(words), res): the comparisons of words ("num_gpus=1",
// "gpu_name in [RTX_4090,H100]", "reliability > 0.99") merged into res.
// Fails (with what) where vast-cli would raise, or where its behaviour is
// not reproduced (driver_version values with dots).
std::expected<std::string, std::string> parse_query(
  std::span<const std::string> words,
  nlohmann::ordered_json& res);

// The whole body: the default query unless defaults is no, the words, then
// order, type, limit, allocated_storage and disable_bundling.
std::expected<OffersQuery, std::string> offers_query(
  std::span<const std::string> words,
  Defaults defaults,
  const std::string& order,
  const std::string& type,
  std::optional<long> limit,
  double storage,
  bool disable_bundling);

// The rows of an answer kept by search__offers' client-side "rented" filter
// (all of them when the query has no "rented").
nlohmann::ordered_json filter_rented(const nlohmann::ordered_json& rows,
                                     const nlohmann::ordered_json& query);

} // namespace ipfsacc::sdk::vast
