// ipfsacc import: entries from `ipfsacc export`, every CID verified.

#include "commands.hpp"
#include "entries.hpp"
#include "stats/stats.hpp"
#include "storage/car.hpp"
#include "storage/exchange.hpp"

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace ipfsacc::app {

namespace {

// Entries and output bytes per batch handed from the reading thread to the
// writing one: small, so that both threads are busy from the start.
constexpr size_t kBatchEntries = 1000;
constexpr size_t kBatchBytes = 4 << 20;

// Output bytes per write transaction. Keys are content hashes, so every
// transaction dirties pages all over LMDB's tables and its commit writes
// them again: the fewer commits, the less is written (100,000 entries of
// 1 KB in transactions of 20,000 wrote three times their size). The write
// lock is held while a transaction is open, so it is also bounded in time
// for the other processes waiting to store.
constexpr size_t kTransactionBytes = 96 << 20;
constexpr int64_t kTransactionMillis = 1000;

struct ImportOptions {
  std::string file = "-";
};

using Batch = std::vector<storage::ExportedEntry>;

// The output bytes a batch carries.
size_t payload_bytes(const Batch& batch) {
  size_t bytes = 0;
  for (const auto& x : batch) {
    bytes += x.out.size() + x.err.size();
  }
  return bytes;
}

// What the reading thread counts (rejected, expired) and what the writing
// one counts (imported, present) are separate fields.
struct Counts {
  uint64_t imported = 0;
  uint64_t present = 0;
  uint64_t expired = 0;
  uint64_t rejected = 0;
};

// Parsed entries handed from the reading thread to the writing one; at most
// kQueuedBatches wait, so memory stays bounded whatever the file's size.
class BatchQueue {
public:
  static constexpr size_t kQueuedBatches = 8;

  // Waits for room; false once the consumer has stopped.
  bool push(Batch batch) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock,
                  [&] { return stopped_ || batches_.size() < kQueuedBatches; });
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

// Reads a CARv1 archive (`ipfsacc export --format car`): every block is
// verified against its CID, each entry block is decoded and paired with its
// output blocks, and the entries go to queue in batches. A bad block or an
// entry whose outputs are missing is rejected and counted; a malformed
// archive (bad header, truncated) is rejected as a whole.
void read_car_batches(std::FILE* in,
                      const std::string& name,
                      BatchQueue& queue,
                      Counts& counts,
                      bool& read_failed) {
  std::string archive;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) {
    archive.append(buffer, n);
  }
  read_failed = std::ferror(in) != 0;
  auto shown = name == "-" ? std::string("stdin") : name;
  auto reject = [&](std::string_view why) {
    ++counts.rejected;
    fmt::print(stderr, "ipfsacc: import: {}: rejected: {}\n", shown, why);
  };
  auto contents = storage::read_car(std::span(
    reinterpret_cast<const uint8_t*>(archive.data()), archive.size()));
  if (!contents) {
    reject(contents.error());
    queue.finish();
    return;
  }
  for (const auto& why : contents->rejected) {
    reject(why);
  }
  std::map<Digest, std::span<const uint8_t>> outputs;
  for (const auto& block : contents->blocks) {
    if (block.id.codec == storage::kCodecRaw) {
      outputs[block.id.digest] = block.data;
    }
  }
  auto output = [&](const Digest& digest,
                    uint64_t size) -> std::optional<std::string> {
    if (size == 0 && digest == empty_digest()) {
      return std::string();
    }
    auto it = outputs.find(digest);
    if (it == outputs.end() || it->second.size() != size) {
      return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(it->second.data()),
                       it->second.size());
  };
  int64_t now = util::now_ms();
  Batch batch;
  size_t batch_bytes = 0;
  bool open = true;
  for (const auto& block : contents->blocks) {
    if (!open) {
      break;
    }
    if (block.id.codec != storage::kCodecDagCbor) {
      continue;
    }
    auto decoded = storage::decode_car_entry(std::string_view(
      reinterpret_cast<const char*>(block.data.data()), block.data.size()));
    if (!decoded) {
      reject(fmt::format("block {}: {}", block.id.text(), decoded.error()));
      continue;
    }
    const auto& e = decoded->entry;
    auto out = output(e.stdout_digest, e.stdout_size);
    auto err = output(e.stderr_digest, e.stderr_size);
    if (!out || !err) {
      reject(fmt::format("entry {}: its {} block is missing or rejected",
                         cid_string(decoded->key),
                         out ? "stderr" : "stdout"));
      continue;
    }
    if (e.expires_ms <= now) {
      ++counts.expired;
      continue;
    }
    batch_bytes += out->size() + err->size();
    batch.push_back({ decoded->key,
                      std::move(decoded->entry),
                      std::move(*out),
                      std::move(*err) });
    if (batch.size() >= kBatchEntries || batch_bytes >= kBatchBytes) {
      open = queue.push(std::move(batch));
      batch = Batch();
      batch_bytes = 0;
    }
  }
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
  cmd->footer("Reads JSON Lines or a CAR archive (`export --format car`). "
              "Every output is\nchecked against its CID: a line (or block) "
              "that does not verify is rejected\n(with its line number, or "
              "its CID) and the rest are imported. Entries already\nin the "
              "cache or expired are skipped. Exit status 1 when something was "
              "rejected.");
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
            // A CAR archive starts with a varint, JSON Lines with '{'.
            int first = std::getc(in);
            if (first != EOF) {
              std::ungetc(first, in);
            }
            bool car = first != EOF && first != '{' && !std::isspace(first);
            std::thread reader([&] {
              if (car) {
                read_car_batches(in, o->file, queue, counts, read_failed);
              } else {
                read_batches(in, o->file, queue, counts, read_failed);
              }
            });
            // Each transaction writes batches as they come until it holds
            // kTransactionBytes or has been open kTransactionMillis. The
            // batches it wrote are kept until it commits: a transaction that
            // has to grow the map runs again from its first batch.
            std::vector<Batch> written;
            bool finished = false;
            while (!finished && failure.empty()) {
              written.clear();
              uint64_t imported = 0;
              uint64_t present = 0;
              auto done = s.write([&](storage::StoreWriter& w) {
                imported = 0;
                present = 0;
                auto put = [&](const Batch& batch) {
                  for (const auto& x : batch) {
                    storage::BlobSource blobs[2];
                    blobs[0].digest = x.entry.stdout_digest;
                    blobs[0].size = x.entry.stdout_size;
                    blobs[0].memory = x.out;
                    blobs[1].digest = x.entry.stderr_digest;
                    blobs[1].size = x.entry.stderr_size;
                    blobs[1].memory = x.err;
                    if (w.add_entry(x.key, x.entry, blobs)) {
                      ++imported;
                    } else {
                      ++present;
                    }
                  }
                };
                size_t bytes = 0;
                for (const auto& batch : written) {
                  put(batch);
                  bytes += payload_bytes(batch);
                }
                int64_t opened = util::steady_ms();
                while (bytes < kTransactionBytes &&
                       util::steady_ms() - opened < kTransactionMillis) {
                  auto batch = queue.pop();
                  if (!batch) {
                    finished = true;
                    break;
                  }
                  // Kept before it is written: a write that throws (the
                  // map is full) runs the transaction again with it.
                  written.push_back(std::move(*batch));
                  put(written.back());
                  bytes += payload_bytes(written.back());
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
                // Drains, so the reader never blocks.
                while (queue.pop()) {
                }
                break;
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
                       car                    ? "(blocks or entries)"
                       : counts.rejected == 1 ? "line"
                                              : "lines");
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
