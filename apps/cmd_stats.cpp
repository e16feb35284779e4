// ipfsacc stats: counters and sizes, as a table, JSON or Prometheus text.

#include "commands.hpp"
#include "remote/remotes.hpp"
#include "stats/stats.hpp"
#include "storage/lock.hpp"
#include "storage/store.hpp"
#include "util/duration.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ipfsacc::app {

namespace {

using json = nlohmann::json;

struct StatsOptions {
  std::string tool;
  std::string format = "text";
  bool zero = false;
};

// The numbers of one scope ("" for all, "@gh", "@gh/pr-list").
json numbers(const std::map<std::string, int64_t>& counters,
             const std::string& suffix,
             bool with_sizes) {
  auto get = [&](std::string_view name) -> int64_t {
    auto it = counters.find(fmt::format("{}{}", name, suffix));
    return it == counters.end() ? 0 : std::max<int64_t>(0, it->second);
  };
  json j = json::object();
  if (with_sizes) {
    j["entries"] = get("entries");
    j["logical_bytes"] = get("logical_bytes");
  }
  for (const auto& info : statistics()) {
    j[std::string(info.name)] = get(info.name);
  }
  j["cost_saved_usd"] = static_cast<double>(get("cost_saved_micro_usd")) / 1e6;
  int64_t lookups = get("hits") + get("misses");
  j["hit_rate"] =
    lookups == 0 ? 0.0 : static_cast<double>(get("hits")) / lookups;
  return j;
}

// The counters of each remote ("remote.hits.redis://cache:6379"), by the
// remote's label.
json remote_numbers(const std::map<std::string, int64_t>& counters) {
  json remotes = json::object();
  for (const auto& [key, value] : counters) {
    if (!key.starts_with("remote.")) {
      continue;
    }
    auto rest = std::string_view(key).substr(7);
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) {
      continue;
    }
    std::string label(rest.substr(dot + 1));
    if (!remotes.contains(label)) {
      json zero = json::object();
      for (auto name : remote::remote_stat_names()) {
        zero[std::string(name)] = 0;
      }
      remotes[label] = std::move(zero);
    }
    remotes[label][std::string(rest.substr(0, dot))] =
      std::max<int64_t>(0, value);
  }
  return remotes;
}

json collect(storage::StoreReader& reader,
             const storage::Store& store,
             const std::string& only_tool) {
  auto counters = reader.counters();
  json doc = numbers(counters, "", true);
  doc["bytes"] = store.disk_usage();
  // stored_bytes: the outputs (each once) and records as written, before
  // compression; packed_bytes: what they take as stored (zstd frames where
  // that paid).
  int64_t stored = std::max<int64_t>(0, reader.counter("stored_bytes"));
  int64_t packed = std::clamp<int64_t>(
    stored - reader.counter("packed_saved_bytes"), 0, stored);
  doc["stored_bytes"] = stored;
  doc["packed_bytes"] = packed;
  doc["compression_ratio"] =
    packed == 0 ? 1.0
                : static_cast<double>(stored) / static_cast<double>(packed);
  json tools = json::object();
  std::map<std::string, std::set<std::string>> operations;
  for (const auto& [key, value] : counters) {
    auto at = key.find('@');
    if (at == std::string::npos) {
      continue;
    }
    auto scope = key.substr(at + 1);
    auto slash = scope.find('/');
    auto tool = scope.substr(0, slash);
    if (!only_tool.empty() && tool != only_tool) {
      continue;
    }
    operations[tool];
    if (slash != std::string::npos) {
      operations[tool].insert(scope.substr(slash + 1));
    }
  }
  for (const auto& [tool, ops] : operations) {
    json t = numbers(counters, "@" + tool, true);
    t["bytes"] = t["logical_bytes"];
    json o = json::object();
    for (const auto& op : ops) {
      o[op] = numbers(counters, fmt::format("@{}/{}", tool, op), false);
    }
    t["operations"] = std::move(o);
    tools[tool] = std::move(t);
  }
  doc["tools"] = std::move(tools);
  doc["remotes"] = remote_numbers(counters);
  // Files killed calls left behind (purge and doctor remove them).
  auto left = storage::sweep_leftovers(store.dir(), util::Sweep::count);
  doc["leftover_files"] = left.files;
  doc["leftover_bytes"] = left.bytes;
  return doc;
}

void print_text(const json& doc) {
  auto row = [](std::string_view name, const json& j) {
    fmt::print(
      "{:<28} {:>8} {:>8} {:>8} {:>7.1f}% {:>9} {:>10}\n",
      name,
      // Entries are counted per tool, not per operation.
      j.contains("entries") ? std::to_string(j["entries"].get<int64_t>())
                            : std::string("-"),
      j["hits"].get<int64_t>(),
      j["misses"].get<int64_t>(),
      j["hit_rate"].get<double>() * 100,
      j["bypasses"].get<int64_t>(),
      util::format_duration(util::Millis(j["time_saved_ms"].get<int64_t>())));
  };
  fmt::print("{:<28} {:>8} {:>8} {:>8} {:>8} {:>9} {:>10}\n",
             "",
             "entries",
             "hits",
             "misses",
             "hit rate",
             "bypasses",
             "saved");
  row("all tools", doc);
  for (const auto& [tool, t] : doc["tools"].items()) {
    row("  " + tool, t);
    for (const auto& [op, o] : t["operations"].items()) {
      row("    " + op, o);
    }
  }
  fmt::print("\n");
  fmt::print("Cache size on disk     {}\n",
             util::format_size(doc["bytes"].get<uint64_t>()));
  fmt::print("Stored outputs         {} (before dedup: {})\n",
             util::format_size(doc["stored_bytes"].get<uint64_t>()),
             util::format_size(doc["logical_bytes"].get<uint64_t>()));
  // Known for the whole cache, not per tool.
  if (doc.contains("packed_bytes")) {
    fmt::print("  as stored (zstd)     {} ({:.1f}x smaller)\n",
               util::format_size(doc["packed_bytes"].get<uint64_t>()),
               doc["compression_ratio"].get<double>());
  }
  fmt::print("Errors                 {}\n", doc["errors"].get<int64_t>());
  fmt::print("Evictions              {}\n", doc["evictions"].get<int64_t>());
  if (doc.value("leftover_files", uint64_t{ 0 }) > 0) {
    fmt::print("Left by killed calls   {} {} ({}; purge removes them)\n",
               doc["leftover_files"].get<uint64_t>(),
               doc["leftover_files"].get<uint64_t>() == 1 ? "file" : "files",
               util::format_size(doc["leftover_bytes"].get<uint64_t>()));
  }
  // LLM tools: what the hits did not spend.
  auto tokens = [](const json& j) {
    double usd = j["cost_saved_usd"].get<double>();
    return fmt::format(
      "{} in, {} out, {}",
      j["input_tokens_saved"].get<int64_t>(),
      j["output_tokens_saved"].get<int64_t>(),
      usd == 0    ? std::string("cost unknown (no price.MODEL in the config)")
      : usd < 1.0 ? fmt::format("${:.6f}", usd)
                  : fmt::format("${:.2f}", usd));
  };
  auto spent = [](const json& j) {
    return j["input_tokens_saved"].get<int64_t>() +
             j["output_tokens_saved"].get<int64_t>() +
             j["cost_saved_micro_usd"].get<int64_t>() >
           0;
  };
  if (spent(doc)) {
    fmt::print("Tokens saved           {}\n", tokens(doc));
    for (const auto& [tool, t] : doc["tools"].items()) {
      if (spent(t)) {
        fmt::print("  {:<20} {}\n", tool, tokens(t));
      }
    }
  }
  if (!doc.contains("remotes") || doc["remotes"].empty()) {
    return;
  }
  fmt::print("\n{:<32} {:>7} {:>7} {:>6} {:>8} {:>10} {:>10} {:>5}\n",
             "remote",
             "hits",
             "misses",
             "errors",
             "timeouts",
             "sent",
             "received",
             "down");
  for (const auto& [label, r] : doc["remotes"].items()) {
    fmt::print("{:<32} {:>7} {:>7} {:>6} {:>8} {:>10} {:>10} {:>5}\n",
               label,
               r["hits"].get<int64_t>(),
               r["misses"].get<int64_t>(),
               r["errors"].get<int64_t>(),
               r["timeouts"].get<int64_t>(),
               util::format_size(r["bytes_sent"].get<uint64_t>()),
               util::format_size(r["bytes_received"].get<uint64_t>()),
               r["down"].get<int64_t>());
  }
}

void print_prometheus(const json& doc) {
  auto metric =
    [](std::string_view name, std::string_view help, std::string_view type) {
      fmt::print(
        "# HELP ipfsacc_{} {}\n# TYPE ipfsacc_{} {}\n", name, help, name, type);
    };
  metric("entries", "Entries in the cache.", "gauge");
  fmt::print("ipfsacc_entries {}\n", doc["entries"].get<int64_t>());
  metric("disk_bytes", "Size of the cache on disk.", "gauge");
  fmt::print("ipfsacc_disk_bytes {}\n", doc["bytes"].get<uint64_t>());
  for (const auto& info : statistics()) {
    auto name = fmt::format("{}_total", info.name);
    metric(name, info.description, "counter");
    fmt::print(
      "ipfsacc_{} {}\n", name, doc[std::string(info.name)].get<int64_t>());
    for (const auto& [tool, t] : doc["tools"].items()) {
      fmt::print("ipfsacc_{}{{tool=\"{}\"}} {}\n",
                 name,
                 tool,
                 t[std::string(info.name)].get<int64_t>());
    }
  }
  if (!doc.contains("remotes")) {
    return;
  }
  for (auto stat : remote::remote_stat_names()) {
    auto name = fmt::format("remote_{}_total", stat);
    metric(name,
           stat == "down" ? "Times a remote was marked down for a process."
                          : fmt::format("Remote tier {}.", stat),
           "counter");
    for (const auto& [label, r] : doc["remotes"].items()) {
      fmt::print("ipfsacc_{}{{remote=\"{}\"}} {}\n",
                 name,
                 label,
                 r[std::string(stat)].get<int64_t>());
    }
  }
}

} // namespace

Command setup_stats(CLI::App& app) {
  auto options = std::make_shared<StatsOptions>();
  auto* cmd =
    app.add_subcommand("stats", "show hits, misses, sizes and time saved");
  cmd->add_option("--tool", options->tool, "only this tool");
  cmd->add_option("--format", options->format, "text, json or prometheus")
    ->check(CLI::IsMember({ "text", "json", "prometheus" }));
  cmd->add_flag("--zero", options->zero, "reset the counters (entries stay)");
  return {
    cmd,
    [options](const Config& config) {
      auto store =
        storage::Store::open(config.cache_dir(),
                             options->zero ? storage::Access::read_write
                                           : storage::Access::read_only);
      if (!store && options->zero) {
        fmt::print(stderr, "ipfsacc: error: {}\n", store.error());
        return 1;
      }
      if (!store) {
        // No cache yet is not an error: everything is zero.
        std::error_code ec;
        if (std::filesystem::exists(config.cache_dir() / "data.mdb", ec)) {
          fmt::print(stderr, "ipfsacc: error: {}\n", store.error());
          return 1;
        }
      }
      if (options->zero) {
        auto done = (*store)->write([&](storage::StoreWriter& w) {
          // Sizes describe the entries, which stay: only events reset.
          constexpr std::string_view kKept[] = {
            "entries", "logical_bytes", "stored_bytes", "packed_saved_bytes"
          };
          for (const auto& [key, value] : w.counters()) {
            bool event = std::none_of(
              std::begin(kKept), std::end(kKept), [&](std::string_view kept) {
                return key.starts_with(kept);
              });
            if (event) {
              w.set_counter(key, 0);
            }
          }
        });
        if (!done) {
          fmt::print(stderr, "ipfsacc: error: {}\n", done.error());
          return 1;
        }
        fmt::print("Statistics zeroed.\n");
        return 0;
      }
      json doc;
      if (store) {
        auto read = (*store)->read([&](storage::StoreReader& r) {
          doc = collect(r, **store, options->tool);
        });
        if (!read) {
          fmt::print(stderr, "ipfsacc: error: {}\n", read.error());
          return 1;
        }
      } else {
        std::map<std::string, int64_t> none;
        doc = numbers(none, "", true);
        doc["bytes"] = 0;
        doc["stored_bytes"] = 0;
        doc["packed_bytes"] = 0;
        doc["compression_ratio"] = 1.0;
        doc["tools"] = json::object();
        doc["remotes"] = json::object();
        auto left =
          storage::sweep_leftovers(config.cache_dir(), util::Sweep::count);
        doc["leftover_files"] = left.files;
        doc["leftover_bytes"] = left.bytes;
      }
      if (!options->tool.empty()) {
        auto tools = doc["tools"];
        json t = tools.contains(options->tool) ? tools[options->tool]
                                               : numbers({}, "", true);
        t["tools"] = json::object();
        if (tools.contains(options->tool)) {
          t["tools"][options->tool] = tools[options->tool];
        }
        t["bytes"] = t.value("logical_bytes", int64_t{ 0 });
        t["stored_bytes"] = t["bytes"];
        doc = t;
      }
      if (options->format == "json") {
        // A tool or rule name from `ipfsacc run` is the command's
        // file name, which may not be UTF-8.
        auto text = doc.dump(2, ' ', false, json::error_handler_t::replace);
        fmt::print("{}\n", text);
      } else if (options->format == "prometheus") {
        print_prometheus(doc);
      } else {
        print_text(doc);
      }
      return 0;
    }
  };
}

} // namespace ipfsacc::app
