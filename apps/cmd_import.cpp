// ipfsacc import: entries from `ipfsacc export`, every CID verified.

#include "commands.hpp"
#include "entries.hpp"
#include "stats/stats.hpp"
#include "storage/exchange.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

namespace ipfsacc::app {

namespace {

// Entries and output bytes per write transaction.
constexpr size_t kBatchEntries = 1000;
constexpr size_t kBatchBytes = 64 << 20;

struct ImportOptions {
  std::string file = "-";
};

struct Counts {
  uint64_t imported = 0;
  uint64_t present = 0;
  uint64_t expired = 0;
  uint64_t rejected = 0;
};

} // namespace

Command setup_import(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd = app.add_subcommand(
    "import", "add the entries of an `ipfsacc export` to the cache");
  cmd->add_option("FILE", o->file, "what to read; - for stdin (default)")
    ->type_name("");
  cmd->footer("Every output is checked against its CID: a line that does not "
              "verify is\nrejected (with its line number) and the rest are "
              "imported. Entries already\nin the cache or expired are "
              "skipped. Exit status 1 when a line was rejected.");
  return { cmd, [o](const Config& config) {
            std::FILE* in = stdin;
            if (o->file != "-") {
              in = std::fopen(o->file.c_str(), "re");
              if (!in) {
                return error(fmt::format(
                  "cannot read {}: {}", o->file, std::strerror(errno)));
              }
            }
            auto store = open_cache(config, storage::Access::read_write);
            if (!store) {
              if (in != stdin) {
                std::fclose(in);
              }
              return error(store.error());
            }
            auto& s = **store;
            uint64_t max_size = config.max_size();
            Counts counts;
            std::vector<storage::ExportedEntry> batch;
            size_t batch_bytes = 0;
            std::string failure;
            auto write_batch = [&] {
              if (batch.empty() || !failure.empty()) {
                batch.clear();
                return;
              }
              uint64_t imported = 0;
              uint64_t present = 0;
              auto done = s.write([&](storage::StoreWriter& w) {
                imported = 0;
                present = 0;
                for (const auto& x : batch) {
                  if (w.entry(x.key)) {
                    ++present;
                    continue;
                  }
                  storage::BlobSource blobs[2];
                  blobs[0].digest = x.entry.stdout_digest;
                  blobs[0].size = x.entry.stdout_size;
                  blobs[0].memory = x.out;
                  blobs[1].digest = x.entry.stderr_digest;
                  blobs[1].size = x.entry.stderr_size;
                  blobs[1].memory = x.err;
                  w.put_entry(x.key, x.entry, blobs);
                  ++imported;
                }
                StatsDelta evictions;
                w.evict_to(max_size, [&](const storage::Entry& e) {
                  evictions.add(Statistic::evictions, e.tool, e.operation);
                });
                evictions.write_to(w);
              });
              if (!done) {
                failure = done.error();
              }
              counts.imported += imported;
              counts.present += present;
              batch.clear();
              batch_bytes = 0;
            };

            char* line = nullptr;
            size_t capacity = 0;
            uint64_t number = 0;
            int64_t now = util::now_ms();
            ssize_t length;
            while (failure.empty() &&
                   (length = ::getline(&line, &capacity, in)) >= 0) {
              ++number;
              std::string_view text(line, static_cast<size_t>(length));
              while (!text.empty() &&
                     (text.back() == '\n' || text.back() == '\r')) {
                text.remove_suffix(1);
              }
              if (text.empty()) {
                continue;
              }
              auto parsed = storage::parse_export_line(text);
              if (!parsed) {
                ++counts.rejected;
                fmt::print(stderr,
                           "ipfsacc: import: {}:{}: rejected: {}\n",
                           o->file == "-" ? "stdin" : o->file,
                           number,
                           parsed.error());
                continue;
              }
              if (parsed->entry.expires_ms <= now) {
                ++counts.expired;
                continue;
              }
              batch_bytes += parsed->out.size() + parsed->err.size();
              batch.push_back(std::move(*parsed));
              if (batch.size() >= kBatchEntries || batch_bytes >= kBatchBytes) {
                write_batch();
              }
            }
            bool read_failed = std::ferror(in) != 0;
            std::free(line);
            if (in != stdin) {
              std::fclose(in);
            }
            write_batch();
            fmt::print("Imported {} {}; skipped {} already present, {} "
                       "expired; rejected {} {}.\n",
                       counts.imported,
                       counts.imported == 1 ? "entry" : "entries",
                       counts.present,
                       counts.expired,
                       counts.rejected,
                       counts.rejected == 1 ? "line" : "lines");
            if (!failure.empty()) {
              return error(failure);
            }
            if (read_failed) {
              return error(fmt::format("reading {} failed", o->file));
            }
            return counts.rejected > 0 ? kExitError : kExitOk;
          } };
}

} // namespace ipfsacc::app
