// Outputs stored as zstd frames: the codec's bounds, and the store reading
// frames and outputs kept whole alike, whatever its own setting, verified
// after decompression.

#include "core/cid.hpp"
#include "core/copy_out.hpp"
#include "secrets/cache_cipher.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/zstd.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

using namespace ipfsacc;
using namespace ipfsacc::storage;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

std::span<const uint8_t> zs_bytes(std::string_view s) {
  return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

// JSON as an API answers it: repetitive, so it compresses well.
std::string zs_json(size_t size) {
  std::string s = "[";
  for (int i = 0; s.size() < size; ++i) {
    s += fmt::format(R"({{"number":{},"title":"Fix the parser for case {}",)"
                     R"("state":"open","author":{{"login":"octocat"}}}},)",
                     i,
                     i * 7);
  }
  s.resize(size);
  return s;
}

// Bytes that do not compress.
std::string zs_noise(size_t size) {
  std::string s(size, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

std::string zs_frame(std::string_view output) {
  auto frame = util::zstd_compress(zs_bytes(output), 3, output.size());
  REQUIRE(frame);
  return *frame;
}

// Streams frame through zstd_decompress_stream in small reads.
util::Inflated zs_inflate(std::string_view frame,
                          uint64_t size,
                          std::string& out,
                          size_t chunk = 4096) {
  size_t at = 0;
  return util::zstd_decompress_stream(
    size,
    chunk,
    [&](uint8_t* buf, size_t cap) {
      size_t n = std::min(cap, frame.size() - at);
      std::memcpy(buf, frame.data() + at, n);
      at += n;
      return static_cast<ssize_t>(n);
    },
    [&](const uint8_t* data, size_t n) {
      out.append(reinterpret_cast<const char*>(data), n);
      return true;
    });
}

Entry zs_entry(const std::string& out) {
  Entry e;
  e.created_ms = 1000;
  e.expires_ms = 61000;
  e.last_used_ms = 1000;
  e.stdout_digest = sha256(out);
  e.stdout_size = out.size();
  e.stderr_digest = empty_digest();
  e.segments.push_back({ Stream::out, out.size() });
  e.tool = "gh";
  e.operation = "api";
  return e;
}

std::unique_ptr<Store> zs_open_store(const fs::path& dir, int level) {
  auto s = Store::open(dir, Access::read_write);
  REQUIRE_MESSAGE(s, s.error());
  (*s)->set_compression(level);
  return std::move(*s);
}

void zs_put(Store& store, const Digest& key, const std::string& out) {
  BlobSource blobs[2];
  blobs[0] = { sha256(out), out.size(), out, {} };
  blobs[1] = { empty_digest(), 0, {}, {} };
  auto w = store.write(
    [&](StoreWriter& w) { w.put_entry(key, zs_entry(out), blobs); });
  REQUIRE_MESSAGE(w, w.error());
}

// The output as a hit takes it: copied out and verified.
std::optional<std::string> zs_take(Store& store, const std::string& out) {
  Output to;
  TakenOutput taken;
  auto r = store.read([&](StoreReader& r) {
    taken = take_output(r, sha256(out), out.size(), store.tmp_dir(), to);
  });
  REQUIRE_MESSAGE(r, r.error());
  if (taken.copied != Copied::verified) {
    return std::nullopt;
  }
  if (!to.file) {
    return to.memory;
  }
  std::string copy(out.size(), '\0');
  REQUIRE(::pread(to.file.get(), copy.data(), copy.size(), 0) ==
          static_cast<ssize_t>(copy.size()));
  return copy;
}

// The size the blob of out takes in the store.
uint64_t zs_stored_size(Store& store, const std::string& out) {
  if (out.size() > kInlineBlobLimit) {
    return fs::file_size(store.blob_path(sha256(out)));
  }
  uint64_t size = 0;
  auto r = store.read([&](StoreReader& r) {
    r.for_each_inline_blob([&](const Digest& d, std::span<const uint8_t> b) {
      if (d == sha256(out)) {
        size = b.size();
      }
      return true;
    });
  });
  REQUIRE(r);
  return size;
}

} // namespace

TEST_CASE("zstd: a frame decompresses to its bytes, whole or streamed") {
  for (size_t size :
       { size_t{ 1000 }, size_t{ 10'000 }, size_t{ 3'000'000 } }) {
    CAPTURE(size);
    auto text = zs_json(size);
    auto frame = zs_frame(text);
    CHECK(util::is_zstd_frame(zs_bytes(frame)));
    CHECK(frame.size() < text.size() / 3);
    std::string back(size, '\0');
    CHECK(util::zstd_decompress_exact(
      zs_bytes(frame), reinterpret_cast<uint8_t*>(back.data()), size));
    CHECK(back == text);
    std::string streamed;
    CHECK(zs_inflate(frame, size, streamed) == util::Inflated::ok);
    CHECK(streamed == text);
  }
}

TEST_CASE("zstd: an output that does not shrink enough yields no frame") {
  auto random = zs_noise(100'000);
  CHECK_FALSE(util::zstd_compress(zs_bytes(random), 3, 90'000));
  auto text = zs_json(100'000);
  CHECK_FALSE(util::zstd_compress(zs_bytes(text), 3, 10));
  CHECK(util::zstd_compress(zs_bytes(text), 3, 90'000));
}

TEST_CASE("zstd: decompression never goes past the size it is given") {
  auto text = zs_json(1'000'000);
  auto frame = zs_frame(text);
  // A frame holding more (or less) than the entry records is refused, and
  // nothing is written past the buffer (a guard byte after it).
  for (uint64_t size :
       { uint64_t{ 1000 }, uint64_t{ 999'999 }, uint64_t{ 1'000'001 } }) {
    CAPTURE(size);
    std::string buffer(size + 1, '\x5a');
    CHECK_FALSE(util::zstd_decompress_exact(
      zs_bytes(frame), reinterpret_cast<uint8_t*>(buffer.data()), size));
    CHECK(buffer.back() == '\x5a');
    std::string streamed;
    CHECK(zs_inflate(frame, size, streamed) == util::Inflated::bad);
    CHECK(streamed.size() <= size);
  }
  // A frame header claiming a terabyte (a content size field of 8 bytes)
  // is refused before anything is allocated for it.
  std::string hostile("\x28\xb5\x2f\xfd", 4);
  hostile += '\xc0'; // frame header descriptor: 8-byte size, single segment
  uint64_t claimed = uint64_t{ 1 } << 40;
  for (int i = 0; i < 8; ++i) {
    hostile += static_cast<char>(claimed >> (8 * i));
  }
  hostile += std::string(16, '\0');
  std::string small(16, '\0');
  CHECK_FALSE(util::zstd_decompress_exact(
    zs_bytes(hostile), reinterpret_cast<uint8_t*>(small.data()), 16));
  std::string streamed;
  CHECK(zs_inflate(hostile, 16, streamed) == util::Inflated::bad);
  // Nor a frame that does not say its size and holds more: decoding stops
  // once it passes the size (its window is refused first when larger than
  // that size needs).
  auto more = zs_json(1 << 20);
  std::string unsized(ZSTD_compressBound(more.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  size_t n =
    ZSTD_compress2(c, unsized.data(), unsized.size(), more.data(), more.size());
  ZSTD_freeCCtx(c);
  REQUIRE_FALSE(ZSTD_isError(n));
  unsized.resize(n);
  std::string guarded(1001, '\x5a');
  CHECK_FALSE(util::zstd_decompress_exact(
    zs_bytes(unsized), reinterpret_cast<uint8_t*>(guarded.data()), 1000));
  CHECK(guarded.back() == '\x5a');
  std::string out;
  CHECK(zs_inflate(unsized, 1000, out) == util::Inflated::bad);
  CHECK(out.size() <= 1000);
  out.clear();
  CHECK(zs_inflate(unsized, more.size(), out) == util::Inflated::ok);
  CHECK(out == more);
}

TEST_CASE("zstd: a damaged frame is refused, never garbage") {
  auto text = zs_json(200'000);
  auto frame = zs_frame(text);
  int refused = 0;
  for (size_t at :
       { size_t{ 0 }, size_t{ 5 }, frame.size() / 2, frame.size() - 1 }) {
    CAPTURE(at);
    auto bad = frame;
    bad[at] = static_cast<char>(bad[at] ^ 0x41);
    std::string back(text.size(), '\0');
    bool ok = util::zstd_decompress_exact(
      zs_bytes(bad), reinterpret_cast<uint8_t*>(back.data()), text.size());
    // zstd has no checksum of its own here: a flip in the literals may
    // still decode, to other bytes, which the CID check then refuses.
    if (!ok) {
      ++refused;
    } else {
      CHECK(back != text);
    }
  }
  CHECK(refused > 0);
  std::string cut;
  CHECK(zs_inflate(std::string_view(frame).substr(0, frame.size() / 2),
                   text.size(),
                   cut) == util::Inflated::bad);
  std::string none;
  CHECK(zs_inflate("not a frame at all", 18, none) == util::Inflated::bad);
}

TEST_CASE("store: outputs are kept as frames when it pays, and read back "
          "verified") {
  TempDir dir;
  auto store = zs_open_store(dir.path(), 3);
  auto text = zs_json(10'000);
  auto random = zs_noise(10'000);
  auto tiny = std::string("ok\n");
  for (const auto* out : { &text, &random, &tiny }) {
    zs_put(*store, sha256(*out), *out);
  }
  CHECK(zs_stored_size(*store, text) < text.size() / 3);
  CHECK(zs_stored_size(*store, random) == random.size());
  CHECK(zs_stored_size(*store, tiny) == tiny.size());
  for (const auto* out : { &text, &random, &tiny }) {
    CHECK(zs_take(*store, *out) == *out);
  }
  // What the outputs take as stored is counted.
  int64_t saved = 0;
  REQUIRE(store->read(
    [&](StoreReader& r) { saved = r.counter("packed_saved_bytes"); }));
  CHECK(saved ==
        static_cast<int64_t>(text.size() - zs_stored_size(*store, text)));
  // Removing the entry gives the saving back.
  REQUIRE(store->write([&](StoreWriter& w) { w.remove_entry(sha256(text)); }));
  REQUIRE(store->read(
    [&](StoreReader& r) { saved = r.counter("packed_saved_bytes"); }));
  CHECK(saved == 0);
}

TEST_CASE("store: entries stored with compression off read with it on, and "
          "the other way round") {
  TempDir dir;
  auto raw = zs_json(20'000);
  auto packed = zs_json(30'000);
  {
    auto store = zs_open_store(dir.path(), 0);
    zs_put(*store, sha256("raw"), raw);
    CHECK(zs_stored_size(*store, raw) == raw.size());
  }
  {
    auto store = zs_open_store(dir.path(), 3);
    CHECK(zs_take(*store, raw) == raw);
    zs_put(*store, sha256("packed"), packed);
    CHECK(zs_stored_size(*store, packed) < packed.size());
  }
  auto store = zs_open_store(dir.path(), 0);
  CHECK(zs_take(*store, packed) == packed);
  CHECK(zs_take(*store, raw) == raw);
}

TEST_CASE("store: a large output is kept as a frame file and copied out "
          "streamed") {
  TempDir dir;
  auto store = zs_open_store(dir.path(), 1);
  // Over the inline limit: a blob file; over the replay limit: a private
  // copy written a chunk at a time.
  auto big = zs_json(kInlineBlobLimit + 1'000'000);
  zs_put(*store, sha256(big), big);
  auto on_disk = fs::file_size(store->blob_path(sha256(big)));
  CHECK(on_disk < big.size() / 3);
  CHECK(zs_take(*store, big) == big);
  // A stored 4-8 MiB output: inline, and still streamed out.
  auto mid = zs_json(kReplayMemoryLimit + 100'000);
  zs_put(*store, sha256(mid), mid);
  CHECK(zs_stored_size(*store, mid) < mid.size() / 3);
  CHECK(zs_take(*store, mid) == mid);
  // Whole in memory for the other readers (export, show).
  std::optional<std::string> whole;
  REQUIRE(store->read([&](StoreReader& r) {
    if (auto b = r.blob(sha256(big), big.size())) {
      whole.emplace(reinterpret_cast<const char*>(b->data()), b->size());
    }
  }));
  CHECK(whole == big);
}

TEST_CASE("store: a damaged frame file is a miss, never garbage") {
  TempDir dir;
  auto store = zs_open_store(dir.path(), 1);
  auto big = zs_json(kInlineBlobLimit + 500'000);
  zs_put(*store, sha256(big), big);
  auto path = store->blob_path(sha256(big));
  auto size = fs::file_size(path);
  REQUIRE(size < big.size());
  {
    // One byte flipped in the middle, as a bad disk would.
    int fd = ::open(path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    char c;
    REQUIRE(::pread(fd, &c, 1, static_cast<off_t>(size / 2)) == 1);
    c = static_cast<char>(c ^ 0x10);
    REQUIRE(::pwrite(fd, &c, 1, static_cast<off_t>(size / 2)) == 1);
    ::close(fd);
  }
  CHECK_FALSE(zs_take(*store, big));
  // Cut short.
  fs::resize_file(path, size / 3);
  CHECK_FALSE(zs_take(*store, big));
  bool missing = false;
  REQUIRE(store->read([&](StoreReader& r) {
    auto b = r.blob(sha256(big), big.size());
    missing = !b || sha256(*b) != sha256(big);
  }));
  CHECK(missing);
}

TEST_CASE("store: a damaged frame in the data file fails its check there") {
  TempDir dir;
  auto store = zs_open_store(dir.path(), 3);
  auto text = zs_json(50'000);
  zs_put(*store, sha256(text), text);
  // The frame as stored, with a byte changed: what blob() gives back is
  // not the output, and says it came from the data file.
  std::string frame;
  REQUIRE(store->read([&](StoreReader& r) {
    auto s = r.stored_blob(sha256(text), text.size());
    REQUIRE(s);
    CHECK(s->packed == Packed::yes);
    CHECK(s->in_data_file);
    frame.assign(reinterpret_cast<const char*>(s->bytes.data()),
                 s->bytes.size());
  }));
  frame.resize(frame.size() / 2);
  REQUIRE(store->write([&](StoreWriter& w) {
    MDB_dbi blobs;
    REQUIRE(mdb_dbi_open(w.txn(), "blobs", 0, &blobs) == MDB_SUCCESS);
    auto digest = sha256(text);
    MDB_val k{ digest.size(), digest.data() };
    MDB_val v{ frame.size(), frame.data() };
    REQUIRE(mdb_put(w.txn(), blobs, &k, &v, 0) == MDB_SUCCESS);
  }));
  Output to;
  TakenOutput taken;
  REQUIRE(store->read([&](StoreReader& r) {
    taken = take_output(r, sha256(text), text.size(), store->tmp_dir(), to);
  }));
  CHECK(taken.copied == Copied::bad);
  CHECK(taken.in_data_file);
}

TEST_CASE("store: encrypted and compressed: compressed, then sealed") {
  TempDir dir;
  auto store = zs_open_store(dir.path(), 3);
  auto key = secrets::SecureBuffer::allocate(secrets::kBlobKeySize);
  REQUIRE(key);
  randombytes_buf(key->data(), key->size());
  store->set_blob_key(std::move(*key));
  auto text = zs_json(40'000);
  auto big = zs_json(kInlineBlobLimit + 100'000);
  zs_put(*store, sha256(text), text);
  zs_put(*store, sha256(big), big);
  auto sealed = zs_stored_size(*store, text);
  CHECK(sealed < text.size() / 3);
  // Nothing of the output shows in what is stored.
  REQUIRE(store->read([&](StoreReader& r) {
    r.for_each_inline_blob([&](const Digest&, std::span<const uint8_t> b) {
      std::string_view stored(reinterpret_cast<const char*>(b.data()),
                              b.size());
      CHECK(stored.find("octocat") == std::string_view::npos);
      CHECK_FALSE(util::is_zstd_frame(b));
      return true;
    });
  }));
  CHECK(fs::file_size(store->blob_path(sha256(big))) < big.size() / 3);
  CHECK(zs_take(*store, text) == text);
  CHECK(zs_take(*store, big) == big);
}
