#include "sdk/vast_query.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fmt/format.h>
#include <regex>
#include <string_view>
#include <utility>

namespace ipfsacc::sdk::vast {

namespace {

using ojson = nlohmann::ordered_json;

// vast.py offers_fields.
constexpr std::string_view kOffersFields[] = {
  "bw_nvlink",
  "compute_cap",
  "cpu_arch",
  "cpu_cores",
  "cpu_cores_effective",
  "cpu_ghz",
  "cpu_ram",
  "cuda_max_good",
  "datacenter",
  "direct_port_count",
  "driver_version",
  "disk_bw",
  "disk_space",
  "dlperf",
  "dlperf_per_dphtotal",
  "dph_total",
  "duration",
  "external",
  "flops_per_dphtotal",
  "gpu_arch",
  "gpu_display_active",
  "gpu_frac",
  "gpu_mem_bw",
  "gpu_name",
  "gpu_ram",
  "gpu_total_ram",
  "gpu_max_power",
  "gpu_max_temp",
  "has_avx",
  "host_id",
  "id",
  "inet_down",
  "inet_down_cost",
  "inet_up",
  "inet_up_cost",
  "machine_id",
  "min_bid",
  "mobo_name",
  "num_gpus",
  "pci_gen",
  "pcie_bw",
  "reliability",
  "rentable",
  "rented",
  "storage_cost",
  "static_ip",
  "total_flops",
  "ubuntu_version",
  "verification",
  "verified",
  "vms_enabled",
  "geolocation",
  "gpu_display_active",
};

// vast.py offers_alias.
constexpr std::pair<std::string_view, std::string_view> kAlias[] = {
  { "cuda_vers", "cuda_max_good" },
  { "display_active", "gpu_display_active" },
  { "dlperf_usd", "dlperf_per_dphtotal" },
  { "dph", "dph_total" },
  { "flops_usd", "flops_per_dphtotal" },
};

// vast.py offers_mult.
constexpr std::pair<std::string_view, double> kMultiplier[] = {
  { "cpu_ram", 1000 },
  { "gpu_ram", 1000 },
  { "gpu_total_ram", 1000 },
  { "duration", 24.0 * 60.0 * 60.0 },
};

// parse_query's op_names.
constexpr std::pair<std::string_view, std::string_view> kOps[] = {
  { ">=", "gte" },      { ">", "gt" },         { "gt", "gt" },
  { "gte", "gte" },     { "<=", "lte" },       { "<", "lt" },
  { "lt", "lt" },       { "lte", "lte" },      { "!=", "neq" },
  { "==", "eq" },       { "=", "eq" },         { "eq", "eq" },
  { "neq", "neq" },     { "noteq", "neq" },    { "not eq", "neq" },
  { "notin", "notin" }, { "not in", "notin" }, { "nin", "notin" },
  { "in", "in" },
};

template<class Table>
auto lookup(const Table& table, std::string_view key)
  -> std::optional<decltype(std::begin(table)->second)> {
  for (const auto& [k, v] : table) {
    if (k == key) {
      return v;
    }
  }
  return std::nullopt;
}

std::string_view strip(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.front()) != std::string_view::npos) {
    s.remove_prefix(1);
  }
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  return s;
}

// value.replace('_', ' ').strip('"').
std::string clean(std::string_view value) {
  std::string s(value);
  std::replace(s.begin(), s.end(), '_', ' ');
  return std::string(strip(s, "\""));
}

// Python's == between two values json.loads made (True == 1).
bool py_equal(const ojson& a, const ojson& b) {
  auto number = [](const ojson& v) -> std::optional<double> {
    if (v.is_boolean()) {
      return v.get<bool>() ? 1.0 : 0.0;
    }
    if (v.is_number()) {
      return v.get<double>();
    }
    return std::nullopt;
  };
  auto x = number(a);
  auto y = number(b);
  if (x && y) {
    return *x == *y;
  }
  return a == b;
}

} // namespace

std::expected<std::string, std::string> parse_query(
  std::span<const std::string> words,
  ojson& res) {
  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    text += i == 0 ? "" : " ";
    text += words[i];
  }
  const std::string query_str(strip(text, " \t\n\r\v\f"));
  static const std::regex kPattern(
    R"re(([a-zA-Z0-9_]+)( *[=><!]+| +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) )?( *)(\[[^\]]+\]|"[^"]+"|[^ ]+)?( *))re");
  std::string joined;
  std::vector<std::array<std::string, 5>> opts;
  for (auto it =
         std::sregex_iterator(query_str.begin(), query_str.end(), kPattern);
       it != std::sregex_iterator();
       ++it) {
    std::array<std::string, 5> groups;
    for (size_t g = 0; g < 5; ++g) {
      groups[g] = (*it)[static_cast<int>(g + 1)].str();
      joined += groups[g];
    }
    opts.push_back(std::move(groups));
  }
  if (joined != query_str) {
    return std::unexpected(fmt::format(
      "the query '{}', which vastai rejects (unconsumed text)", query_str));
  }
  std::string warnings;
  for (const auto& [raw_field, raw_op, _1, raw_value, _2] : opts) {
    std::string field = raw_field;
    std::string value(strip(raw_value, ",[]"));
    if (!res.contains(field)) {
      res[field] = ojson::object();
    }
    ojson v = res[field];
    const std::string op(strip(raw_op, " "));
    auto op_name = lookup(kOps, op);
    if (auto alias = lookup(kAlias, field)) {
      res.erase(field);
      field = std::string(*alias);
    }
    if (field == "driver_version" && value.find('.') != std::string::npos) {
      return std::unexpected(
        std::string("a driver_version with dots (vastai's numeric_version)"));
    }
    if (std::find(std::begin(kOffersFields), std::end(kOffersFields), field) ==
        std::end(kOffersFields)) {
      warnings += fmt::format(
        "Warning: Unrecognized field: {}, see list of recognized fields.\n",
        field);
    }
    if (!op_name) {
      return std::unexpected(
        fmt::format("the operator '{}', which vastai rejects", op));
    }
    const bool list_op = *op_name == "in" || *op_name == "notin";
    std::vector<std::string> list;
    if (list_op) {
      std::string_view rest = value;
      while (true) {
        auto comma = rest.find(',');
        auto item = strip(rest.substr(0, comma), " \t\n\r\v\f");
        if (!item.empty()) {
          list.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(comma + 1);
      }
      if (list.empty()) {
        return std::unexpected(
          fmt::format("a blank value for {}, which vastai rejects", field));
      }
    } else if (value.empty()) {
      return std::unexpected(
        fmt::format("a blank value for {}, which vastai rejects", field));
    }
    if (!list_op && (value == "?" || value == "*" || value == "any")) {
      if (*op_name != "eq") {
        return std::unexpected(
          std::string("a wildcard with an operator other than ="));
      }
      res.erase(field);
      continue;
    }
    if (auto mult = lookup(kMultiplier, field)) {
      if (list_op) {
        return std::unexpected(
          fmt::format("a list for {}, which vastai fails on", field));
      }
      const std::string number = clean(value);
      double x = 0;
      auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), x);
      if (ec != std::errc() || end != number.data() + number.size()) {
        return std::unexpected(fmt::format(
          "the value '{}' of {}, which vastai rejects", number, field));
      }
      v[std::string(*op_name)] = x * *mult;
    } else if (list_op) {
      ojson items = ojson::array();
      for (const auto& item : list) {
        items.push_back(clean(item));
      }
      v[std::string(*op_name)] = std::move(items);
    } else {
      const std::string s = clean(value);
      if (s == "true" || s == "True") {
        v[std::string(*op_name)] = true;
      } else if (s == "false" || s == "False") {
        v[std::string(*op_name)] = false;
      } else if (s == "None" || s == "null") {
        v[std::string(*op_name)] = nullptr;
      } else {
        v[std::string(*op_name)] = s;
      }
    }
    if (!res.contains(field)) {
      res[field] = std::move(v);
    } else {
      for (const auto& [k, x] : v.items()) {
        res[field][k] = x;
      }
    }
  }
  return warnings;
}

std::expected<OffersQuery, std::string> offers_query(
  std::span<const std::string> words,
  Defaults defaults,
  const std::string& order,
  const std::string& type,
  std::optional<long> limit,
  double storage,
  bool disable_bundling) {
  OffersQuery out;
  ojson& q = out.query;
  q = ojson::object();
  if (defaults == Defaults::yes) {
    q["verified"] = { { "eq", true } };
    q["external"] = { { "eq", false } };
    q["rentable"] = { { "eq", true } };
    q["rented"] = { { "eq", false } };
  }
  auto warnings = parse_query(words, q);
  if (!warnings) {
    return std::unexpected(warnings.error());
  }
  out.warnings = std::move(*warnings);
  ojson sort = ojson::array();
  std::string_view rest = order;
  while (true) {
    auto comma = rest.find(',');
    auto name = strip(rest.substr(0, comma), " \t\n\r\v\f");
    if (!name.empty()) {
      std::string direction = "asc";
      std::string field(name);
      if (strip(name, "-") != name) {
        direction = "desc";
        field = std::string(strip(name, "-"));
      }
      if (strip(name, "+") != name) {
        direction = "asc";
        field = std::string(strip(name, "+"));
      }
      if (auto alias = lookup(kAlias, field)) {
        field = std::string(*alias);
      }
      sort.push_back({ field, direction });
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  q["order"] = std::move(sort);
  q["type"] = type;
  if (limit && *limit != 0) {
    q["limit"] = *limit;
  }
  q["allocated_storage"] = storage;
  if (q["type"] == "interruptible") {
    q["type"] = "bid";
  }
  if (disable_bundling) {
    q["disable_bundling"] = true;
  }
  return out;
}

ojson filter_rented(const ojson& rows, const ojson& query) {
  if (!query.contains("rented") || !query["rented"].is_object() ||
      query["rented"].empty()) {
    return rows;
  }
  const auto& filter = query["rented"];
  const std::string op = filter.begin().key();
  const ojson& target = filter.begin().value();
  auto in = [&](const ojson& value) {
    if (!target.is_array()) {
      return false;
    }
    return std::any_of(target.begin(), target.end(), [&](const ojson& t) {
      return py_equal(value, t);
    });
  };
  ojson kept = ojson::array();
  for (const auto& row : rows) {
    ojson rented = false;
    if (row.is_object() && row.contains("rented") && !row["rented"].is_null()) {
      rented = row["rented"];
    }
    if ((op == "eq" && py_equal(rented, target)) ||
        (op == "neq" && !py_equal(rented, target)) ||
        (op == "in" && in(rented)) || (op == "notin" && !in(rented))) {
      kept.push_back(row);
    }
  }
  return kept;
}

} // namespace ipfsacc::sdk::vast
