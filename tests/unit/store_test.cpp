#include "core/cid.hpp"
#include "storage/hit_log.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <cstring>
#include <doctest/doctest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ipfsacc;
using namespace ipfsacc::storage;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

// Bytes that differ for every seed.
std::string pattern_bytes(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// The source views bytes: they must outlive the write (a literal or a named
// string, never a temporary std::string).
BlobSource memory_blob(std::string_view bytes) {
  BlobSource b;
  b.digest = sha256(bytes);
  b.size = bytes.size();
  b.memory = bytes;
  return b;
}

Digest key_of(std::string_view name) {
  return sha256(name);
}

// An entry whose stdout is out and stderr is err, one segment each.
Entry make_entry(const std::string& out,
                 const std::string& err,
                 std::vector<std::string> tags = {},
                 int64_t last_used = 1000) {
  Entry e;
  e.exit_code = 0;
  e.created_ms = 1000;
  e.expires_ms = 61000;
  e.duration_ms = 12;
  e.last_used_ms = last_used;
  e.stdout_digest = sha256(out);
  e.stdout_size = out.size();
  e.stderr_digest = sha256(err);
  e.stderr_size = err.size();
  e.tool = "gh";
  e.operation = "pr-list";
  e.display = "gh pr list";
  if (!out.empty()) {
    e.segments.push_back({ Stream::out, out.size() });
  }
  if (!err.empty()) {
    e.segments.push_back({ Stream::err, err.size() });
  }
  e.tags = std::move(tags);
  return e;
}

std::unique_ptr<Store> open_store(
  const fs::path& dir,
  storage::Access access = storage::Access::read_write) {
  auto s = Store::open(dir, access);
  REQUIRE_MESSAGE(s, s.error());
  return std::move(*s);
}

void put(Store& store,
         const Digest& key,
         const Entry& e,
         const std::string& out,
         const std::string& err) {
  BlobSource blobs[] = { memory_blob(out), memory_blob(err) };
  auto w = store.write([&](StoreWriter& w) { w.put_entry(key, e, blobs); });
  REQUIRE_MESSAGE(w, w.error());
}

std::optional<Entry> get(Store& store, const Digest& key) {
  std::optional<Entry> out;
  auto r = store.read([&](StoreReader& r) { out = r.entry(key); });
  REQUIRE_MESSAGE(r, r.error());
  return out;
}

// The blob's bytes, copied out of the transaction; nullopt when missing.
std::optional<std::string> get_blob(Store& store,
                                    const Digest& digest,
                                    uint64_t size) {
  std::optional<std::string> out;
  auto r = store.read([&](StoreReader& r) {
    if (auto b = r.blob(digest, size)) {
      out = std::string(reinterpret_cast<const char*>(b->data()), b->size());
    }
  });
  REQUIRE_MESSAGE(r, r.error());
  return out;
}

int64_t counter(Store& store, std::string_view name) {
  int64_t value = 0;
  auto r = store.read([&](StoreReader& r) { value = r.counter(name); });
  REQUIRE(r);
  return value;
}

size_t entry_count(Store& store) {
  size_t n = 0;
  auto r = store.read([&](StoreReader& r) {
    r.for_each_entry([&](const Digest&, const Entry&) {
      ++n;
      return true;
    });
  });
  REQUIRE(r);
  return n;
}

std::optional<uint64_t> remove(Store& store, const Digest& key) {
  std::optional<uint64_t> freed;
  auto w = store.write([&](StoreWriter& w) { freed = w.remove_entry(key); });
  REQUIRE_MESSAGE(w, w.error());
  return freed;
}

size_t files_under(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file()) {
      ++n;
    }
  }
  return n;
}

} // namespace

TEST_CASE("an entry and its blobs read back as written") {
  TempDir dir;
  auto store = open_store(dir / "cache");
  CHECK_FALSE(store->read_only());
  struct stat st;
  REQUIRE(::stat((dir / "cache").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  std::string out = "hello, stdout\n";
  std::string err = "and stderr\n";
  Entry e = make_entry(out, err, { "gh:pr:o/r", "gh:repo:o/r" });
  e.exit_code = 3;
  e.created_ms = 1'700'000'000'123;
  e.expires_ms = 1'700'000'060'123;
  e.duration_ms = 4567;
  e.hits = 2;
  e.last_used_ms = 1'700'000'001'000;
  // Interleaved: 6 bytes out, 4 err, the rest of out, the rest of err.
  e.segments = { { Stream::out, 6 },
                 { Stream::err, 4 },
                 { Stream::out, out.size() - 6 },
                 { Stream::err, err.size() - 4 } };
  auto key = key_of("k1");
  put(*store, key, e, out, err);

  auto got = get(*store, key);
  REQUIRE(got);
  CHECK(got->exit_code == 3);
  CHECK(got->created_ms == e.created_ms);
  CHECK(got->expires_ms == e.expires_ms);
  CHECK(got->duration_ms == 4567);
  CHECK(got->hits == 2);
  CHECK(got->last_used_ms == e.last_used_ms);
  CHECK(got->stdout_digest == sha256(out));
  CHECK(got->stdout_size == out.size());
  CHECK(got->stderr_digest == sha256(err));
  CHECK(got->stderr_size == err.size());
  CHECK(got->tool == "gh");
  CHECK(got->operation == "pr-list");
  CHECK(got->display == "gh pr list");
  CHECK(got->tags == e.tags);
  REQUIRE(got->segments.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(got->segments[i].stream == e.segments[i].stream);
    CHECK(got->segments[i].size == e.segments[i].size);
  }
  CHECK(get_blob(*store, sha256(out), out.size()) == out);
  CHECK(get_blob(*store, sha256(err), err.size()) == err);
  CHECK(counter(*store, "entries") == 1);
  CHECK(counter(*store, "logical_bytes") ==
        static_cast<int64_t>(out.size() + err.size()));
  // An empty blob is never stored but always readable.
  CHECK(get_blob(*store, empty_digest(), 0) == "");
  CHECK_FALSE(get(*store, key_of("absent")));
  CHECK_FALSE(get_blob(*store, sha256("absent"), 6));

  // Everything survives closing and reopening.
  store.reset();
  store = open_store(dir / "cache");
  got = get(*store, key);
  REQUIRE(got);
  CHECK(got->tags == e.tags);
  CHECK(get_blob(*store, sha256(out), out.size()) == out);
  CHECK(entry_count(*store) == 1);
}

TEST_CASE("identical blobs are stored once and freed with their last entry") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string out = pattern_bytes(100'000, 1);
  std::string err = pattern_bytes(3'000, 2);
  // Both entries are identical but for the key, so their records cost the
  // same; the difference in stored bytes is then exactly the blobs.
  Entry e = make_entry(out, err);
  int64_t before = counter(*store, "stored_bytes");
  put(*store, key_of("a"), e, out, err);
  int64_t after_a = counter(*store, "stored_bytes");
  put(*store, key_of("b"), e, out, err);
  int64_t after_b = counter(*store, "stored_bytes");
  int64_t record_a =
    (after_a - before) - static_cast<int64_t>(out.size() + err.size());
  int64_t record_b = after_b - after_a;
  CHECK(record_b > 0);
  CHECK(record_b < static_cast<int64_t>(err.size()));
  CHECK(record_a == record_b);
  CHECK(counter(*store, "entries") == 2);
  CHECK(counter(*store, "logical_bytes") ==
        2 * static_cast<int64_t>(out.size() + err.size()));

  // Removing one entry frees only its record.
  auto freed_a = remove(*store, key_of("a"));
  REQUIRE(freed_a);
  CHECK(static_cast<int64_t>(*freed_a) == record_b);
  CHECK(counter(*store, "stored_bytes") == after_a);
  CHECK_FALSE(get(*store, key_of("a")));
  CHECK(get_blob(*store, sha256(out), out.size()) == out);
  CHECK(get_blob(*store, sha256(err), err.size()) == err);

  // Removing the last one frees the blobs too.
  auto freed_b = remove(*store, key_of("b"));
  REQUIRE(freed_b);
  CHECK(*freed_b == *freed_a + out.size() + err.size());
  CHECK(counter(*store, "stored_bytes") == before);
  CHECK(counter(*store, "entries") == 0);
  CHECK(counter(*store, "logical_bytes") == 0);
  CHECK_FALSE(get_blob(*store, sha256(out), out.size()));
  CHECK_FALSE(get_blob(*store, sha256(err), err.size()));
  CHECK_FALSE(remove(*store, key_of("b")));
}

TEST_CASE("the same blob as stdout and stderr of one entry") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string same = pattern_bytes(5'000, 7);
  Entry e = make_entry(same, same);
  put(*store, key_of("twice"), e, same, same);
  CHECK(get_blob(*store, sha256(same), same.size()) == same);
  REQUIRE(remove(*store, key_of("twice")));
  CHECK_FALSE(get_blob(*store, sha256(same), same.size()));
  CHECK(counter(*store, "stored_bytes") == 0);
}

TEST_CASE("an entry put under an existing key replaces it") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string one = "first answer", two = "second answer, longer";
  std::string err = "shared stderr";
  auto key = key_of("k");
  put(*store, key, make_entry(one, err, { "gh:pr:a/b" }), one, err);
  Entry second = make_entry(two, err, { "gh:issue:a/b" });
  second.exit_code = 1;
  put(*store, key, second, two, err);

  auto got = get(*store, key);
  REQUIRE(got);
  CHECK(got->exit_code == 1);
  CHECK(got->stdout_digest == sha256(two));
  CHECK(got->tags == std::vector<std::string>{ "gh:issue:a/b" });
  CHECK(entry_count(*store) == 1);
  CHECK(counter(*store, "entries") == 1);
  CHECK(counter(*store, "logical_bytes") ==
        static_cast<int64_t>(two.size() + err.size()));
  CHECK_FALSE(get_blob(*store, sha256(one), one.size()));
  CHECK(get_blob(*store, sha256(two), two.size()) == two);
  // The blob both versions share was not freed on the way.
  CHECK(get_blob(*store, sha256(err), err.size()) == err);

  // The old entry's tag no longer finds it; the new one does.
  size_t removed = 99;
  REQUIRE(store->write(
    [&](StoreWriter& w) { removed = w.remove_tagged("gh:pr:a/b"); }));
  CHECK(removed == 0);
  CHECK(get(*store, key));
  REQUIRE(store->write(
    [&](StoreWriter& w) { removed = w.remove_tagged("gh:issue:a/b"); }));
  CHECK(removed == 1);
  CHECK_FALSE(get(*store, key));
  CHECK(counter(*store, "stored_bytes") == 0);
}

TEST_CASE("add_entry stores a new entry and leaves an existing one alone") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string out = "answer", err = "shared";
  auto key = key_of("k");
  BlobSource blobs[] = { memory_blob(out), memory_blob(err) };
  bool added = false;
  REQUIRE(store->write([&](StoreWriter& w) {
    added = w.add_entry(key, make_entry(out, err, { "gh:pr:a/b" }), blobs);
  }));
  CHECK(added);
  int64_t stored = counter(*store, "stored_bytes");

  // A second entry under the same key changes nothing, blob counts included.
  std::string other = "another answer";
  BlobSource again[] = { memory_blob(other), memory_blob(err) };
  REQUIRE(store->write([&](StoreWriter& w) {
    added = w.add_entry(key, make_entry(other, err), again);
  }));
  CHECK_FALSE(added);
  auto got = get(*store, key);
  REQUIRE(got);
  CHECK(got->stdout_digest == sha256(out));
  CHECK(counter(*store, "entries") == 1);
  CHECK(counter(*store, "stored_bytes") == stored);
  CHECK_FALSE(get_blob(*store, sha256(other), other.size()));

  // A blob the entry shares with another is counted twice and outlives one.
  BlobSource shared[] = { memory_blob(out), memory_blob(err) };
  REQUIRE(store->write([&](StoreWriter& w) {
    added = w.add_entry(key_of("k2"), make_entry(out, err), shared);
  }));
  CHECK(added);
  REQUIRE(remove(*store, key));
  CHECK(get_blob(*store, sha256(out), out.size()) == out);
  REQUIRE(remove(*store, key_of("k2")));
  CHECK_FALSE(get_blob(*store, sha256(out), out.size()));
  CHECK(counter(*store, "stored_bytes") == 0);
  CHECK(counter(*store, "entries") == 0);
}

TEST_CASE("touch counts hits and moves the entry in LRU order") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string a = pattern_bytes(1000, 1), b = pattern_bytes(1000, 2);
  put(*store, key_of("a"), make_entry(a, "", {}, 100), a, "");
  put(*store, key_of("b"), make_entry(b, "", {}, 200), b, "");

  bool touched = false;
  REQUIRE(store->write(
    [&](StoreWriter& w) { touched = w.touch(key_of("a"), 12'345); }));
  CHECK(touched);
  auto got = get(*store, key_of("a"));
  REQUIRE(got);
  CHECK(got->hits == 1);
  CHECK(got->last_used_ms == 12'345);
  REQUIRE(store->write(
    [&](StoreWriter& w) { touched = w.touch(key_of("a"), 20'000); }));
  got = get(*store, key_of("a"));
  REQUIRE(got);
  CHECK(got->hits == 2);
  CHECK(got->last_used_ms == 20'000);
  // The rest of the entry is unchanged.
  CHECK(got->stdout_digest == sha256(a));
  CHECK(got->expires_ms == 61000);

  REQUIRE(store->write(
    [&](StoreWriter& w) { touched = w.touch(key_of("nope"), 1); }));
  CHECK_FALSE(touched);

  // "a" is now the most recently used: evicting one entry takes "b".
  int64_t total = counter(*store, "stored_bytes");
  size_t evicted = 0;
  REQUIRE(store->write([&](StoreWriter& w) {
    evicted = w.evict_to(static_cast<uint64_t>(total - 1));
  }));
  CHECK(evicted == 1);
  CHECK(get(*store, key_of("a")));
  CHECK_FALSE(get(*store, key_of("b")));
}

TEST_CASE("logged hits are folded into the next write, LRU order included") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string a = pattern_bytes(1000, 1), b = pattern_bytes(1000, 2);
  put(*store, key_of("a"), make_entry(a, "", {}, 100), a, "");
  put(*store, key_of("b"), make_entry(b, "", {}, 200), b, "");

  REQUIRE(store->log_hit(key_of("a"), 5'000, { { "hits", 1 } }));
  REQUIRE(store->log_hit(key_of("a"), 4'000, { { "hits", 1 } }));
  REQUIRE(store->log_hit(key_of("gone"), 6'000, { { "hits", 1 } }));
  CHECK(hits_pending(dir.path()));
  // Not yet in the store: a hit opens no write transaction.
  CHECK(get(*store, key_of("a"))->hits == 0);

  // Any write folds them in (the records of an entry since removed still
  // count in the statistics), and empties the log.
  int64_t total = counter(*store, "stored_bytes");
  size_t evicted = 0;
  REQUIRE(store->write([&](StoreWriter& w) {
    evicted = w.evict_to(static_cast<uint64_t>(total - 1));
  }));
  CHECK_FALSE(hits_pending(dir.path()));
  CHECK(evicted == 1);
  auto got = get(*store, key_of("a"));
  REQUIRE(got);
  CHECK(got->hits == 2);
  CHECK(got->last_used_ms == 5'000); // the later use, whatever the order
  CHECK_FALSE(get(*store, key_of("b")));
  CHECK(counter(*store, "hits") == 3);
}

TEST_CASE("a reader opening the cache sees the logged hits") {
  TempDir dir;
  std::string a = pattern_bytes(100, 3);
  {
    auto store = open_store(dir.path());
    put(*store, key_of("a"), make_entry(a, "", {}, 100), a, "");
    REQUIRE(store->log_hit(key_of("a"), 7'000, { { "hits@gh", 1 } }));
  }
  auto reader = open_store(dir.path(), storage::Access::read_only);
  CHECK_FALSE(hits_pending(dir.path()));
  CHECK(get(*reader, key_of("a"))->hits == 1);
  CHECK(counter(*reader, "hits@gh") == 1);
}

TEST_CASE("damaged hit log records are skipped, the good ones kept") {
  HitRecord one{ key_of("one"), 1, { { "hits", 1 }, { "time_saved_ms", 9 } } };
  HitRecord two{ key_of("two"), 2, {} };
  std::string first = encode_hit(one), second = encode_hit(two);

  auto decoded = decode_hits(first + second);
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[0].key == one.key);
  CHECK(decoded[0].now_ms == 1);
  CHECK(decoded[0].counters == one.counters);
  CHECK(decoded[1].key == two.key);

  // A torn record (a short write on a full disk) before a good one.
  decoded = decode_hits(first.substr(0, first.size() - 3) + second);
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0].key == two.key);
  // A flipped byte fails the record's check.
  std::string flipped = first;
  flipped[20] ^= 1;
  decoded = decode_hits(flipped + second);
  REQUIRE(decoded.size() == 1);
  CHECK(decoded[0].key == two.key);
  // A length that claims more than there is, and plain garbage.
  std::string lying = first;
  lying[4] = '\xff';
  CHECK(decode_hits(lying).empty());
  CHECK(decode_hits("IHL1IHL1\x01\x02 garbage IHL").empty());
  CHECK(decode_hits("").empty());
}

TEST_CASE("remove_tagged removes only the entries with that tag") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string x = "x", y = "y", z = "z", w = "w";
  put(*store,
      key_of("1"),
      make_entry(x, "", { "gh:pr:o/r", "gh:repo:o/r" }),
      x,
      "");
  put(*store, key_of("2"), make_entry(y, "", { "gh:pr:o/r2" }), y, "");
  put(*store, key_of("3"), make_entry(z, "", { "gh:pr:o/r/x" }), z, "");
  put(*store, key_of("4"), make_entry(w, "", { "gh:pr:o/r" }), w, "");

  size_t removed = 0;
  REQUIRE(store->write(
    [&](StoreWriter& wr) { removed = wr.remove_tagged("gh:pr:o/r"); }));
  CHECK(removed == 2);
  CHECK_FALSE(get(*store, key_of("1")));
  CHECK_FALSE(get(*store, key_of("4")));
  // Tags that merely start with the same text are other tags.
  CHECK(get(*store, key_of("2")));
  CHECK(get(*store, key_of("3")));
  // The removed entry's other tags went with it.
  REQUIRE(store->write(
    [&](StoreWriter& wr) { removed = wr.remove_tagged("gh:repo:o/r"); }));
  CHECK(removed == 0);
  REQUIRE(store->write(
    [&](StoreWriter& wr) { removed = wr.remove_tagged("gh:pr"); }));
  CHECK(removed == 0);
  CHECK(entry_count(*store) == 2);
}

TEST_CASE("evict_to removes the least recently used entries first") {
  TempDir dir;
  auto store = open_store(dir.path());
  // Out of order on purpose: the keys' order is not the LRU order.
  struct Item {
    const char* name;
    int64_t last_used;
  } items[] = {
    { "k-a", 300 }, { "k-b", 100 }, { "k-c", 400 }, { "k-d", 200 }
  };
  uint32_t seed = 0;
  for (const auto& item : items) {
    auto out = pattern_bytes(2000, ++seed);
    put(*store,
        key_of(item.name),
        make_entry(out, "", {}, item.last_used),
        out,
        "");
  }
  auto evict = [&](uint64_t max) {
    size_t n = 0;
    REQUIRE(store->write([&](StoreWriter& w) { n = w.evict_to(max); }));
    return n;
  };
  int64_t total = counter(*store, "stored_bytes");
  CHECK(total >= 4 * 2000);
  // Already small enough: nothing goes.
  CHECK(evict(static_cast<uint64_t>(total)) == 0);
  CHECK(entry_count(*store) == 4);

  CHECK(evict(static_cast<uint64_t>(total - 1)) == 1);
  CHECK_FALSE(get(*store, key_of("k-b")));
  CHECK(entry_count(*store) == 3);

  total = counter(*store, "stored_bytes");
  CHECK(evict(static_cast<uint64_t>(total - 1)) == 1);
  CHECK_FALSE(get(*store, key_of("k-d")));
  CHECK(get(*store, key_of("k-a")));
  CHECK(get(*store, key_of("k-c")));

  // Room for about one entry: the newest stays.
  CHECK(evict(2500) == 1);
  CHECK(get(*store, key_of("k-c")));
  CHECK_FALSE(get(*store, key_of("k-a")));

  CHECK(evict(0) == 1);
  CHECK(entry_count(*store) == 0);
  CHECK(counter(*store, "stored_bytes") == 0);
  CHECK(evict(0) == 0);
}

TEST_CASE("a blob over the inline limit is a file under blobs/") {
  TempDir dir;
  auto store = open_store(dir / "cache");
  std::string big = pattern_bytes(kInlineBlobLimit + 4097, 42);
  auto digest = sha256(big);

  // As exec::run leaves it: a spill file in the cache's tmp/ directory.
  auto spill = [&](const char* name) {
    fs::create_directories(store->tmp_dir());
    auto path = store->tmp_dir() / name;
    REQUIRE(util::write_file_atomic(path, big, 0600));
    return path;
  };
  Entry e = make_entry(big, "small");
  BlobSource blobs[2] = { { digest, big.size(), {}, spill("spill.1") },
                          memory_blob("small") };
  REQUIRE(
    store->write([&](StoreWriter& w) { w.put_entry(key_of("1"), e, blobs); }));

  auto path = store->blob_path(digest);
  CHECK(path.string().starts_with((dir / "cache" / "blobs").string()));
  REQUIRE(fs::exists(path));
  CHECK(fs::file_size(path) == big.size());
  auto got = get_blob(*store, digest, big.size());
  REQUIRE(got);
  CHECK(sha256(*got) == digest);
  CHECK(counter(*store, "stored_bytes") >=
        static_cast<int64_t>(big.size() + 5));
  // A wrong size is not the blob.
  CHECK_FALSE(get_blob(*store, digest, big.size() - 1));

  // A second entry with the same output: still one file.
  BlobSource again[2] = { { digest, big.size(), {}, spill("spill.2") },
                          memory_blob("small") };
  REQUIRE(
    store->write([&](StoreWriter& w) { w.put_entry(key_of("2"), e, again); }));
  CHECK(files_under(dir / "cache" / "blobs") == 1);

  remove(*store, key_of("1"));
  CHECK(fs::exists(path));
  CHECK(get_blob(*store, digest, big.size()));
  remove(*store, key_of("2"));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(get_blob(*store, digest, big.size()));
  CHECK(counter(*store, "stored_bytes") == 0);

  // A large blob given in memory is written out too.
  BlobSource from_memory[2] = { memory_blob(big), memory_blob("") };
  Entry m = make_entry(big, "");
  REQUIRE(store->write(
    [&](StoreWriter& w) { w.put_entry(key_of("3"), m, from_memory); }));
  got = get_blob(*store, digest, big.size());
  REQUIRE(got);
  CHECK(*got == big);
}

TEST_CASE("a blob file is kept when its last entry is replaced in one write") {
  // release_blob schedules the file for unlinking after the commit; a
  // put_blob of the same digest later in the same transaction finds the
  // file still there and keeps it, but the unlink runs anyway.
  TempDir dir;
  auto store = open_store(dir.path());
  std::string big = pattern_bytes(kInlineBlobLimit + 1, 9);
  auto digest = sha256(big);
  Entry e = make_entry(big, "");
  BlobSource blobs[2] = { memory_blob(big), memory_blob("") };
  REQUIRE(store->write(
    [&](StoreWriter& w) { w.put_entry(key_of("old"), e, blobs); }));
  REQUIRE(store->write([&](StoreWriter& w) {
    w.remove_entry(key_of("old"));
    w.put_entry(key_of("new"), e, blobs);
  }));
  REQUIRE(get(*store, key_of("new")));
  CHECK(get_blob(*store, digest, big.size()));
}

TEST_CASE("a shared blob file found damaged or gone is written again") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string big = pattern_bytes(kInlineBlobLimit + 4096, 7);
  auto digest = sha256(big);
  Entry e = make_entry(big, "");
  BlobSource blobs[2] = { memory_blob(big), memory_blob("") };
  REQUIRE(store->write([&](StoreWriter& w) {
    w.put_entry(key_of("1"), e, blobs);
    w.put_entry(key_of("2"), e, blobs);
  }));
  auto stored = counter(*store, "stored_bytes");
  auto path = store->blob_path(digest);
  REQUIRE(fs::exists(path));

  // One byte changed on disk: read, it does not verify, and the read says
  // which file it was.
  {
    auto bytes = util::read_file(path);
    REQUIRE(bytes);
    (*bytes)[1000] ^= 1;
    REQUIRE(util::write_file_atomic(path, *bytes, 0600));
  }
  std::optional<FileId> seen;
  std::optional<Digest> read_digest;
  bool other_file = true;
  REQUIRE(store->read([&](StoreReader& r) {
    if (auto b = r.blob(digest, big.size())) {
      read_digest = sha256(*b);
    }
    seen = r.blob_file(digest);
    other_file = r.blob_file(sha256("another")).has_value();
  }));
  REQUIRE(read_digest);
  CHECK(*read_digest != digest);
  CHECK_FALSE(other_file);
  REQUIRE(seen);

  // A file written since (by another process) is not the one seen: kept.
  {
    auto bytes = util::read_file(path);
    REQUIRE(bytes);
    REQUIRE(util::write_file_atomic(path, *bytes, 0600));
  }
  REQUIRE(
    store->write([&](StoreWriter& w) { w.discard_blob_file(digest, *seen); }));
  CHECK(fs::exists(path));

  // The one seen goes with the entry that found it; the next put of those
  // bytes writes it again, though the other entry still counts it.
  REQUIRE(store->read([&](StoreReader& r) {
    (void)r.blob(digest, big.size());
    seen = r.blob_file(digest);
  }));
  REQUIRE(seen);
  REQUIRE(store->write([&](StoreWriter& w) {
    w.remove_entry(key_of("1"));
    w.discard_blob_file(digest, *seen);
  }));
  CHECK_FALSE(fs::exists(path));
  REQUIRE(
    store->write([&](StoreWriter& w) { w.put_entry(key_of("1"), e, blobs); }));
  auto got = get_blob(*store, digest, big.size());
  REQUIRE(got);
  CHECK(*got == big);
  CHECK(counter(*store, "stored_bytes") == stored);

  // A file deleted or cut short is written again by the next put too.
  for (bool truncate : { false, true }) {
    CAPTURE(truncate);
    if (truncate) {
      fs::resize_file(path, 4096);
    } else {
      fs::remove(path);
    }
    REQUIRE(store->write([&](StoreWriter& w) {
      w.remove_entry(key_of("2"));
      w.put_entry(key_of("2"), e, blobs);
    }));
    got = get_blob(*store, digest, big.size());
    REQUIRE(got);
    CHECK(*got == big);
    CHECK(counter(*store, "stored_bytes") == stored);
  }
}

TEST_CASE("a corrupt entry record is reported through corrupt") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string out = "good";
  put(*store, key_of("good"), make_entry(out, ""), out, "");
  put(*store, key_of("bad"), make_entry("b", "", { "t:x:y" }), "b", "");

  // Overwrite the record with bytes that are not an entry, behind the
  // store's back.
  auto key = key_of("bad");
  auto written = store->write([&](StoreWriter& w) {
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(w.txn(), "entries", 0, &dbi) == MDB_SUCCESS);
    std::string garbage = "\x01not an entry at all";
    MDB_val k{ key.size(), key.data() };
    MDB_val v{ garbage.size(), garbage.data() };
    REQUIRE(mdb_put(w.txn(), dbi, &k, &v, 0) == MDB_SUCCESS);
  });
  REQUIRE(written);

  bool corrupt = false;
  std::optional<Entry> got;
  REQUIRE(store->read([&](StoreReader& r) { got = r.entry(key, &corrupt); }));
  CHECK_FALSE(got);
  CHECK(corrupt);

  corrupt = false;
  REQUIRE(store->read(
    [&](StoreReader& r) { got = r.entry(key_of("good"), &corrupt); }));
  CHECK(got);
  CHECK_FALSE(corrupt);
  // Iteration skips the corrupt record.
  CHECK(entry_count(*store) == 1);
  // It can still be removed, by its tag too.
  size_t removed = 0;
  REQUIRE(
    store->write([&](StoreWriter& w) { removed = w.remove_tagged("t:x:y"); }));
  CHECK(removed == 1);
  REQUIRE(store->read([&](StoreReader& r) { got = r.entry(key, &corrupt); }));
  CHECK_FALSE(got);
  CHECK(get(*store, key_of("good")));
}

TEST_CASE("a garbage data.mdb is an error, not a crash") {
  for (size_t size : { size_t{ 7 }, size_t{ 4096 }, size_t{ 65536 } }) {
    CAPTURE(size);
    TempDir dir;
    REQUIRE(
      util::write_file_atomic(dir / "data.mdb",
                              pattern_bytes(size, static_cast<uint32_t>(size)),
                              0600));
    auto rw = Store::open(dir.path(), storage::Access::read_write);
    CHECK_FALSE(rw);
    if (!rw) {
      CHECK(rw.error().find(dir.path().string()) != std::string::npos);
    }
    auto ro = Store::open(dir.path(), storage::Access::read_only);
    CHECK_FALSE(ro);
  }
}

TEST_CASE("a truncated data file is set aside, never to be opened again") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    for (int i = 0; i < 20; ++i) {
      std::string out = pattern_bytes(3000, i);
      put(*store, key_of(std::to_string(i)), make_entry(out, ""), out, "");
    }
  }
  // Only the meta pages are left: the tables' pages lie past the end.
  REQUIRE(::truncate((dir / "data.mdb").c_str(), 8192) == 0);
  auto opened = Store::open(dir.path(), storage::Access::read_write);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().find("is corrupt") != std::string::npos);
  CHECK(opened.error().find("set aside as") != std::string::npos);
  auto aside = set_aside_files(dir.path());
  REQUIRE(aside.size() == 1);
  CHECK(fs::file_size(aside[0]) == 8192);
  CHECK_FALSE(fs::exists(dir / "data.mdb"));
  CHECK_FALSE(fs::exists(dir / "lock.mdb"));
  CHECK(Store::corruption_in(dir.path()) == opened.error());
  // This process never opens that cache again, not even the fresh one.
  auto again = Store::open(dir.path(), storage::Access::read_write);
  REQUIRE_FALSE(again);
  CHECK(again.error() == opened.error());
  CHECK_FALSE(fs::exists(dir / "data.mdb"));
}

TEST_CASE("after found_corrupt nothing is read or written") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::string out = "good";
  put(*store, key_of("a"), make_entry(out, ""), out, "");
  auto read = store->read([&](StoreReader& r) {
    CHECK(r.entry(key_of("a")));
    store->found_corrupt("a test says so");
  });
  REQUIRE_FALSE(read);
  CHECK(read.error().find("(a test says so); set aside as") !=
        std::string::npos);
  CHECK(store->corrupt());
  bool ran = false;
  CHECK_FALSE(store->read([&](StoreReader&) { ran = true; }));
  CHECK_FALSE(store->write([&](StoreWriter&) { ran = true; }));
  CHECK_FALSE(ran);
  // A write that finds it corrupt commits nothing.
  TempDir other;
  auto second = open_store(other.path());
  auto size = fs::file_size(other / "data.mdb");
  auto written = second->write([&](StoreWriter& w) {
    w.set_meta("k", std::string(100000, 'x'));
    second->found_corrupt("found while writing");
  });
  CHECK_FALSE(written);
  auto aside = set_aside_files(other.path());
  REQUIRE(aside.size() == 1);
  CHECK(fs::file_size(aside[0]) == size);
}

TEST_CASE("opening read-only where there is no cache is an error") {
  TempDir dir;
  auto empty = Store::open(dir.path(), storage::Access::read_only);
  CHECK_FALSE(empty);
  auto missing =
    Store::open(dir / "does" / "not" / "exist", storage::Access::read_only);
  CHECK_FALSE(missing);
  CHECK_FALSE(fs::exists(dir / "does"));

  // A cache written before opens read-only, and refuses writes.
  {
    auto rw = open_store(dir / "c");
    put(*rw, key_of("k"), make_entry("o", ""), "o", "");
  }
  auto ro = open_store(dir / "c", storage::Access::read_only);
  CHECK(ro->read_only());
  CHECK(get(*ro, key_of("k")));
  CHECK_FALSE(ro->write([](StoreWriter&) {}));

  // A path that is a file is not a cache directory.
  REQUIRE(util::write_file_atomic(dir / "file", "x", 0600));
  CHECK_FALSE(Store::open(dir / "file", storage::Access::read_write));
}

TEST_CASE("counters and metadata round trip") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store->write([](StoreWriter& w) {
    w.add_counter("hits", 5);
    w.add_counter("hits", -2);
    w.add_counter("hits@gh", 7);
    w.add_counter("hits@gh/pr-list", 4);
    w.add_counter("misses", 1);
    w.set_counter("big", int64_t{ 1 } << 40);
    w.set_counter("negative", -7);
    w.set_meta("namespace_key", std::string("\0\x01\xff", 3));
  }));
  CHECK(counter(*store, "hits") == 3);
  CHECK(counter(*store, "hits@gh") == 7);
  CHECK(counter(*store, "big") == int64_t{ 1 } << 40);
  CHECK(counter(*store, "negative") == -7);
  CHECK(counter(*store, "absent") == 0);

  std::map<std::string, int64_t> all, hits;
  std::optional<std::string> meta, no_meta;
  REQUIRE(store->read([&](StoreReader& r) {
    all = r.counters();
    hits = r.counters("hits@");
    meta = r.meta("namespace_key");
    no_meta = r.meta("other");
  }));
  CHECK(hits == std::map<std::string, int64_t>{ { "hits@gh", 7 },
                                                { "hits@gh/pr-list", 4 } });
  CHECK(all.at("hits") == 3);
  CHECK(all.at("misses") == 1);
  CHECK(all.at("negative") == -7);
  CHECK(all.size() == 6);
  CHECK(meta == std::string("\0\x01\xff", 3));
  CHECK_FALSE(no_meta);

  REQUIRE(store->write([](StoreWriter& w) { w.set_counter("hits", 0); }));
  CHECK(counter(*store, "hits") == 0);
  // Persisted.
  store.reset();
  store = open_store(dir.path());
  CHECK(counter(*store, "hits@gh") == 7);
}

TEST_CASE("a write that fails leaves nothing behind") {
  TempDir dir;
  auto store = open_store(dir.path());
  // A spill file that does not exist: put_blob cannot read it.
  BlobSource blobs[2] = { { sha256("x"), 1, {}, dir / "missing" },
                          memory_blob("") };
  auto w = store->write([&](StoreWriter& w) {
    w.add_counter("hits", 1);
    w.put_entry(key_of("k"), make_entry("x", ""), blobs);
  });
  CHECK_FALSE(w);
  CHECK_FALSE(get(*store, key_of("k")));
  CHECK(counter(*store, "hits") == 0);
  CHECK(counter(*store, "stored_bytes") == 0);
}

TEST_CASE("the map grows past its initial size") {
  TempDir dir;
  auto store = open_store(dir.path());
  // 36 distinct blobs of 8 MiB (the largest kept inline): 288 MiB, more than
  // the initial 256 MiB map.
  constexpr int kCount = 36;
  std::string blob = pattern_bytes(kInlineBlobLimit, 1);
  std::vector<Digest> digests;
  for (int i = 0; i < kCount; ++i) {
    std::memcpy(blob.data(), &i, sizeof(i)); // distinct content
    Entry e = make_entry(blob, "");
    digests.push_back(e.stdout_digest);
    BlobSource blobs[2] = { memory_blob(blob), memory_blob("") };
    auto key = key_of("grow" + std::to_string(i));
    auto w = store->write([&](StoreWriter& w) { w.put_entry(key, e, blobs); });
    REQUIRE_MESSAGE(w, "entry " << i << ": " << w.error());
  }
  CHECK(fs::file_size(dir / "data.mdb") > (uint64_t{ 256 } << 20));
  CHECK(files_under(dir / "blobs") == 0); // all inline

  auto check_all = [&](Store& s) {
    int good = 0;
    auto r = s.read([&](StoreReader& r) {
      for (int i = 0; i < kCount; ++i) {
        auto e = r.entry(key_of("grow" + std::to_string(i)));
        if (!e || e->stdout_digest != digests[i]) {
          continue;
        }
        auto b = r.blob(e->stdout_digest, e->stdout_size);
        if (b && sha256(*b) == digests[i]) {
          ++good;
        }
      }
    });
    REQUIRE(r);
    return good;
  };
  CHECK(check_all(*store) == kCount);
  CHECK(counter(*store, "entries") == kCount);

  // Reopened, the larger file opens with a map that fits it.
  // (Only the last entry is read again: the entries are all there.)
  store.reset();
  store = open_store(dir.path());
  CHECK(entry_count(*store) == static_cast<size_t>(kCount));
  auto last = get(*store, key_of("grow" + std::to_string(kCount - 1)));
  REQUIRE(last);
  auto bytes = get_blob(*store, last->stdout_digest, last->stdout_size);
  REQUIRE(bytes);
  CHECK(sha256(*bytes) == digests.back());
  // And it can still be written.
  put(*store, key_of("after"), make_entry("x", ""), "x", "");
  CHECK(get(*store, key_of("after")));
}
