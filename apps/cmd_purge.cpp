// ipfsacc purge: removes the entries selected, frees the blobs no entry
// uses any more.

#include "commands.hpp"
#include "entries.hpp"
#include "progress_flags.hpp"
#include "remote/remotes.hpp"
#include "stats/stats.hpp"
#include "storage/lock.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace ipfsacc::app {

namespace {

// Deletions per write transaction: small enough that a hit waiting for the
// write lock (to count itself) waits some 40 ms at most, large enough that
// pages shared by several deletions are written once (100,000 deletions:
// 1.4 s of CPU in batches of 2,000, 1.0 s in batches of 5,000).
constexpr size_t kBatch = 4000;

struct PurgeOptions {
  bool all = false;
  Selection selection;
  std::string older_than;
  std::string key;
  std::string max_size;
  bool dry_run = false;
  bool yes = false;
  bool remote = false;
  ProgressWhen progress = ProgressWhen::terminal;
};

struct Plan {
  std::vector<Digest> keys; // candidates, in the order to remove them
  uint64_t entries = 0;     // entries in the cache (for the question)
};

// Finds the candidates in a read transaction, from the cheapest index that
// answers. The write transactions check each one again: an entry replaced
// in between by a fresh one that no longer matches stays.
Plan make_plan(storage::StoreReader& r,
               const PurgeOptions& o,
               const std::optional<Digest>& key,
               int64_t now) {
  Plan plan;
  plan.entries = r.table_sizes().entries;
  const auto& sel = o.selection;
  if (key) {
    plan.keys.push_back(*key);
  } else if (!o.max_size.empty()) {
    // Least recently used first, as automatic eviction does.
    r.for_each_by_last_use(storage::Order::oldest_first,
                           [&](const Digest& k, int64_t) {
                             plan.keys.push_back(k);
                             return true;
                           });
  } else if (sel.expired && sel.by_expiry_only()) {
    r.for_each_by_expiry([&](const Digest& k, int64_t expires) {
      if (expires > now) {
        return false;
      }
      plan.keys.push_back(k);
      return true;
    });
  } else if (sel.by_expiry_only()) {
    // --all: every key, corrupt records included.
    r.for_each_key(Digest{}, [&](const Digest& k) {
      plan.keys.push_back(k);
      return true;
    });
  } else {
    r.for_each_entry([&](const Digest& k, const storage::Entry& e) {
      if (sel.matches(e, now)) {
        plan.keys.push_back(k);
      }
      return true;
    });
  }
  return plan;
}

struct Tally {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  bool done = false; // --max-size reached
};

// Removes the keys that still match, in one transaction. Returns what it
// removed; the writer may run it again (a grown map), so it keeps no state
// (progress is set to first, the number of keys before these, plus the keys
// looked at).
Tally remove_batch(storage::StoreWriter& w,
                   std::span<const Digest> keys,
                   const PurgeOptions& o,
                   std::optional<uint64_t> max_size,
                   int64_t now,
                   util::Progress& progress,
                   size_t first) {
  Tally t;
  StatsDelta evictions;
  for (const auto& key : keys) {
    progress.set(++first);
    if (max_size && static_cast<uint64_t>(std::max<int64_t>(
                      0, w.counter("stored_bytes"))) <= *max_size) {
      t.done = true;
      break;
    }
    bool corrupt = false;
    auto entry = w.entry(key, &corrupt);
    if (!entry && !corrupt) {
      continue; // Gone already.
    }
    if (entry && !o.selection.matches(*entry, now)) {
      continue;
    }
    if (!entry && !o.selection.by_expiry_only()) {
      continue; // A corrupt record goes only with --all or --key.
    }
    if (auto freed = w.remove_entry(key)) {
      ++t.entries;
      t.bytes += *freed;
      if (max_size && entry) {
        evictions.add(Statistic::evictions, entry->tool, entry->operation);
      }
    }
  }
  evictions.write_to(w);
  return t;
}

// Removes (counts, with --dry-run) the files killed calls left in the cache
// directory: no entry holds them, so every purge takes them. Says so when
// there were any.
void purge_leftovers(const Config& config, bool dry_run) {
  auto swept = storage::sweep_leftovers(
    config.cache_dir(), dry_run ? util::Sweep::count : util::Sweep::remove);
  if (swept.files > 0) {
    fmt::print("{} {} {} left by killed calls, {} {}.\n",
               dry_run ? "Would remove" : "Removed",
               swept.files,
               swept.files == 1 ? "file" : "files",
               dry_run ? "freeing" : "freed",
               util::format_size(swept.bytes));
  }
}

// purge --remote: the same selection on each writable remote. --all empties
// a remote of ipfsacc's keys; --expired alone walks the remote's own entries
// (other machines stored most of them) and removes the expired ones, then
// the blobs no entry left uses where the remote keeps blobs until told
// (IPFS); otherwise the selected local entries are removed there too (their
// blobs expire on their own). Returns false when a remote failed. A remote
// that takes long shows its progress: the entries removed out of those
// selected, or how long an operation that reports nothing has taken.
bool purge_remotes(const Config& config,
                   const PurgeOptions& o,
                   bool everything,
                   std::span<const Digest> keys) {
  auto remotes = remote::open_remotes(config.get("remote"),
                                      config.get("remote_trusted_keys"));
  if (!remotes) {
    fmt::print(stderr, "ipfsacc: error: {}\n", remotes.error());
    return false;
  }
  if ((*remotes)->empty()) {
    fmt::print(stderr, "ipfsacc: purge --remote: no remote is configured\n");
    return true;
  }
  bool ok = true;
  for (auto& r : (*remotes)->remotes()) {
    if (r.spec.access == remote::Access::read_only) {
      fmt::print("Remote {}: read-only, left alone.\n", r.label);
      continue;
    }
    bool expired_only = !everything && o.selection.expired &&
                        o.selection.by_expiry_only() && o.key.empty() &&
                        o.older_than.empty();
    if (o.dry_run) {
      fmt::print("Would remove {} from remote {}.\n",
                 everything     ? std::string("every ipfsacc key")
                 : expired_only ? std::string("the expired entries")
                                : fmt::format("{} entries", keys.size()),
                 r.label);
      continue;
    }
    auto* tier = (*remotes)->tier(r);
    uint64_t removed = 0;
    std::optional<remote::Failure> failed;
    auto progress = make_progress(o.progress, DataOnStdout::no);
    std::string label = "Purging remote " + r.label;
    if (!tier) {
      failed = remote::Failure{ remote::Failure::Kind::error, "" };
    } else if (expired_only) {
      progress->stage(util::timed_stage(label + " of its expired entries"));
      auto purged = [&] {
        util::ProgressTicker ticker(*progress);
        return (*remotes)->purge_expired(r, util::now_ms());
      }();
      progress->finish();
      if (purged) {
        fmt::print("Removed {} expired {} and {} unused {} from remote {}.\n",
                   purged->entries,
                   purged->entries == 1 ? "entry" : "entries",
                   purged->blobs,
                   purged->blobs == 1 ? "output" : "outputs",
                   r.label);
        continue;
      }
      failed = purged.error();
    } else if (everything) {
      progress->stage(util::timed_stage(label + " of every ipfsacc key"));
      auto n = [&] {
        util::ProgressTicker ticker(*progress);
        return tier->purge();
      }();
      n ? void(removed = *n) : void(failed = n.error());
    } else {
      progress->stage(util::counted_stage(label, "entries", keys.size()));
      for (const auto& key : keys) {
        auto gone = tier->remove_entry(key);
        if (!gone) {
          failed = gone.error();
          break;
        }
        removed += *gone ? 1 : 0;
        progress->add(1);
        progress->update();
      }
    }
    progress->finish();
    if (failed) {
      for (const auto& warning : (*remotes)->take_warnings()) {
        fmt::print(stderr, "ipfsacc: error: {}\n", warning);
      }
      if (!failed->message.empty()) {
        fmt::print(
          stderr, "ipfsacc: error: remote {}: {}\n", r.label, failed->message);
      }
      ok = false;
      continue;
    }
    fmt::print("Removed {} {} from remote {}.\n",
               removed,
               everything ? "keys" : (removed == 1 ? "entry" : "entries"),
               r.label);
  }
  return ok;
}

// Asks on the terminal; true when the answer is yes.
bool confirm(const std::string& question) {
  fmt::print(stderr, "{} [y/N] ", question);
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    fmt::print(stderr, "\n");
    return false;
  }
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

} // namespace

Command setup_purge(CLI::App& app) {
  auto o = std::make_shared<PurgeOptions>();
  auto* cmd = app.add_subcommand(
    "purge",
    "remove entries: all, expired, by tool, command, age or key, or the "
    "least recently used until under a size");
  cmd->add_flag("--all", o->all, "every entry (asks first on a terminal)");
  cmd->add_flag("--expired", o->selection.expired, "expired entries");
  cmd->add_option("--tool", o->selection.tool, "entries of this tool")
    ->type_name("TOOL");
  cmd
    ->add_option("--match",
                 o->selection.glob,
                 "entries whose command matches this glob (e.g. 'gh pr *')")
    ->type_name("GLOB");
  cmd
    ->add_option("--older-than",
                 o->older_than,
                 "entries created longer ago than this (30m, 12h, 7d)")
    ->type_name("DURATION");
  cmd
    ->add_option(
      "--key", o->key, "the entry with this key CID (or a unique prefix)")
    ->type_name("KEY");
  cmd
    ->add_option("--max-size",
                 o->max_size,
                 "remove least recently used entries until the cache holds "
                 "at most this much (500M, 1G)")
    ->type_name("SIZE");
  cmd->add_flag(
    "-n,--dry-run", o->dry_run, "say what would be removed, remove nothing");
  cmd->add_flag("-y,--yes", o->yes, "do not ask before --all");
  cmd->add_flag("--remote",
                o->remote,
                "the same on each writable remote (--all: every ipfsacc key "
                "there; --expired alone: the remote's own expired entries; "
                "otherwise the entries selected here)");
  add_progress_flags(cmd, o->progress);
  cmd->footer(
    "Conditions combine: every one given must hold (--tool gh --expired "
    "removes\nexpired gh entries). Blobs no entry uses any more are freed. "
    "Calls running\nmeanwhile keep working: each batch of removals is one "
    "transaction. On a\nterminal, a purge that takes longer than a second "
    "shows its progress on stderr.");
  return {
    cmd,
    [o](const Config& config) {
      if (!o->all && !o->selection.expired && o->selection.tool.empty() &&
          o->selection.glob.empty() && o->older_than.empty() &&
          o->key.empty() && o->max_size.empty()) {
        return usage_error(
          "purge: say what to remove: --all, --expired, --tool, "
          "--match, --older-than, --key or --max-size (see ipfsacc "
          "purge --help)");
      }
      if (!o->older_than.empty()) {
        auto d = util::parse_duration(o->older_than);
        if (!d) {
          return usage_error("purge: --older-than: " + d.error());
        }
        o->selection.older_than = *d;
      }
      std::optional<uint64_t> max_size;
      if (!o->max_size.empty()) {
        auto size = util::parse_size(o->max_size);
        if (!size) {
          return usage_error("purge: --max-size: " + size.error());
        }
        max_size = *size;
      }
      if (o->remote && max_size) {
        return usage_error(
          "purge: --remote does not go with --max-size (a remote "
          "keeps its own size)");
      }
      bool ask = o->all && !o->yes && !o->dry_run;
      if (ask && ::isatty(STDIN_FILENO) != 1) {
        return usage_error(
          "purge --all: stdin is not a terminal to ask on; add --yes");
      }

      if (!cache_exists(config)) {
        fmt::print("Nothing to remove: the cache is empty.\n");
        purge_leftovers(config, o->dry_run);
        if (o->remote && (o->all || o->selection.expired) &&
            !purge_remotes(config, *o, o->all, {})) {
          return kExitError;
        }
        return kExitOk;
      }
      auto store = open_cache(config, storage::Access::read_write);
      if (!store) {
        return error(store.error());
      }
      auto& s = **store;

      int64_t now = util::now_ms();
      Plan plan;
      std::string problem;
      auto read = s.read([&](storage::StoreReader& r) {
        std::optional<Digest> key;
        if (!o->key.empty()) {
          auto found = resolve_key(r, o->key);
          if (!found) {
            problem = found.error();
            return;
          }
          key = *found;
        }
        plan = make_plan(r, *o, key, now);
      });
      if (!read) {
        return error(read.error());
      }
      if (!problem.empty()) {
        return error(problem);
      }
      bool only_all = o->selection.by_expiry_only() && !o->selection.expired &&
                      o->key.empty() && !max_size;
      auto question = only_all
                        ? fmt::format("Remove all {} entries from {}?",
                                      plan.entries,
                                      config.cache_dir().string())
                        : fmt::format("Remove the entries selected from {}?",
                                      config.cache_dir().string());
      if (ask && !confirm(question)) {
        fmt::print(stderr, "ipfsacc: purge: nothing removed\n");
        return kExitError;
      }

      Tally total;
      std::span<const Digest> keys = plan.keys;
      auto progress = make_progress(o->progress, DataOnStdout::no);
      // --max-size stops once the cache is small enough: how many
      // keys that takes is not known.
      progress->stage(util::counted_stage(o->dry_run ? "Checking" : "Removing",
                                          "entries",
                                          max_size ? 0 : keys.size()));
      if (o->dry_run) {
        // The real removals, in one transaction that is thrown away.
        auto done = s.write(
          [&](storage::StoreWriter& w) {
            total = remove_batch(w, keys, *o, max_size, now, *progress, 0);
          },
          storage::Commit::no);
        if (!done) {
          progress->finish();
          return error(done.error());
        }
      }
      for (size_t i = 0; !o->dry_run && !total.done && i < keys.size();
           i += kBatch) {
        Tally batch;
        auto done = s.write([&](storage::StoreWriter& w) {
          batch =
            remove_batch(w,
                         keys.subspan(i, std::min(kBatch, keys.size() - i)),
                         *o,
                         max_size,
                         now,
                         *progress,
                         i);
        });
        if (!done) {
          progress->finish();
          fmt::print(stderr,
                     "ipfsacc: error: {} (removed {} entries before)\n",
                     done.error(),
                     total.entries);
          return kExitError;
        }
        total.entries += batch.entries;
        total.bytes += batch.bytes;
        total.done = batch.done;
      }
      progress->finish();
      fmt::print("{} {} {}, {} {}.\n",
                 o->dry_run ? "Would remove" : "Removed",
                 total.entries,
                 total.entries == 1 ? "entry" : "entries",
                 o->dry_run ? "freeing" : "freed",
                 util::format_size(total.bytes));
      purge_leftovers(config, o->dry_run);
      if (o->remote) {
        bool everything = only_all && o->all;
        if (!purge_remotes(config, *o, everything, plan.keys)) {
          return kExitError;
        }
      }
      return kExitOk;
    }
  };
}

} // namespace ipfsacc::app
