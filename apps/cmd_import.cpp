// ipfsacc import: entries from `ipfsacc export`, every CID verified, every
// signature checked against remote_trusted_keys, no entry kept longer than
// this machine would keep it.

#include "commands.hpp"
#include "core/lifetime.hpp"
#include "entries.hpp"
#include "progress_flags.hpp"
#include "secrets/signing.hpp"
#include "stats/stats.hpp"
#include "storage/car.hpp"
#include "storage/exchange.hpp"

#include <algorithm>
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
#include <sys/stat.h>
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
  ProgressWhen progress = ProgressWhen::terminal;
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

// What the reading thread counts (rejected, expired, capped) and what the
// writing one counts (imported, present) are separate fields.
struct Counts {
  uint64_t imported = 0;
  uint64_t present = 0;
  uint64_t expired = 0;
  uint64_t rejected = 0;
  // Of the rejected, those refused for their signature, by kind.
  uint64_t unsigned_entries = 0;
  uint64_t untrusted = 0;
  uint64_t changed = 0;
  // Entries whose expiry was brought down to this machine's lifetime.
  uint64_t capped = 0;
};

// What an entry read back must pass before it is stored.
struct Admission {
  // remote_trusted_keys: when not empty, only entries signed by one of
  // these keys come in.
  std::vector<secrets::PublicKey> trusted;
  RuleLifetimes lifetimes;
  int64_t now = 0;
};

enum class Verdict { store, expired, rejected };

// Checks x's signature (see storage::check_exported_signature; a refusal
// is counted by its kind, and why says what is wrong), skips x when it has
// expired, and brings its expiry down to what a call storing it here now
// would give it (counted when it does).
Verdict admit(storage::ExportedEntry& x,
              Admission& admission,
              Counts& counts,
              std::string& why) {
  if (auto signature = storage::check_exported_signature(x, admission.trusted);
      !signature) {
    using Kind = secrets::SignatureProblem::Kind;
    auto kind = signature.error().kind;
    ++(kind == Kind::unsigned_entry     ? counts.unsigned_entries
       : kind == Kind::untrusted_signer ? counts.untrusted
                                        : counts.changed);
    why = "the entry " + signature.error().message;
    if (kind == Kind::mismatch) {
      why += " (changed since it was signed, or signed for another key)";
    }
    return Verdict::rejected;
  }
  auto& e = x.entry;
  if (e.expires_ms <= admission.now) {
    ++counts.expired;
    return Verdict::expired;
  }
  // Saturating: a lifetime of centuries must not wrap around.
  int64_t lifetime = admission.lifetimes.of(e.tool, e.operation).count();
  int64_t latest =
    lifetime > INT64_MAX - admission.now ? INT64_MAX : admission.now + lifetime;
  if (e.expires_ms > latest) {
    e.expires_ms = latest;
    ++counts.capped;
  }
  return Verdict::store;
}

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

// The bytes left to read from in when it is a regular file (a file named,
// or stdin redirected from one); 0 when that is not known (a pipe).
uint64_t bytes_to_read(std::FILE* in) {
  struct stat st {};
  if (::fstat(::fileno(in), &st) != 0 || !S_ISREG(st.st_mode)) {
    return 0;
  }
  long at = std::ftell(in);
  return st.st_size > at && at >= 0 ? static_cast<uint64_t>(st.st_size - at)
                                    : 0;
}

// Reads, parses and verifies every line, reporting rejected ones, and hands
// the entries to queue in batches; progress counts the lines and bytes read.
// Sets read_failed on an I/O error.
void read_batches(std::FILE* in,
                  const std::string& name,
                  Admission& admission,
                  BatchQueue& queue,
                  Counts& counts,
                  bool& read_failed,
                  util::Progress& progress) {
  progress.stage(
    { "Importing", "entries", 0, util::CountBytes::yes, bytes_to_read(in) });
  Batch batch;
  size_t batch_bytes = 0;
  char* line = nullptr;
  size_t capacity = 0;
  uint64_t number = 0;
  std::string why;
  ssize_t length;
  bool open = true;
  while (open && (length = ::getline(&line, &capacity, in)) >= 0) {
    ++number;
    std::string_view text(line, static_cast<size_t>(length));
    progress.add(1, static_cast<uint64_t>(length));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.remove_suffix(1);
    }
    if (text.empty()) {
      continue;
    }
    auto parsed = storage::parse_export_line(text);
    auto verdict =
      parsed ? admit(*parsed, admission, counts, why) : Verdict::rejected;
    if (verdict == Verdict::rejected) {
      ++counts.rejected;
      progress.print(fmt::format("ipfsacc: import: {}:{}: rejected: {}\n",
                                 name == "-" ? "stdin" : name,
                                 number,
                                 parsed ? why : parsed.error()));
      continue;
    }
    if (verdict == Verdict::expired) {
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
// archive (bad header, truncated) is rejected as a whole. progress counts
// the bytes read, then the entries.
void read_car_batches(std::FILE* in,
                      const std::string& name,
                      Admission& admission,
                      BatchQueue& queue,
                      Counts& counts,
                      bool& read_failed,
                      util::Progress& progress) {
  progress.stage(
    { "Reading", "", 0, util::CountBytes::yes, bytes_to_read(in) });
  std::string archive;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) {
    archive.append(buffer, n);
    progress.add(0, n);
  }
  read_failed = std::ferror(in) != 0;
  auto shown = name == "-" ? std::string("stdin") : name;
  auto reject = [&](std::string_view why) {
    ++counts.rejected;
    progress.print(
      fmt::format("ipfsacc: import: {}: rejected: {}\n", shown, why));
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
  progress.stage(
    { "Importing",
      "entries",
      static_cast<uint64_t>(std::count_if(contents->blocks.begin(),
                                          contents->blocks.end(),
                                          [](const auto& block) {
                                            return block.id.codec ==
                                                   storage::kCodecDagCbor;
                                          })),
      util::CountBytes::no,
      0 });
  Batch batch;
  size_t batch_bytes = 0;
  bool open = true;
  std::string why;
  for (const auto& block : contents->blocks) {
    if (!open) {
      break;
    }
    if (block.id.codec != storage::kCodecDagCbor) {
      continue;
    }
    progress.add(1);
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
    storage::ExportedEntry x{ decoded->key,
                              std::move(decoded->entry),
                              std::move(*out),
                              std::move(*err),
                              decoded->signature };
    auto verdict = admit(x, admission, counts, why);
    if (verdict == Verdict::rejected) {
      reject(fmt::format("entry {}: {}", cid_string(x.key), why));
      continue;
    }
    if (verdict == Verdict::expired) {
      continue;
    }
    batch_bytes += x.out.size() + x.err.size();
    batch.push_back(std::move(x));
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
  add_progress_flags(cmd, o->progress);
  cmd->footer("Reads JSON Lines or a CAR archive (`export --format car`). "
              "Every output is\nchecked against its CID: a line (or block) "
              "that does not verify is rejected\n(with its line number, or "
              "its CID) and the rest are imported. With\nremote_trusted_keys "
              "set, so is an entry not signed by one of those keys, or\n"
              "changed since it was signed. Entries already in the cache or "
              "expired are\nskipped; none is kept longer than the TTL its "
              "tool and rule get here. Exit\nstatus 1 when something was "
              "rejected. On a terminal, an import that takes longer\nthan a "
              "second shows its progress on stderr: entries and bytes read, "
              "rate,\nand time left when the size is known.");
  return {
    cmd,
    [o](const Config& config) {
      // Config::load has checked the setting, so this cannot fail;
      // but a bad one must never mean "trust anything".
      auto trusted =
        secrets::parse_public_keys(config.get("remote_trusted_keys"));
      if (!trusted) {
        fmt::print(
          stderr, "ipfsacc: error: remote_trusted_keys: {}\n", trusted.error());
        return kExitUsage;
      }
      Admission admission{ std::move(*trusted),
                           RuleLifetimes(config),
                           util::now_ms() };
      std::FILE* in = stdin;
      if (o->file != "-") {
        in = std::fopen(o->file.c_str(), "re");
        if (!in) {
          return error(
            fmt::format("cannot read {}: {}", o->file, std::strerror(errno)));
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
      auto progress = make_progress(o->progress, DataOnStdout::no);
      std::thread reader([&] {
        if (car) {
          read_car_batches(
            in, o->file, admission, queue, counts, read_failed, *progress);
        } else {
          read_batches(
            in, o->file, admission, queue, counts, read_failed, *progress);
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
      progress->finish();
      if (in != stdin) {
        std::fclose(in);
      }
      // The rejections for a signature, by kind.
      std::string signatures;
      for (auto [n, what] :
           { std::pair(counts.unsigned_entries, "unsigned"),
             std::pair(counts.untrusted, "signed by a key not trusted"),
             std::pair(counts.changed, "changed since signed") }) {
        if (n > 0) {
          signatures +=
            fmt::format("{}{} {}", signatures.empty() ? " (" : ", ", n, what);
        }
      }
      if (!signatures.empty()) {
        signatures += ')';
      }
      fmt::print("Imported {} {}; skipped {} already present, {} "
                 "expired; rejected {} {}{}; capped {} {} at this "
                 "machine's TTL.\n",
                 counts.imported,
                 counts.imported == 1 ? "entry" : "entries",
                 counts.present,
                 counts.expired,
                 counts.rejected,
                 car                    ? "blocks or entries"
                 : counts.rejected == 1 ? "line"
                                        : "lines",
                 signatures,
                 counts.capped,
                 counts.capped == 1 ? "expiry" : "expiries");
      if (!failure.empty()) {
        return error(failure);
      }
      if (read_failed) {
        return error(fmt::format("reading {} failed", o->file));
      }
      return counts.rejected > 0 ? kExitError : kExitOk;
    }
  };
}

} // namespace ipfsacc::app
