// ipfsacc import: entries from `ipfsacc export`, every CID verified.

#include "commands.hpp"
#include "entries.hpp"
#include "stats/stats.hpp"
#include "storage/exchange.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <thread>

namespace ipfsacc::app {

namespace {

// Entries and output bytes per write transaction. Large transactions write
// each page of LMDB's tables once for many entries: 20,000 entries of 1 KB
// import more than twice as fast as 1,000.
constexpr size_t kBatchEntries = 20000;
constexpr size_t kBatchBytes = 64 << 20;

struct ImportOptions {
  std::string file = "-";
};

using Batch = std::vector<storage::ExportedEntry>;

// What the reading thread counts (rejected, expired) and what the writing
// one counts (imported, present) are separate fields.
struct Counts {
  uint64_t imported = 0;
  uint64_t present = 0;
  uint64_t expired = 0;
  uint64_t rejected = 0;
};

// Parsed entries handed from the reading thread to the writing one; at most
// two batches wait, so memory stays bounded whatever the file's size.
class BatchQueue {
public:
  // Waits for room; false once the consumer has stopped.
  bool push(Batch batch) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || batches_.size() < 2; });
    if (stopped_) {
      return false;
    }
    batches_.push_back(std::move(batch));
    changed_.notify_all();
    return true;
  }
  // The next batch; nullopt when the producer has finished and all are out.
  std::optional<Batch> pop() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return finished_ || !batches_.empty(); });
    if (batches_.empty()) {
      return std::nullopt;
    }
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    changed_.notify_all();
    return batch;
  }
  void finish() {
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> batches_;
  bool finished_ = false;
  bool stopped_ = false;
};

// Reads, parses and verifies every line, reporting rejected ones, and hands
// the entries to queue in batches. Sets read_failed on an I/O error.
void read_batches(std::FILE* in,
                  const std::string& name,
                  BatchQueue& queue,
                  Counts& counts,
                  bool& read_failed) {
  Batch batch;
  size_t batch_bytes = 0;
  char* line = nullptr;
  size_t capacity = 0;
  uint64_t number = 0;
  int64_t now = util::now_ms();
  ssize_t length;
  bool open = true;
  while (open && (length = ::getline(&line, &capacity, in)) >= 0) {
    ++number;
    std::string_view text(line, static_cast<size_t>(length));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
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
                 name == "-" ? "stdin" : name,
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
      open = queue.push(std::move(batch));
      batch = Batch();
      batch_bytes = 0;
    }
  }
  read_failed = std::ferror(in) != 0;
  std::free(line);
  if (open && !batch.empty()) {
    queue.push(std::move(batch));
  }
  queue.finish();
}

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
            std::string failure;
            // Lines are parsed and verified (JSON, base64, SHA-256) on one
            // thread while the batch before is written on this one.
            BatchQueue queue;
            bool read_failed = false;
            std::thread reader(
              [&] { read_batches(in, o->file, queue, counts, read_failed); });
            while (auto batch = queue.pop()) {
              if (!failure.empty()) {
                continue; // Drain, so the reader never blocks.
              }
              uint64_t imported = 0;
              uint64_t present = 0;
              auto done = s.write([&](storage::StoreWriter& w) {
                imported = 0;
                present = 0;
                for (const auto& x : *batch) {
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
                queue.stop();
              }
              counts.imported += imported;
              counts.present += present;
            }
            reader.join();
            if (in != stdin) {
              std::fclose(in);
            }
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
