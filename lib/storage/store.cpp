#include "storage/store.hpp"

#include "secrets/cache_cipher.hpp"
#include "storage/corruption.hpp"
#include "storage/hit_log.hpp"
#include "util/fs.hpp"
#include "util/zstd.hpp"

#include <cerrno>
#include <csetjmp>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::storage {

namespace {

constexpr size_t kInitialMapSize = size_t{ 256 } << 20;
constexpr int kMaxMapGrowths = 8;

// Thrown inside transactions, caught by Store::read/write.
struct LmdbError {
  int code;
  std::string what;
};

void check(int rc, std::string_view what) {
  if (rc != MDB_SUCCESS) {
    throw LmdbError{ rc, fmt::format("{}: {}", what, mdb_strerror(rc)) };
  }
}

// Ends a walk over a cursor: a walk stops at the end of its table (or when
// its caller had enough), and any other stop is an error, which on a damaged
// file must not pass for the end.
void end_walk(MDB_cursor* cursor, int rc) {
  mdb_cursor_close(cursor);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    check(rc, "walking a table");
  }
}

MDB_val val(std::string_view s) {
  return { s.size(), const_cast<char*>(s.data()) };
}

MDB_val val(const Digest& d) {
  return { d.size(), const_cast<uint8_t*>(d.data()) };
}

std::string_view view(const MDB_val& v) {
  return { static_cast<const char*>(v.mv_data), v.mv_size };
}

std::string time_key(int64_t t, const Digest& d) {
  std::string key(8 + d.size(), '\0');
  auto u = static_cast<uint64_t>(t);
  for (int i = 0; i < 8; ++i) {
    key[i] = static_cast<char>(u >> (56 - 8 * i));
  }
  std::memcpy(key.data() + 8, d.data(), d.size());
  return key;
}

std::string tag_key(std::string_view tag, const Digest& d) {
  std::string key(tag);
  key += '\0';
  key.append(reinterpret_cast<const char*>(d.data()), d.size());
  return key;
}

Digest digest_at(std::string_view bytes) {
  Digest d{};
  if (bytes.size() >= d.size()) {
    std::memcpy(d.data(), bytes.data() + bytes.size() - d.size(), d.size());
  }
  return d;
}

std::span<const uint8_t> as_bytes(std::string_view s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

uint64_t record_cost(const std::string& encoded) {
  // The key, the record and the three index rows, roughly.
  return encoded.size() + 3 * 48;
}

} // namespace

// ---- StoreReader ----------------------------------------------------------

std::optional<Entry> StoreReader::entry(const Digest& key, bool* corrupt) {
  if (store_.missing_dbs_) {
    return std::nullopt;
  }
  MDB_val k = val(key);
  MDB_val v;
  int rc = mdb_get(txn_, store_.entries_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading an entry");
  auto entry = decode_entry(view(v));
  if (!entry && corrupt) {
    *corrupt = true;
  }
  return entry;
}

std::optional<StoredBlob> StoreReader::stored_blob(const Digest& digest,
                                                   uint64_t size) {
  if (size == 0) {
    return StoredBlob{};
  }
  if (size > kInlineBlobLimit) {
    auto path = store_.blob_path(digest);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return std::nullopt;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return std::nullopt;
    }
    blob_files_.emplace_back(digest, FileId{ st.st_dev, st.st_ino });
    auto stored = static_cast<uint64_t>(st.st_size);
    // The output itself, its encrypted form, or a smaller frame of it.
    if (stored == 0 || (stored > size && !store_.sealed_size(size, stored))) {
      ::close(fd);
      return std::nullopt;
    }
    void* p = ::mmap(nullptr, stored, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
      return std::nullopt;
    }
    mappings_.emplace_back(p, [stored](void* q) { ::munmap(q, stored); });
    std::span bytes(static_cast<const uint8_t*>(p), stored);
    if (stored == size) {
      return StoredBlob{ bytes };
    }
    if (stored > size) {
      auto plain = unseal(digest, bytes);
      return plain ? std::optional(StoredBlob{ *plain }) : std::nullopt;
    }
    return frame_of(digest, bytes, DataFile::no);
  }
  if (store_.missing_dbs_) {
    return std::nullopt;
  }
  MDB_val k = val(digest);
  MDB_val v;
  int rc = mdb_get(txn_, store_.blobs_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading a blob");
  std::span bytes(static_cast<const uint8_t*>(v.mv_data), v.mv_size);
  if (store_.sealed_size(size, v.mv_size)) {
    auto plain = unseal(digest, bytes);
    return plain ? std::optional(StoredBlob{ *plain }) : std::nullopt;
  }
  if (v.mv_size < size && v.mv_size > 0) {
    return frame_of(digest, bytes, DataFile::yes);
  }
  // Any other size fails the caller's hash check.
  data_file_bytes_.push_back(bytes.data());
  return StoredBlob{ bytes, Packed::no, true };
}

std::optional<StoredBlob> StoreReader::frame_of(const Digest& digest,
                                                std::span<const uint8_t> bytes,
                                                DataFile data_file) {
  // In an encrypted cache a frame is sealed; one in the clear was stored
  // before encrypt_cache was turned on.
  if (!store_.blob_key_.empty() && !util::is_zstd_frame(bytes)) {
    if (bytes.size() <= secrets::kSealedBlobOverhead) {
      return std::nullopt;
    }
    auto plain = unseal(digest, bytes);
    return plain ? std::optional(StoredBlob{ *plain, Packed::yes })
                 : std::nullopt;
  }
  bool in_data_file = data_file == DataFile::yes;
  if (in_data_file) {
    data_file_bytes_.push_back(bytes.data());
  }
  return StoredBlob{ bytes, Packed::yes, in_data_file };
}

std::optional<std::span<const uint8_t>> StoreReader::blob(const Digest& digest,
                                                          uint64_t size) {
  auto stored = stored_blob(digest, size);
  if (!stored || stored->packed == Packed::no) {
    return stored ? std::optional(stored->bytes) : std::nullopt;
  }
  auto plain = std::make_shared_for_overwrite<uint8_t[]>(size);
  if (!util::zstd_decompress_exact(stored->bytes, plain.get(), size)) {
    // Damaged. Bytes of the data file are handed back as they are: they fail
    // the caller's check, which then knows the data file is damaged.
    return stored->in_data_file ? std::optional(stored->bytes) : std::nullopt;
  }
  mappings_.push_back(plain);
  if (stored->in_data_file) {
    data_file_bytes_.push_back(plain.get());
  }
  return std::span<const uint8_t>(plain.get(), size);
}

std::optional<FileId> StoreReader::blob_file(const Digest& digest) const {
  for (const auto& [d, id] : blob_files_) {
    if (d == digest) {
      return id;
    }
  }
  return std::nullopt;
}

util::Fd StoreReader::blob_file_fd(const Digest& digest,
                                   uint64_t size,
                                   Packed* packed) {
  if (size <= kInlineBlobLimit) {
    return {};
  }
  auto path = store_.blob_path(digest);
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return {};
  }
  auto stored = static_cast<uint64_t>(st.st_size);
  bool whole = stored == size;
  // A frame in the clear: smaller, in a cache that does not seal its blobs.
  bool frame =
    packed && stored < size && stored > 0 && store_.blob_key_.empty();
  if (!whole && !frame) {
    return {};
  }
  if (packed) {
    *packed = whole ? Packed::no : Packed::yes;
  }
  blob_files_.emplace_back(digest, FileId{ st.st_dev, st.st_ino });
  return fd;
}

bool StoreReader::is_in_data_file(std::span<const uint8_t> bytes) const {
  return std::find(data_file_bytes_.begin(),
                   data_file_bytes_.end(),
                   bytes.data()) != data_file_bytes_.end();
}

std::optional<std::span<const uint8_t>> StoreReader::unseal(
  const Digest& digest,
  std::span<const uint8_t> sealed) {
  size_t size = sealed.size() - secrets::kSealedBlobOverhead;
  auto plain = std::make_shared_for_overwrite<uint8_t[]>(size);
  if (!secrets::open_blob(
        store_.blob_key_.bytes(), digest, sealed, plain.get())) {
    return std::nullopt;
  }
  mappings_.push_back(plain);
  return std::span<const uint8_t>(plain.get(), size);
}

std::optional<std::string> StoreReader::meta(std::string_view key) {
  if (store_.missing_dbs_) {
    return std::nullopt;
  }
  MDB_val k = val(key);
  MDB_val v;
  int rc = mdb_get(txn_, store_.meta_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading metadata");
  return std::string(view(v));
}

int64_t StoreReader::counter(std::string_view key) {
  int64_t pending = 0;
  for (const auto& [name, delta] : pending_counters_) {
    if (name == key) {
      pending = delta;
    }
  }
  if (store_.missing_dbs_) {
    return pending;
  }
  MDB_val k = val(key);
  MDB_val v;
  int rc = mdb_get(txn_, store_.counters_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return pending;
  }
  check(rc, "reading a counter");
  if (v.mv_size != sizeof(int64_t)) {
    return pending;
  }
  int64_t value;
  std::memcpy(&value, v.mv_data, sizeof(value));
  return value + pending;
}

std::map<std::string, int64_t> StoreReader::counters(std::string_view prefix) {
  std::map<std::string, int64_t> out;
  if (store_.missing_dbs_) {
    return out;
  }
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.counters_, &cursor), "opening a cursor");
  MDB_val k = val(prefix);
  MDB_val v;
  int rc =
    mdb_cursor_get(cursor, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && view(k).starts_with(prefix)) {
    if (v.mv_size == sizeof(int64_t)) {
      int64_t value;
      std::memcpy(&value, v.mv_data, sizeof(value));
      out[std::string(view(k))] = value;
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
  for (const auto& [name, delta] : pending_counters_) {
    if (name.starts_with(prefix)) {
      out[name] += delta;
    }
  }
  return out;
}

void StoreReader::for_each_entry(
  const std::function<bool(const Digest&, const Entry&)>& fn) {
  if (store_.missing_dbs_) {
    return;
  }
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.entries_, &cursor), "opening a cursor");
  MDB_val k;
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    if (auto entry = decode_entry(view(v)); entry && k.mv_size == 32) {
      if (!fn(digest_at(view(k)), *entry)) {
        break;
      }
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
}

void StoreReader::for_each_key(const Digest& from,
                               const std::function<bool(const Digest&)>& fn) {
  if (store_.missing_dbs_) {
    return;
  }
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.entries_, &cursor), "opening a cursor");
  MDB_val k = val(from);
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    if (k.mv_size == 32 && !fn(digest_at(view(k)))) {
      break;
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
}

namespace {

// Walks a time index (be64 time ‖ digest) in either direction.
void walk_time_index(MDB_txn* txn,
                     MDB_dbi dbi,
                     Order order,
                     const std::function<bool(const Digest&, int64_t)>& fn) {
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor");
  bool forward = order == Order::oldest_first;
  MDB_val k;
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, forward ? MDB_FIRST : MDB_LAST);
  while (rc == MDB_SUCCESS) {
    if (k.mv_size == 40) {
      auto bytes = static_cast<const uint8_t*>(k.mv_data);
      uint64_t t = 0;
      for (int i = 0; i < 8; ++i) {
        t = (t << 8) | bytes[i];
      }
      if (!fn(digest_at(view(k)), static_cast<int64_t>(t))) {
        break;
      }
    }
    rc = mdb_cursor_get(cursor, &k, &v, forward ? MDB_NEXT : MDB_PREV);
  }
  end_walk(cursor, rc);
}

} // namespace

void StoreReader::for_each_by_last_use(
  Order order,
  const std::function<bool(const Digest&, int64_t)>& fn) {
  if (!store_.missing_dbs_) {
    walk_time_index(txn_, store_.by_lru_, order, fn);
  }
}

void StoreReader::for_each_by_expiry(
  const std::function<bool(const Digest&, int64_t)>& fn) {
  if (!store_.missing_dbs_) {
    walk_time_index(txn_, store_.by_expiry_, Order::oldest_first, fn);
  }
}

void StoreReader::for_each_inline_blob(
  const std::function<bool(const Digest&, std::span<const uint8_t>)>& fn) {
  if (store_.missing_dbs_) {
    return;
  }
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.blobs_, &cursor), "opening a cursor");
  MDB_val k;
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    if (k.mv_size == 32 &&
        !fn(digest_at(view(k)),
            std::span(static_cast<const uint8_t*>(v.mv_data), v.mv_size))) {
      break;
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
}

void StoreReader::for_each_blob_ref(
  const std::function<bool(const Digest&, int64_t)>& fn) {
  if (store_.missing_dbs_) {
    return;
  }
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.refs_, &cursor), "opening a cursor");
  MDB_val k;
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    int64_t refs = 0;
    if (v.mv_size == sizeof(refs)) {
      std::memcpy(&refs, v.mv_data, sizeof(refs));
    }
    if (k.mv_size == 32 && !fn(digest_at(view(k)), refs)) {
      break;
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
}

StoreReader::TableSizes StoreReader::table_sizes() {
  TableSizes sizes;
  if (store_.missing_dbs_) {
    return sizes;
  }
  auto rows = [&](MDB_dbi dbi) -> uint64_t {
    MDB_stat st;
    check(mdb_stat(txn_, dbi, &st), "reading table sizes");
    return st.ms_entries;
  };
  sizes.entries = rows(store_.entries_);
  sizes.blobs = rows(store_.blobs_);
  sizes.refs = rows(store_.refs_);
  sizes.by_lru = rows(store_.by_lru_);
  sizes.by_expiry = rows(store_.by_expiry_);
  sizes.by_tag = rows(store_.by_tag_);
  return sizes;
}

// ---- StoreWriter ----------------------------------------------------------

void StoreWriter::add_counter(std::string_view key, int64_t delta) {
  if (delta == 0) {
    return;
  }
  for (auto& [name, pending] : pending_counters_) {
    if (name == key) {
      pending += delta;
      return;
    }
  }
  pending_counters_.emplace_back(key, delta);
}

void StoreWriter::flush_counters() {
  auto pending = std::move(pending_counters_);
  pending_counters_.clear();
  for (const auto& [name, delta] : pending) {
    if (delta != 0) {
      set_counter(name, counter(name) + delta);
    }
  }
}

void StoreWriter::set_counter(std::string_view key, int64_t value) {
  std::erase_if(pending_counters_,
                [&](const auto& pending) { return pending.first == key; });
  MDB_val k = val(key);
  MDB_val v{ sizeof(value), &value };
  check(mdb_put(txn_, store_.counters_, &k, &v, 0), "writing a counter");
}

void StoreWriter::set_meta(std::string_view key, std::string_view value) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  check(mdb_put(txn_, store_.meta_, &k, &v, 0), "writing metadata");
}

void StoreWriter::put_blob(const BlobSource& blob) {
  if (blob.size == 0) {
    return;
  }
  MDB_val k = val(blob.digest);
  // A new blob's count is written in the same search that finds it absent;
  // MDB_NOOVERWRITE hands back the count of one that is there.
  int64_t refs = 1;
  MDB_val v{ sizeof(refs), &refs };
  int rc = mdb_put(txn_, store_.refs_, &k, &v, MDB_NOOVERWRITE);
  // Whether stored_bytes counts the blob already (it is in use).
  bool counted = false;
  if (rc == MDB_KEYEXIST) {
    if (v.mv_size == sizeof(int64_t)) {
      std::memcpy(&refs, v.mv_data, sizeof(refs));
      ++refs;
      MDB_val nv{ sizeof(refs), &refs };
      check(mdb_put(txn_, store_.refs_, &k, &nv, 0), "writing a blob count");
      // An inline blob lives in the data file with its count. A blob file
      // in use may have gone, or been discarded as damaged by a read: then
      // these bytes are written again (the entries sharing it recover).
      if (blob.size <= kInlineBlobLimit ||
          blob_file_present(store_.blob_path(blob.digest), blob.size)) {
        return;
      }
      counted = true;
    } else {
      // A damaged count: the blob is written again with a count of one.
      refs = 1;
      MDB_val nv{ sizeof(refs), &refs };
      check(mdb_put(txn_, store_.refs_, &k, &nv, 0), "writing a blob count");
    }
  } else {
    check(rc, "writing a blob count");
  }
  if (!counted) {
    add_counter("stored_bytes", static_cast<int64_t>(blob.size));
  }

  bool encrypt = !store_.blob_key_.empty();
  // The most a frame may take to be kept: a tenth less than the output, its
  // sealing included. (Always less than the output: that is how a reader
  // tells a frame from the output itself.)
  uint64_t frame_limit = blob.size - blob.size / 10;
  frame_limit = frame_limit > overhead() ? frame_limit - overhead() : 0;
  bool pack = store_.compression_level_ > 0 && blob.size >= kMinPackedSize &&
              frame_limit > 0;
  if (blob.size > kInlineBlobLimit) {
    auto target = store_.blob_path(blob.digest);
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    util::share_with_group(target.parent_path(), store_.shared_, 02770);
    // Released and stored again in this transaction: keep the file.
    std::erase(unlink_after_commit_, target);
    if (blob_file_present(target, blob.size)) {
      return; // Already there from an earlier attempt or another process.
    }
    if (pack && pack_to_file(blob, target, frame_limit)) {
      return;
    }
    if (encrypt) {
      auto sealed = sealed_copy(blob);
      auto written =
        util::write_file_atomic(target, sealed, store_.blob_mode());
      if (!written) {
        throw LmdbError{ EIO, written.error() };
      }
      return;
    }
    if (!blob.file.empty()) {
      fs::rename(blob.file, target, ec);
      if (!ec) {
        util::share_with_group(target, store_.shared_, store_.blob_mode());
        return;
      }
      ec.clear();
      fs::copy_file(
        blob.file, target, fs::copy_options::overwrite_existing, ec);
      util::share_with_group(target, store_.shared_, store_.blob_mode());
    } else {
      auto written =
        util::write_file_atomic(target, blob.memory, store_.blob_mode());
      if (!written) {
        throw LmdbError{ EIO, written.error() };
      }
    }
    if (ec) {
      throw LmdbError{
        EIO, fmt::format("storing {}: {}", target.string(), ec.message())
      };
    }
    return;
  }

  if (pack) {
    auto source = source_bytes(blob);
    if (auto frame = util::zstd_compress(
          source.bytes, store_.compression_level_, frame_limit)) {
      auto stored = encrypt ? sealed_copy(blob.digest, as_bytes(*frame))
                            : std::move(*frame);
      MDB_val data = val(stored);
      check(mdb_put(txn_, store_.blobs_, &k, &data, 0), "writing a blob");
      count_packed(blob.size, stored.size());
      return;
    }
  }
  if (encrypt) {
    auto sealed = sealed_copy(blob);
    MDB_val data = val(sealed);
    check(mdb_put(txn_, store_.blobs_, &k, &data, 0), "writing a blob");
    return;
  }
  MDB_val data{ blob.size, nullptr };
  check(mdb_put(txn_, store_.blobs_, &k, &data, MDB_RESERVE), "writing a blob");
  auto* out = static_cast<char*>(data.mv_data);
  if (blob.file.empty()) {
    std::memcpy(out, blob.memory.data(), blob.size);
    return;
  }
  int fd = ::open(blob.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw LmdbError{ errno, "reading " + blob.file.string() };
  }
  uint64_t done = 0;
  while (done < blob.size) {
    ssize_t n = ::read(fd, out + done, blob.size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      throw LmdbError{ EIO, "short read of " + blob.file.string() };
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
}

bool StoreWriter::blob_file_present(const fs::path& path, uint64_t size) const {
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat existing;
  if (!fd || ::fstat(fd.get(), &existing) != 0) {
    return false;
  }
  auto stored = static_cast<uint64_t>(existing.st_size);
  if (stored == size || store_.sealed_size(size, stored)) {
    return true;
  }
  if (stored == 0 || stored >= size) {
    return false;
  }
  // Smaller: a frame, if it starts like one (a sealed one cannot be told
  // from a file cut short without the key; a read finds out).
  if (!store_.blob_key_.empty()) {
    return stored > secrets::kSealedBlobOverhead;
  }
  uint8_t head[4];
  return ::pread(fd.get(), head, sizeof head, 0) == sizeof head &&
         util::is_zstd_frame(head);
}

void StoreWriter::discard_blob_file(const Digest& digest, FileId seen) {
  auto path = store_.blob_path(digest);
  struct stat now;
  if (::stat(path.c_str(), &now) == 0 && now.st_dev == seen.dev &&
      now.st_ino == seen.ino) {
    ::unlink(path.c_str());
  }
}

StoreWriter::SourceBytes StoreWriter::source_bytes(const BlobSource& blob) {
  SourceBytes source;
  if (blob.file.empty()) {
    source.bytes = as_bytes(blob.memory);
    return source;
  }
  int fd = ::open(blob.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw LmdbError{ errno, "reading " + blob.file.string() };
  }
  // A shorter file would fault in the mapping: refuse it first.
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < blob.size) {
    ::close(fd);
    throw LmdbError{ EIO, "short read of " + blob.file.string() };
  }
  void* p = ::mmap(nullptr, blob.size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    throw LmdbError{ errno, "reading " + blob.file.string() };
  }
  auto size = blob.size;
  source.mapping.reset(p, [size](void* q) { ::munmap(q, size); });
  source.bytes = std::span(static_cast<const uint8_t*>(p), size);
  return source;
}

std::string StoreWriter::sealed_copy(const Digest& digest,
                                     std::span<const uint8_t> plain) {
  std::string sealed(plain.size() + secrets::kSealedBlobOverhead, '\0');
  secrets::seal_blob(store_.blob_key_.bytes(),
                     digest,
                     plain,
                     reinterpret_cast<uint8_t*>(sealed.data()));
  return sealed;
}

std::string StoreWriter::sealed_copy(const BlobSource& blob) {
  auto source = source_bytes(blob);
  return sealed_copy(blob.digest, source.bytes);
}

bool StoreWriter::pack_to_file(const BlobSource& blob,
                               const fs::path& target,
                               uint64_t frame_limit) {
  int level = store_.compression_level_;
  auto source = source_bytes(blob);
  // A first megabyte that does not shrink by a tenth: the rest will not
  // either (media, archives), and compressing it all would be wasted time.
  auto sample =
    source.bytes.first(std::min<size_t>(source.bytes.size(), 1 << 20));
  if (!util::zstd_compress(sample, level, sample.size() - sample.size() / 10)) {
    return false;
  }
  if (!store_.blob_key_.empty()) {
    // Sealed whole, as encrypted blobs are.
    auto frame = util::zstd_compress(source.bytes, level, frame_limit);
    if (!frame) {
      return false;
    }
    auto sealed = sealed_copy(blob.digest, as_bytes(*frame));
    if (auto written =
          util::write_file_atomic(target, sealed, store_.blob_mode());
        !written) {
      throw LmdbError{ EIO, written.error() };
    }
    count_packed(blob.size, sealed.size());
    return true;
  }
  // Streamed from the source to a file of the cache's tmp/ (held, so no
  // sweep takes it), then renamed into place.
  std::error_code ec;
  fs::create_directories(store_.tmp_dir(), ec);
  std::string path = (store_.tmp_dir() / "pack.XXXXXX").string();
  util::Fd out = util::create_held(path);
  if (!out) {
    return false;
  }
  std::optional<uint64_t> packed;
  if (blob.file.empty()) {
    if (auto frame = util::zstd_compress(source.bytes, level, frame_limit);
        frame && util::write_all(out.get(), frame->data(), frame->size())) {
      packed = frame->size();
    }
  } else if (util::Fd in(::open(blob.file.c_str(), O_RDONLY | O_CLOEXEC)); in) {
    packed = util::zstd_compress_fd(
      in.get(), blob.size, out.get(), level, frame_limit);
  }
  if (!packed || ::fchmod(out.get(), store_.blob_mode()) != 0 ||
      ::rename(path.c_str(), target.c_str()) != 0) {
    ::unlink(path.c_str());
    return false;
  }
  util::share_with_group(target, store_.shared_, store_.blob_mode());
  count_packed(blob.size, *packed);
  // The spill file is not needed any more (a rename would have taken it).
  if (!blob.file.empty()) {
    ::unlink(blob.file.c_str());
  }
  return true;
}

uint64_t StoreWriter::overhead() const {
  return store_.blob_key_.empty() ? 0 : secrets::kSealedBlobOverhead;
}

void StoreWriter::count_packed(uint64_t size, uint64_t stored) {
  if (stored < size) {
    add_counter("packed_saved_bytes", static_cast<int64_t>(size - stored));
  }
}

void StoreWriter::release_blob(const Digest& digest,
                               uint64_t size,
                               uint64_t& freed) {
  if (size == 0) {
    return;
  }
  MDB_val k = val(digest);
  MDB_val v;
  int rc = mdb_get(txn_, store_.refs_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return;
  }
  check(rc, "reading a blob count");
  int64_t refs = 0;
  if (v.mv_size == sizeof(refs)) {
    std::memcpy(&refs, v.mv_data, sizeof(refs));
  }
  if (--refs > 0) {
    MDB_val nv{ sizeof(refs), &refs };
    check(mdb_put(txn_, store_.refs_, &k, &nv, 0), "writing a blob count");
    return;
  }
  check(mdb_del(txn_, store_.refs_, &k, nullptr), "deleting a blob count");
  // What compression saved on it is no longer saved.
  uint64_t stored = size;
  if (size > kInlineBlobLimit) {
    auto path = store_.blob_path(digest);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      stored = static_cast<uint64_t>(st.st_size);
    }
    unlink_after_commit_.push_back(std::move(path));
  } else {
    MDB_val bytes;
    if (mdb_get(txn_, store_.blobs_, &k, &bytes) == MDB_SUCCESS) {
      stored = bytes.mv_size;
    }
    rc = mdb_del(txn_, store_.blobs_, &k, nullptr);
    if (rc != MDB_NOTFOUND) {
      check(rc, "deleting a blob");
    }
  }
  if (stored < size) {
    add_counter("packed_saved_bytes", -static_cast<int64_t>(size - stored));
  }
  add_counter("stored_bytes", -static_cast<int64_t>(size));
  freed += size;
}

void StoreWriter::put_entry(const Digest& key,
                            const Entry& entry,
                            std::span<const BlobSource> blobs) {
  // Blobs first, so that replacing an entry that shares them never frees
  // bytes it still needs.
  for (const auto& blob : blobs) {
    put_blob(blob);
  }
  remove_entry(key);

  std::string encoded = encode_entry(entry);
  MDB_val k = val(key);
  MDB_val v = val(encoded);
  check(mdb_put(txn_, store_.entries_, &k, &v, 0), "writing an entry");
  index_entry(key, entry, encoded);
}

bool StoreWriter::add_entry(const Digest& key,
                            const Entry& entry,
                            std::span<const BlobSource> blobs) {
  std::string encoded = encode_entry(entry);
  MDB_val k = val(key);
  MDB_val v = val(encoded);
  int rc = mdb_put(txn_, store_.entries_, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    if (decode_entry(view(v))) {
      return false;
    }
    put_entry(key, entry, blobs); // Replaces a record that does not decode.
    return true;
  }
  check(rc, "writing an entry");
  for (const auto& blob : blobs) {
    put_blob(blob);
  }
  index_entry(key, entry, encoded);
  return true;
}

void StoreWriter::index_entry(const Digest& key,
                              const Entry& entry,
                              const std::string& encoded) {
  MDB_val empty{ 0, nullptr };
  auto lru = time_key(entry.last_used_ms, key);
  MDB_val lk = val(lru);
  check(mdb_put(txn_, store_.by_lru_, &lk, &empty, 0), "writing an index");
  auto expiry = time_key(entry.expires_ms, key);
  MDB_val ek = val(expiry);
  check(mdb_put(txn_, store_.by_expiry_, &ek, &empty, 0), "writing an index");
  for (const auto& tag : entry.tags) {
    auto tk = tag_key(tag, key);
    MDB_val tv = val(tk);
    check(mdb_put(txn_, store_.by_tag_, &tv, &empty, 0), "writing an index");
  }
  auto cost = static_cast<int64_t>(record_cost(encoded));
  auto logical = static_cast<int64_t>(entry.stdout_size + entry.stderr_size);
  add_counter("stored_bytes", cost);
  add_counter("entries", 1);
  add_counter("logical_bytes", logical);
  add_counter("entries@" + entry.tool, 1);
  add_counter("logical_bytes@" + entry.tool, logical);
}

std::optional<uint64_t> StoreWriter::remove_entry(const Digest& key) {
  MDB_val k = val(key);
  MDB_val v;
  int rc = mdb_get(txn_, store_.entries_, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading an entry");
  std::string encoded(view(v));
  auto entry = decode_entry(encoded);
  check(mdb_del(txn_, store_.entries_, &k, nullptr), "deleting an entry");
  uint64_t freed = record_cost(encoded);
  add_counter("stored_bytes", -static_cast<int64_t>(freed));
  add_counter("entries", -1);
  if (!entry) {
    return freed; // A corrupt record: its index rows are left to eviction.
  }
  auto del_index = [&](MDB_dbi dbi, const std::string& index_key) {
    MDB_val ik = val(index_key);
    int r = mdb_del(txn_, dbi, &ik, nullptr);
    if (r != MDB_NOTFOUND) {
      check(r, "deleting an index row");
    }
  };
  del_index(store_.by_lru_, time_key(entry->last_used_ms, key));
  del_index(store_.by_expiry_, time_key(entry->expires_ms, key));
  for (const auto& tag : entry->tags) {
    del_index(store_.by_tag_, tag_key(tag, key));
  }
  auto logical = static_cast<int64_t>(entry->stdout_size + entry->stderr_size);
  add_counter("logical_bytes", -logical);
  add_counter("entries@" + entry->tool, -1);
  add_counter("logical_bytes@" + entry->tool, -logical);
  release_blob(entry->stdout_digest, entry->stdout_size, freed);
  release_blob(entry->stderr_digest, entry->stderr_size, freed);
  return freed;
}

bool StoreWriter::touch(const Digest& key, int64_t now_ms, int64_t hits) {
  auto current = entry(key);
  if (!current) {
    return false;
  }
  current->hits += hits;
  if (now_ms <= current->last_used_ms) {
    std::string encoded = encode_entry(*current);
    MDB_val k = val(key);
    MDB_val v = val(encoded);
    check(mdb_put(txn_, store_.entries_, &k, &v, 0), "writing an entry");
    return true;
  }
  MDB_val empty{ 0, nullptr };
  auto old_lru = time_key(current->last_used_ms, key);
  MDB_val ok = val(old_lru);
  int rc = mdb_del(txn_, store_.by_lru_, &ok, nullptr);
  if (rc != MDB_NOTFOUND) {
    check(rc, "deleting an index row");
  }
  current->last_used_ms = now_ms;
  auto new_lru = time_key(now_ms, key);
  MDB_val nk = val(new_lru);
  check(mdb_put(txn_, store_.by_lru_, &nk, &empty, 0), "writing an index");
  std::string encoded = encode_entry(*current);
  MDB_val k = val(key);
  MDB_val v = val(encoded);
  check(mdb_put(txn_, store_.entries_, &k, &v, 0), "writing an entry");
  return true;
}

size_t StoreWriter::remove_tagged(std::string_view tag) {
  std::vector<Digest> keys;
  MDB_cursor* cursor;
  check(mdb_cursor_open(txn_, store_.by_tag_, &cursor), "opening a cursor");
  std::string prefix(tag);
  prefix += '\0';
  MDB_val k = val(prefix);
  MDB_val v;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && view(k).starts_with(prefix)) {
    if (k.mv_size == prefix.size() + 32) {
      keys.push_back(digest_at(view(k)));
    }
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  end_walk(cursor, rc);
  size_t removed = 0;
  for (const auto& key : keys) {
    if (remove_entry(key)) {
      ++removed;
    } else {
      // A stale index row (its entry was corrupt): drop it.
      auto tk = tag_key(tag, key);
      MDB_val tv = val(tk);
      int r = mdb_del(txn_, store_.by_tag_, &tv, nullptr);
      if (r != MDB_NOTFOUND) {
        check(r, "deleting an index row");
      }
    }
  }
  return removed;
}

size_t StoreWriter::evict_to(
  uint64_t max_bytes,
  const std::function<void(const Entry&)>& on_evict) {
  size_t evicted = 0;
  while (static_cast<uint64_t>(std::max<int64_t>(0, counter("stored_bytes"))) >
         max_bytes) {
    MDB_cursor* cursor;
    check(mdb_cursor_open(txn_, store_.by_lru_, &cursor), "opening a cursor");
    MDB_val k;
    MDB_val v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    std::string oldest = rc == MDB_SUCCESS ? std::string(view(k)) : "";
    end_walk(cursor, rc);
    if (oldest.size() != 40) {
      break;
    }
    auto victim = digest_at(oldest);
    if (on_evict) {
      if (auto e = entry(victim)) {
        on_evict(*e);
      }
    }
    if (!remove_entry(victim)) {
      MDB_val ok = val(oldest);
      check(mdb_del(txn_, store_.by_lru_, &ok, nullptr), "deleting an index");
      continue;
    }
    ++evicted;
  }
  return evicted;
}

// ---- Store ----------------------------------------------------------------

namespace {

// The caches this process found corrupt, with what it told the user: it
// never opens them again (a fresh cache in the same directory is the next
// process's).
std::map<fs::path, std::string>& corrupt_caches() {
  static std::map<fs::path, std::string> caches;
  return caches;
}

// A read transaction, after clearing the reader slots of processes that
// died holding one (killed while replaying into a pipe nobody read): LMDB
// frees those only when no process has the cache open, which a busy cache
// may never see.
int begin_read(MDB_env* env, MDB_txn** txn) {
  int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, txn);
  if (rc == MDB_READERS_FULL) {
    int cleared = 0;
    if (mdb_reader_check(env, &cleared) == MDB_SUCCESS && cleared > 0) {
      rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, txn);
    }
  }
  return rc;
}

} // namespace

Store::~Store() {
  if (env_) {
    mdb_env_close(env_);
  }
}

const std::string& Store::found_corrupt(std::string_view why) {
  if (!corruption_.empty()) {
    return corruption_;
  }
  auto aside = set_aside(dir_, file_id_);
  corruption_ =
    aside ? fmt::format("the cache in {} is corrupt ({}); set aside as {}",
                        dir_.string(),
                        why,
                        aside->string())
          : fmt::format("the cache in {} is corrupt ({}); {}",
                        dir_.string(),
                        why,
                        aside.error());
  corrupt_caches()[dir_] = corruption_;
  return corruption_;
}

std::optional<std::string> Store::corruption_in(const fs::path& dir) {
  auto known = corrupt_caches().find(dir);
  if (known == corrupt_caches().end()) {
    return std::nullopt;
  }
  return known->second;
}

void Store::abandon_env() {
  // After a fault or an assertion LMDB's state is half-changed: closing
  // could fault again. The process ends or runs the tool soon, which frees
  // it all.
  env_ = nullptr;
}

void Store::set_blob_key(secrets::SecureBuffer key) {
  blob_key_ = std::move(key);
}

bool Store::sealed_size(uint64_t size, uint64_t stored) const {
  return !blob_key_.empty() && stored == size + secrets::kSealedBlobOverhead;
}

fs::path Store::blob_path(const Digest& digest) const {
  auto cid = cid_string(digest);
  return dir_ / "blobs" / cid.substr(cid.size() - 2) / cid;
}

std::expected<void, std::string> Store::open_dbis(bool create) {
  sigjmp_buf jump;
  FaultGuard guard(&jump);
  if (sigsetjmp(jump, 1) != 0) {
    abandon_env();
    return std::unexpected(found_corrupt("opening its tables faulted"));
  }
  MDB_txn* txn;
  int rc =
    create ? mdb_txn_begin(env_, nullptr, 0, &txn) : begin_read(env_, &txn);
  if (rc != MDB_SUCCESS) {
    if (is_corruption(rc)) {
      return std::unexpected(found_corrupt(mdb_strerror(rc)));
    }
    return std::unexpected(
      fmt::format("cannot open the cache: {}", mdb_strerror(rc)));
  }
  struct Named {
    const char* name;
    MDB_dbi* dbi;
  } dbs[] = { { "entries", &entries_ },     { "blobs", &blobs_ },
              { "refs", &refs_ },           { "by_lru", &by_lru_ },
              { "by_expiry", &by_expiry_ }, { "by_tag", &by_tag_ },
              { "counters", &counters_ },   { "meta", &meta_ } };
  for (auto& db : dbs) {
    rc = mdb_dbi_open(txn, db.name, create ? MDB_CREATE : 0, db.dbi);
    if (rc == MDB_NOTFOUND && !create) {
      missing_dbs_ = true;
      break;
    }
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      if (is_corruption(rc)) {
        return std::unexpected(found_corrupt(
          fmt::format("its {} table: {}", db.name, mdb_strerror(rc))));
      }
      return std::unexpected(fmt::format(
        "cannot open the cache's {} table: {}", db.name, mdb_strerror(rc)));
    }
  }
  rc = mdb_txn_commit(txn);
  if (rc != MDB_SUCCESS) {
    if (is_corruption(rc)) {
      return std::unexpected(found_corrupt(mdb_strerror(rc)));
    }
    return std::unexpected(
      fmt::format("cannot open the cache: {}", mdb_strerror(rc)));
  }
  return {};
}

std::expected<void, std::string> Store::open_env(size_t map_size,
                                                 bool read_only) {
  sigjmp_buf jump;
  FaultGuard guard(&jump);
  if (sigsetjmp(jump, 1) != 0) {
    abandon_env();
    return std::unexpected(found_corrupt("opening it faulted"));
  }

  int first_fd = util::next_fd();
  int rc = mdb_env_create(&env_);
  if (rc == MDB_SUCCESS) {
    catch_assertions(env_);
    mdb_env_set_mapsize(env_, map_size);
    mdb_env_set_maxdbs(env_, 16);
    mdb_env_set_maxreaders(env_, 512);
    // NOSYNC: a killed process loses nothing (the kernel has the pages); only
    // a machine crash may lose the last writes of a cache that can be
    // rebuilt. NOTLS: read transactions are not tied to threads.
    unsigned flags =
      MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD | (read_only ? MDB_RDONLY : 0);
    rc = mdb_env_open(env_, dir_.c_str(), flags, 0600);
    if (rc != MDB_SUCCESS && read_only && (rc == EACCES || rc == EROFS)) {
      // The lock file cannot be opened: read without locking.
      mdb_env_close(env_);
      mdb_env_create(&env_);
      catch_assertions(env_);
      mdb_env_set_mapsize(env_, map_size);
      mdb_env_set_maxdbs(env_, 16);
      rc = mdb_env_open(env_, dir_.c_str(), flags | MDB_NOLOCK, 0600);
    }
  }
  if (rc == MDB_SUCCESS) {
    // LMDB opens its data file without close-on-exec (and its lock file too,
    // where O_CLOEXEC was not known when it was built): every tool ipfsacc
    // runs would inherit a descriptor that writes into the cache.
    int fd = -1;
    if (mdb_env_get_fd(env_, &fd) == MDB_SUCCESS && fd >= 0) {
      util::set_close_on_exec(fd);
    }
    util::close_on_exec_since(first_fd, dir_);
  }
  if (rc != MDB_SUCCESS) {
    if (env_) {
      mdb_env_close(env_);
      env_ = nullptr;
    }
    if (is_corruption(rc)) {
      return std::unexpected(found_corrupt(mdb_strerror(rc)));
    }
    // Another LMDB format (a build for another word size): not set aside,
    // the build it belongs to can still read it.
    std::string reason =
      rc == MDB_VERSION_MISMATCH
        ? "is not a cache this build can read"
        : fmt::format("cannot be opened ({})", mdb_strerror(rc));
    return std::unexpected(
      fmt::format("the cache in {} {}", dir_.string(), reason));
  }
  return {};
}

std::expected<std::unique_ptr<Store>, std::string> Store::open(
  const fs::path& dir,
  Access access) {
  // A reader sees the hits logged since the last write (stats, list, show):
  // the log is folded first, where this process may write.
  if (access == Access::read_only && hits_pending(dir) &&
      ::access(dir.c_str(), W_OK) == 0) {
    if (auto writable = open(dir, Access::read_write)) {
      (*writable)->fold_hits();
    }
  }
  if (auto known = corrupt_caches().find(dir);
      known != corrupt_caches().end()) {
    return std::unexpected(known->second);
  }
  std::unique_ptr<Store> store(new Store);
  store->dir_ = dir;
  bool read_only = access == Access::read_only;
  if (!read_only) {
    auto made = util::make_dirs(dir, 0700);
    if (!made) {
      struct stat st;
      if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return std::unexpected(made.error());
      }
    }
    if (::access(dir.c_str(), W_OK) != 0) {
      read_only = true;
    }
  }
  auto data = dir / "data.mdb";
  auto shared = util::check_trusted_dir(dir, util::Sharing::group);
  if (shared) {
    if (auto file = util::check_trusted_file(data, *shared); !file) {
      shared = std::unexpected(file.error());
    }
  }
  if (!shared) {
    return std::unexpected(fmt::format(
      "the cache in {} is not trusted: it {}", dir.string(), shared.error()));
  }
  store->shared_ = *shared;
  if (store->shared_ == util::Shared::with_group && !read_only) {
    for (const char* sub : { "blobs", "locks", "tmp" }) {
      ::mkdir((dir / sub).c_str(), 02770);
      util::share_with_group(dir / sub, store->shared_, 02770);
    }
  }
  struct stat st;
  bool exists = ::stat(data.c_str(), &st) == 0;
  if (exists) {
    store->file_id_ = { st.st_dev, st.st_ino };
  }
  if (read_only && !exists) {
    return std::unexpected(
      fmt::format("{} is not writable and holds no cache", dir.string()));
  }
  if (!read_only && exists && ::access(data.c_str(), W_OK) != 0) {
    read_only = true;
  }

  size_t map_size = kInitialMapSize;
  if (exists) {
    map_size =
      std::max(map_size, static_cast<size_t>(st.st_size) * 2 + (64 << 20));
  }
  if (auto opened = store->open_env(map_size, read_only); !opened) {
    return std::unexpected(opened.error());
  }
  util::share_with_group(data, store->shared_, 0660);
  util::share_with_group(dir / "lock.mdb", store->shared_, 0660);
  store->read_only_ = read_only;
  // The tables exist after the first run: open them in a read transaction,
  // so that a hit never waits for the writer lock just to open the cache.
  auto opened = store->open_dbis(false);
  if (opened && store->missing_dbs_ && !read_only) {
    store->missing_dbs_ = false;
    opened = store->open_dbis(true);
  }
  if (!opened) {
    return std::unexpected(opened.error());
  }
  return store;
}

std::expected<void, std::string> Store::read(
  const std::function<void(StoreReader&)>& fn) {
  if (!corruption_.empty()) {
    return std::unexpected(corruption_);
  }
  if (!env_) {
    return std::unexpected("the cache is unusable");
  }
  sigjmp_buf jump;
  FaultGuard guard(&jump);
  if (sigsetjmp(jump, 1) != 0) {
    abandon_env();
    return std::unexpected(found_corrupt("reading it faulted"));
  }
  MDB_txn* txn = nullptr;
  int rc = begin_read(env_, &txn);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(env_, 0);
    rc = begin_read(env_, &txn);
  }
  if (rc != MDB_SUCCESS) {
    if (is_corruption(rc)) {
      return std::unexpected(found_corrupt(mdb_strerror(rc)));
    }
    return std::unexpected(
      fmt::format("cannot read the cache: {}", mdb_strerror(rc)));
  }
  // Whatever fn throws, the read transaction ends (a fault jumps past
  // this, but the environment is abandoned then).
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> reading(txn, mdb_txn_abort);
  try {
    {
      StoreReader reader(*this, txn);
      fn(reader);
    }
    reading.reset();
    if (!corruption_.empty()) {
      return std::unexpected(corruption_); // fn found it so
    }
    return {};
  } catch (const LmdbError& e) {
    reading.reset();
    if (is_corruption(e.code)) {
      return std::unexpected(found_corrupt(e.what));
    }
    return std::unexpected(fmt::format("cannot read the cache: {}", e.what));
  }
}

std::expected<void, std::string> Store::write(
  const std::function<void(StoreWriter&)>& fn,
  Commit commit) {
  if (!corruption_.empty()) {
    return std::unexpected(corruption_);
  }
  if (!env_) {
    return std::unexpected("the cache is unusable");
  }
  if (read_only_) {
    return std::unexpected(
      fmt::format("the cache in {} is read-only", dir_.string()));
  }
  // The hits logged since the last write go into this transaction (and back
  // into the log if it is not committed).
  HitLogFold hits(dir_, shared_);
  sigjmp_buf jump;
  FaultGuard guard(&jump);
  if (sigsetjmp(jump, 1) != 0) {
    abandon_env();
    return std::unexpected(found_corrupt("writing it faulted"));
  }
  for (int attempt = 0;; ++attempt) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(env_, 0);
      rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    }
    if (rc != MDB_SUCCESS) {
      if (is_corruption(rc)) {
        return std::unexpected(found_corrupt(mdb_strerror(rc)));
      }
      return std::unexpected(
        fmt::format("cannot write the cache: {}", mdb_strerror(rc)));
    }
    StoreWriter writer(*this, txn);
    int code = MDB_SUCCESS;
    std::string message;
    try {
      for (const auto& hit : hits.records()) {
        writer.touch(hit.key, hit.now_ms);
        for (const auto& [name, delta] : hit.counters) {
          writer.add_counter(name, delta);
        }
      }
      fn(writer);
      if (corruption_.empty()) {
        writer.flush_counters();
      }
    } catch (const LmdbError& e) {
      code = e.code;
      message = e.what;
    }
    writer.mappings_.clear();
    if (code != MDB_SUCCESS || !corruption_.empty()) {
      // Nothing is committed into a file found damaged on the way.
      mdb_txn_abort(txn);
      if (is_corruption(code) || !corruption_.empty()) {
        return std::unexpected(found_corrupt(message));
      }
    } else if (commit == Commit::no) {
      mdb_txn_abort(txn);
      hits.restore();
      return {};
    } else {
      // Blob files no longer referenced go while we still hold the write
      // lock, so no other writer can re-reference one in between. Should
      // the commit then fail, an entry whose file is gone is a verified
      // miss, never wrong bytes.
      for (const auto& path : writer.unlink_after_commit_) {
        ::unlink(path.c_str());
      }
      // mdb_txn_commit frees the transaction whatever it returns.
      code = mdb_txn_commit(txn);
      message = fmt::format("committing: {}", mdb_strerror(code));
    }
    if (code == MDB_SUCCESS) {
      return {};
    }
    if (is_corruption(code)) {
      return std::unexpected(found_corrupt(mdb_strerror(code)));
    }
    if (code == MDB_MAP_FULL && attempt < kMaxMapGrowths) {
      MDB_envinfo info;
      mdb_env_info(env_, &info);
      mdb_env_set_mapsize(env_, info.me_mapsize * 2);
      continue;
    }
    hits.restore();
    return std::unexpected(fmt::format("cannot write the cache: {}", message));
  }
}

bool Store::log_hit(const Digest& key,
                    int64_t now_ms,
                    std::vector<std::pair<std::string, int64_t>> counters) {
  if (read_only_ || !corruption_.empty() || !env_) {
    return false;
  }
  HitRecord record{ key, now_ms, std::move(counters) };
  switch (append_hit(dir_, shared_, record)) {
    case Appended::no:
      return false;
    case Appended::fold_due:
      (void)write([](StoreWriter&) {});
      return true;
    case Appended::yes:
      return true;
  }
  return true;
}

void Store::fold_hits() {
  if (!read_only_ && hits_pending(dir_)) {
    (void)write([](StoreWriter&) {});
  }
}

uint64_t Store::disk_usage() const {
  uint64_t total = 0;
  std::error_code ec;
  total += fs::file_size(dir_ / "data.mdb", ec);
  if (ec) {
    total = 0;
  }
  fs::recursive_directory_iterator it(dir_ / "blobs", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      total += it->file_size(ec);
    }
  }
  return total;
}

} // namespace ipfsacc::storage
