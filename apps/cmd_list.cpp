// ipfsacc list: one line per cached entry, newest use first, or sorted.

#include "commands.hpp"
#include "entries.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace ipfsacc::app {

namespace {

struct ListOptions {
  Selection selection;
  std::string older_than;
  size_t limit = 0;
  std::string sort;
  bool json = false;
};

struct Row {
  Digest key{};
  storage::Entry entry;
};

// The value a --sort orders by, largest first.
int64_t sort_value(const std::string& sort,
                   const storage::Entry& e,
                   int64_t now) {
  if (sort == "size") {
    return static_cast<int64_t>(e.stdout_size + e.stderr_size);
  }
  if (sort == "hits") {
    return static_cast<int64_t>(e.hits);
  }
  return now - e.created_ms; // age: oldest first
}

// Collects the rows to show. Without --sort the indexes give the order and
// the walk stops at --limit: most recently used first (with --expired, the
// longest expired first). With --sort every entry is read.
std::vector<Row> collect(storage::StoreReader& r,
                         const ListOptions& o,
                         int64_t now) {
  std::vector<Row> rows;
  size_t limit = o.limit == 0 ? SIZE_MAX : o.limit;
  auto take = [&](const Digest& key) {
    auto entry = r.entry(key);
    if (entry && o.selection.matches(*entry, now)) {
      rows.push_back({ key, std::move(*entry) });
    }
    return rows.size() < limit;
  };
  if (!o.sort.empty()) {
    std::vector<std::pair<int64_t, Digest>> order;
    r.for_each_entry([&](const Digest& key, const storage::Entry& e) {
      if (o.selection.matches(e, now)) {
        order.emplace_back(sort_value(o.sort, e, now), key);
      }
      return true;
    });
    auto by_value = [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    size_t n = std::min(limit, order.size());
    std::partial_sort(order.begin(), order.begin() + n, order.end(), by_value);
    order.resize(n);
    for (const auto& [value, key] : order) {
      take(key);
    }
  } else if (o.selection.expired) {
    r.for_each_by_expiry([&](const Digest& key, int64_t expires) {
      return expires <= now && take(key);
    });
  } else {
    r.for_each_by_last_use(
      storage::Order::newest_first,
      [&](const Digest& key, int64_t) { return take(key); });
  }
  return rows;
}

void print_text(const std::vector<Row>& rows, int64_t now) {
  if (rows.empty()) {
    return;
  }
  fmt::print("{:<59}  {:<8} {:>8} {:>8} {:>9} {:>5}  {}\n",
             "KEY",
             "TOOL",
             "AGE",
             "TTL",
             "SIZE",
             "HITS",
             "COMMAND");
  std::string out;
  for (const auto& [key, e] : rows) {
    out += fmt::format("{:<59}  {:<8} {:>8} {:>8} {:>9} {:>5}  {}\n",
                       cid_string(key),
                       e.tool,
                       util::format_duration(util::Millis(
                         std::max<int64_t>(0, now - e.created_ms))),
                       format_ttl_left(e.expires_ms - now),
                       util::format_size(e.stdout_size + e.stderr_size),
                       e.hits,
                       shown_command(e));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

} // namespace

Command setup_list(CLI::App& app) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand(
    "list",
    "list cached entries: key, tool, age, time left, size, hits, command");
  cmd->add_option("--tool", o->selection.tool, "only entries of this tool")
    ->type_name("TOOL");
  cmd
    ->add_option("--match",
                 o->selection.glob,
                 "only entries whose command matches this glob "
                 "(e.g. 'gh pr *')")
    ->type_name("GLOB");
  cmd->add_flag("--expired", o->selection.expired, "only expired entries");
  cmd
    ->add_option("--older-than",
                 o->older_than,
                 "only entries created longer ago than this (30m, 7d)")
    ->type_name("DURATION");
  cmd->add_option("--limit", o->limit, "show at most N entries")
    ->type_name("N");
  cmd
    ->add_option("--sort",
                 o->sort,
                 "age (oldest first), size (largest first) or hits (most "
                 "first); default: most recently used first")
    ->check(CLI::IsMember({ "age", "size", "hits" }))
    ->type_name("ORDER");
  cmd->add_flag("--json", o->json, "a JSON array of entries");
  cmd->footer("Commands are shown with secrets (tokens, passwords, "
              "credential headers) redacted.");
  return { cmd, [o](const Config& config) {
            if (!o->older_than.empty()) {
              auto d = util::parse_duration(o->older_than);
              if (!d) {
                return usage_error("list: --older-than: " + d.error());
              }
              o->selection.older_than = *d;
            }
            auto store = open_cache(config, storage::Access::read_only);
            if (!store) {
              return error(store.error());
            }
            std::vector<Row> rows;
            int64_t now = util::now_ms();
            if (*store) {
              auto read = (*store)->read(
                [&](storage::StoreReader& r) { rows = collect(r, *o, now); });
              if (!read) {
                return error(read.error());
              }
            }
            if (o->json) {
              // One entry per line: readable, and easy for grep and jq.
              std::string out = "[";
              for (const auto& [key, e] : rows) {
                out += out.size() == 1 ? "\n" : ",\n";
                out +=
                  entry_json(key, e, now)
                    .dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace);
              }
              out += "\n]\n";
              std::fwrite(out.data(), 1, out.size(), stdout);
            } else {
              print_text(rows, now);
            }
            return kExitOk;
          } };
}

} // namespace ipfsacc::app
