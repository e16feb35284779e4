#pragma once

#include "core/cid.hpp"
#include "secrets/secure_buffer.hpp"
#include "storage/corruption.hpp"
#include "storage/entry.hpp"
#include "util/fs.hpp"
#include "util/trusted_dir.hpp"

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <lmdb.h>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::storage {

namespace fs = std::filesystem;

enum class Access { read_write, read_only };

// The order of a walk over an index of times.
enum class Order { oldest_first, newest_first };

// Whether Store::write commits its transaction or throws it away (a dry run
// that sees exactly what the real run would do).
enum class Commit { yes, no };

// Outputs larger than this are kept as files in blobs/ beside the LMDB
// environment, so that storing them needs no large in-memory transaction.
constexpr uint64_t kInlineBlobLimit = 8 * 1024 * 1024;

// The bytes of one output to store: in memory, or in a file (a spill file in
// the cache's tmp/ directory, which the store may move into blobs/).
struct BlobSource {
  Digest digest{};
  uint64_t size = 0;
  std::string_view memory;
  fs::path file;
};

// Whether stored bytes are a zstd frame of the output (Packed::yes) or the
// output itself.
enum class Packed { no, yes };

// An output's bytes as the store keeps them, decrypted: the output itself or
// a zstd frame of it (compression). Not verified.
struct StoredBlob {
  std::span<const uint8_t> bytes;
  Packed packed = Packed::no;
  // They are the LMDB data file's own (see StoreReader::is_in_data_file).
  bool in_data_file = false;
};

// Read access inside a transaction. Returned views stay valid until the
// transaction ends.
class StoreReader {
public:
  // Returns the entry for key; nullopt when absent. A record that does not
  // decode sets *corrupt and is reported as absent.
  std::optional<Entry> entry(const Digest& key, bool* corrupt = nullptr);

  // Returns a blob's bytes, nullopt when it is missing. Not verified: the
  // caller hashes them against the digest before use. An encrypted blob
  // (see Store::set_blob_key) is decrypted; nullopt when that fails.
  // A frame (see Store::set_compression) is decompressed into a buffer of
  // exactly size bytes; one that does not hold exactly size bytes is
  // damaged: bytes of the data file are then returned as stored (they fail
  // the caller's check, see is_in_data_file), a blob file's are nullopt.
  std::optional<std::span<const uint8_t>> blob(const Digest& digest,
                                               uint64_t size);

  // The bytes blob() starts from: the output, or the zstd frame it is
  // stored as, decrypted; nullopt when missing or not decrypting. For a
  // caller that decompresses a large output a chunk at a time
  // (util::zstd_decompress_stream) instead of whole in memory.
  std::optional<StoredBlob> stored_blob(const Digest& digest, uint64_t size);

  // The blob file blob() or blob_file_fd() opened for digest in this
  // transaction (an output
  // over kInlineBlobLimit bytes), whether or not its bytes were returned;
  // nullopt when it opened none. A file found damaged is discarded by it
  // (StoreWriter::discard_blob_file).
  std::optional<FileId> blob_file(const Digest& digest) const;

  // The blob file of an output over kInlineBlobLimit bytes kept in the
  // clear, open for reading; an empty Fd when there is none (the output is
  // kept in the data file, encrypted, missing, or of another size: blob()
  // has its bytes, if any). Read with read(2), a file someone cuts short
  // meanwhile reads short, where a mapping of it would fault. Not verified;
  // the file is recorded for blob_file() as blob() does.
  // With packed, a blob file in the clear that is a zstd frame of the
  // output (smaller than size) is returned too, and *packed says which.
  util::Fd blob_file_fd(const Digest& digest,
                        uint64_t size,
                        Packed* packed = nullptr);
  // True when bytes (as blob() returned them) are the LMDB data file's own:
  // if they do not hash to their CID, the data file is damaged.
  bool is_in_data_file(std::span<const uint8_t> bytes) const;

  std::optional<std::string> meta(std::string_view key);
  int64_t counter(std::string_view key);
  // Every counter whose key starts with prefix.
  std::map<std::string, int64_t> counters(std::string_view prefix = {});

  // Calls fn for each entry until it returns false.
  void for_each_entry(
    const std::function<bool(const Digest&, const Entry&)>& fn);

  // Calls fn with each entry key in key order, starting at the first key not
  // below from, until it returns false. Records are not decoded: this is the
  // cheap walk behind CID prefix lookups.
  void for_each_key(const Digest& from,
                    const std::function<bool(const Digest&)>& fn);

  // Calls fn with each entry key and its last use, in order of last use,
  // until it returns false. Reads only the index.
  void for_each_by_last_use(
    Order order,
    const std::function<bool(const Digest&, int64_t)>& fn);

  // Calls fn with each entry key and its expiry time, soonest first, until it
  // returns false. Reads only the index.
  void for_each_by_expiry(
    const std::function<bool(const Digest&, int64_t)>& fn);

  // Calls fn with each blob kept inside LMDB (outputs of at most
  // kInlineBlobLimit bytes) until it returns false. Not verified.
  void for_each_inline_blob(
    const std::function<bool(const Digest&, std::span<const uint8_t>)>& fn);

  // Calls fn with each blob's reference count until it returns false.
  void for_each_blob_ref(const std::function<bool(const Digest&, int64_t)>& fn);

  // How many rows each table holds (O(1): LMDB keeps the counts).
  struct TableSizes {
    uint64_t entries = 0;
    uint64_t blobs = 0;
    uint64_t refs = 0;
    uint64_t by_lru = 0;
    uint64_t by_expiry = 0;
    uint64_t by_tag = 0;
  };
  TableSizes table_sizes();

  MDB_txn* txn() const { return txn_; }

protected:
  enum class DataFile { no, yes };
  // Stored bytes smaller than their output: a frame, sealed in an encrypted
  // cache.
  std::optional<StoredBlob> frame_of(const Digest& digest,
                                     std::span<const uint8_t> bytes,
                                     DataFile data_file);
  std::optional<std::span<const uint8_t>> unseal(
    const Digest& digest,
    std::span<const uint8_t> sealed);
  friend class Store;
  StoreReader(class Store& store, MDB_txn* txn)
    : store_(store)
    , txn_(txn) {}
  class Store& store_;
  MDB_txn* txn_;
  // Counter changes of a write transaction, written when its function has
  // run: an entry moves five counters, and writing them once per
  // transaction instead of once per entry saves that many table updates.
  // Reads of counters include them.
  std::vector<std::pair<std::string, int64_t>> pending_counters_;
  std::vector<std::shared_ptr<void>> mappings_;
  std::vector<const uint8_t*> data_file_bytes_;
  std::vector<std::pair<Digest, FileId>> blob_files_;
};

// Write access inside a transaction. Failures throw an internal error that
// Store::write turns into its result; callers of Store never see exceptions.
class StoreWriter : public StoreReader {
public:
  // Stores entry under key with its blobs (identical blobs are stored once
  // and reference-counted; a blob file that is in use but missing or of the
  // wrong size is written again). Replaces an existing entry.
  void put_entry(const Digest& key,
                 const Entry& entry,
                 std::span<const BlobSource> blobs);

  // Stores entry under key with its blobs unless key already holds a
  // readable entry; false then, and nothing is written. (One search of the
  // entries table where checking and then storing takes three.)
  bool add_entry(const Digest& key,
                 const Entry& entry,
                 std::span<const BlobSource> blobs);

  // Removes the entry and every blob no longer referenced. Returns the bytes
  // freed, or nullopt when there was no such entry.
  std::optional<uint64_t> remove_entry(const Digest& key);

  // Removes the file of blob digest when it is still the file seen (as
  // blob_file told, of a read that found its bytes damaged), never one
  // another process has written since. The entries that share it then miss,
  // and the next put of those bytes writes the file afresh.
  void discard_blob_file(const Digest& digest, FileId seen);

  // Records hits: hit count, last use (for LRU; the later of the stored one
  // and now_ms, as hits folded from the hit log may come out of order).
  // False if the entry is gone.
  bool touch(const Digest& key, int64_t now_ms, int64_t hits = 1);

  // Changes a counter by delta (written when the transaction's function has
  // run; counter() sees it at once).
  void add_counter(std::string_view key, int64_t delta);
  void set_counter(std::string_view key, int64_t value);
  void set_meta(std::string_view key, std::string_view value);

  // Removes every entry tagged with tag. Returns how many.
  size_t remove_tagged(std::string_view tag);

  // Evicts least recently used entries until the stored bytes are at most
  // max_bytes. Returns how many were evicted. on_evict, when given, sees each
  // evicted entry first (for per-tool statistics).
  size_t evict_to(uint64_t max_bytes,
                  const std::function<void(const Entry&)>& on_evict = {});

private:
  friend class Store;
  StoreWriter(class Store& store, MDB_txn* txn)
    : StoreReader(store, txn) {}
  void put_blob(const BlobSource& blob);
  // Whether path holds a blob file of size bytes (or their encrypted form).
  bool blob_file_present(const fs::path& path, uint64_t size) const;
  // The bytes of a blob to store, from memory or mapped from its file.
  struct SourceBytes {
    std::span<const uint8_t> bytes;
    std::shared_ptr<void> mapping;
  };
  SourceBytes source_bytes(const BlobSource& blob);
  std::string sealed_copy(const BlobSource& blob);
  std::string sealed_copy(const Digest& digest, std::span<const uint8_t> plain);
  // Writes blob (over kInlineBlobLimit bytes) to target as a frame of at
  // most frame_limit bytes; false when it does not pay (nothing written).
  bool pack_to_file(const BlobSource& blob,
                    const fs::path& target,
                    uint64_t frame_limit);
  // Counts what storing size bytes as stored bytes saved.
  void count_packed(uint64_t size, uint64_t stored);
  // What sealing adds to a blob in this cache.
  uint64_t overhead() const;
  // Writes the counter changes add_counter collected.
  void flush_counters();
  // The index rows and counters of an entry just written under key.
  void index_entry(const Digest& key,
                   const Entry& entry,
                   const std::string& encoded);
  void release_blob(const Digest& digest, uint64_t size, uint64_t& freed);
  std::vector<fs::path> unlink_after_commit_; // before commit, under the lock
};

class Store {
public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Opens (creating if needed, dir mode 0700) the cache in dir. With
  // Access::read_write, falls back to read-only when the directory cannot
  // be written. Returns a message when the cache cannot be used at all
  // (missing and not creatable, corrupt, wrong version, or not trusted:
  // a directory or data file that another user owns or may write, see
  // util::check_trusted_dir; a directory shared by a group is trusted by
  // its members, and what they create in it gets the group's permissions). A
  // cache found corrupt, here or by any Store of this process, is never opened
  // again by this process; see found_corrupt.
  static std::expected<std::unique_ptr<Store>, std::string> open(
    const fs::path& dir,
    Access access);

  // Records that the cache is damaged (why: what showed it), sets its data
  // file aside (see storage::set_aside) and returns the one line that says
  // so. From then on read and write return that line without touching the
  // cache, whatever they were doing: no write follows a sign of damage.
  // Store calls it on a fault, an LMDB assertion or a corruption code;
  // callers on a record or an output of the data file that fails its check.
  const std::string& found_corrupt(std::string_view why);
  // Whether found_corrupt was called.
  bool corrupt() const { return !corruption_.empty(); }
  // What found_corrupt said about the cache in dir, in this process;
  // nullopt when nothing was found wrong with it.
  static std::optional<std::string> corruption_in(const fs::path& dir);

  bool read_only() const { return read_only_; }
  const fs::path& dir() const { return dir_; }
  fs::path tmp_dir() const { return dir_ / "tmp"; }
  // The mode of a blob file: readable by the group of a shared cache.
  mode_t blob_mode() const {
    return shared_ == util::Shared::with_group ? 0640 : 0600;
  }
  fs::path blob_path(const Digest& digest) const;

  // From now on, outputs are stored encrypted with key (kBlobKeySize bytes,
  // encrypt_cache), and encrypted ones are decrypted when read. Blobs keep
  // the digest of their plaintext: keys and dedup do not change. An
  // encrypted blob is told apart by its size (the plaintext's plus
  // secrets::kSealedBlobOverhead); without the key it does not verify.
  void set_blob_key(secrets::SecureBuffer key);
  // Whether stored bytes of this size are the encrypted form of size bytes.
  bool sealed_size(uint64_t size, uint64_t stored) const;

  // From now on, outputs are stored as zstd frames at level (1 to 19; 0:
  // as they are), each one only when its frame, sealed if the cache is
  // encrypted, is at least a tenth smaller than the output (and outputs
  // under kMinPackedSize stay as they are). Blobs keep the digest of the
  // output; whatever the setting, both forms are read: a frame is told
  // apart by being smaller than its output.
  void set_compression(int level) { compression_level_ = level; }

  // Runs fn in a read transaction.
  std::expected<void, std::string> read(
    const std::function<void(StoreReader&)>& fn);

  // Runs fn in a write transaction and commits (Commit::no: aborts, for dry
  // runs). When the map is full it is grown and fn runs again, so fn must
  // only act through the writer.
  std::expected<void, std::string> write(
    const std::function<void(StoreWriter&)>& fn,
    Commit commit = Commit::yes);

  // Records a hit without a write transaction: key's hit and last use and
  // the statistics counters (full keys and deltas) go to the hit log
  // (storage/hit_log.hpp), which the next write transaction folds in. False
  // when the log could not take it (the caller then writes the hit in a
  // transaction); a log grown past its limit is folded here.
  bool log_hit(const Digest& key,
               int64_t now_ms,
               std::vector<std::pair<std::string, int64_t>> counters);

  // Writes the logged hits into the store now (for a command about to read
  // hit counts or last uses in a read transaction before it writes).
  void fold_hits();

  // Size of the LMDB data file plus external blobs, as on disk.
  uint64_t disk_usage() const;

private:
  friend class StoreReader;
  friend class StoreWriter;
  Store() = default;
  std::expected<void, std::string> open_env(size_t map_size, bool read_only);
  std::expected<void, std::string> open_dbis(bool create);
  void abandon_env();

  fs::path dir_;
  FileId file_id_;         // of data.mdb when it was opened
  std::string corruption_; // what found_corrupt said
  bool read_only_ = false;
  util::Shared shared_ = util::Shared::no; // a cache shared by a group
  bool missing_dbs_ = false;
  MDB_env* env_ = nullptr;
  MDB_dbi entries_ = 0;   // request digest → encoded Entry
  MDB_dbi blobs_ = 0;     // blob digest → bytes (inline blobs)
  MDB_dbi refs_ = 0;      // blob digest → reference count
  MDB_dbi by_lru_ = 0;    // be64(last use) ‖ digest → ""
  MDB_dbi by_expiry_ = 0; // be64(expiry) ‖ digest → ""
  MDB_dbi by_tag_ = 0;    // tag ‖ 0 ‖ digest → ""
  MDB_dbi counters_ = 0;  // name → int64
  MDB_dbi meta_ = 0;      // name → bytes
  secrets::SecureBuffer blob_key_;
  int compression_level_ = 0;
};

} // namespace ipfsacc::storage
