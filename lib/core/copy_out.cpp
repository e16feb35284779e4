#include "core/copy_out.hpp"

#include "util/fs.hpp"
#include "util/zstd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <stdlib.h>
#include <unistd.h>

namespace ipfsacc {

namespace fs = std::filesystem;

namespace {

// A file only this process can reach, in dir: created unlinked (O_TMPFILE),
// or, where the file system cannot, unlinked at once. Bytes copied into it
// stay as they were verified. An empty Fd when dir takes no file.
util::Fd private_file(const fs::path& dir) {
  util::Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) {
    return fd;
  }
  std::string path = (dir / "replay.XXXXXX").string();
  fd = util::Fd(::mkostemp(path.data(), O_CLOEXEC));
  if (fd) {
    ::unlink(path.c_str());
  }
  return fd;
}

// The private file for a large output: in the cache's tmp/ (the file system
// that holds the output already), else in the temporary directory (a cache
// shared read-only).
util::Fd private_file_for_output(const fs::path& tmp_dir) {
  std::error_code ec;
  fs::create_directories(tmp_dir, ec);
  if (auto fd = private_file(tmp_dir)) {
    return fd;
  }
  return private_file(fs::temp_directory_path(ec));
}

// Whether the copy in memory hashes to expected.
Copied check_memory(const std::string& copy, const Digest& expected) {
  auto digest = sha256(
    std::span(reinterpret_cast<const uint8_t*>(copy.data()), copy.size()));
  return digest == expected ? Copied::verified : Copied::bad;
}

// Copies bytes out of the store into to, hashing the copy, so what is
// checked is what is served.
Copied copy_to_memory(std::span<const uint8_t> bytes,
                      const Digest& expected,
                      std::string& to) {
  to.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return check_memory(to, expected);
}

// Decompresses the frame source reads (util::ZstdSource) into the private
// file to, a chunk at a time, hashing each decompressed chunk as it is
// written: what is checked is what is served, and no more than a chunk of
// the output is in memory at once.
Copied inflate_to_file(uint64_t size,
                       const Digest& expected,
                       int to,
                       const util::ZstdSource& source) {
  Sha256 hash;
  auto inflated = util::zstd_decompress_stream(
    size, kCopyChunk, source, [&](const uint8_t* data, size_t n) {
      hash.update(data, n);
      return util::write_all(to, data, n);
    });
  if (inflated == util::Inflated::sink_failed) {
    return Copied::unwritable;
  }
  return inflated == util::Inflated::ok && hash.finish() == expected
           ? Copied::verified
           : Copied::bad;
}

// Copies size bytes into the private file to, a chunk at a time: next(chunk,
// n) fills chunk with the next n bytes, or returns false when the source
// ends early. Each chunk is hashed as it is in our buffer, and that buffer
// is written, so the file holds exactly what was checked.
template<typename Next>
Copied copy_to_file(uint64_t size,
                    const Digest& expected,
                    int to,
                    const Next& next) {
  auto chunk = std::make_unique_for_overwrite<uint8_t[]>(kCopyChunk);
  Sha256 hash;
  for (uint64_t at = 0; at < size; at += kCopyChunk) {
    auto n = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, size - at));
    if (!next(chunk.get(), n)) {
      return Copied::bad;
    }
    hash.update(chunk.get(), n);
    if (!util::write_all(to, chunk.get(), n)) {
      return Copied::unwritable;
    }
  }
  return hash.finish() == expected ? Copied::verified : Copied::bad;
}

// Reads exactly n bytes of fd; false at an early end or an error.
bool read_exactly(int fd, uint8_t* to, size_t n) {
  while (n > 0) {
    ssize_t got = ::read(fd, to, n);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return false;
    }
    to += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// Reads up to cap bytes of fd; 0 at its end, -1 on an error.
ssize_t read_chunk(int fd, uint8_t* to, size_t cap) {
  for (;;) {
    ssize_t got = ::read(fd, to, cap);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    return got;
  }
}

} // namespace

TakenOutput take_output(storage::StoreReader& r,
                        const Digest& digest,
                        uint64_t size,
                        const fs::path& tmp_dir,
                        Output& to) {
  to.digest = digest;
  to.size = size;
  std::string& to_memory = to.memory;
  util::Fd& to_file = to.file;
  TakenOutput taken;
  if (size > kReplayMemoryLimit) {
    to_file = private_file_for_output(tmp_dir);
  }
  if (to_file) {
    auto packed = storage::Packed::no;
    if (auto source = r.blob_file_fd(digest, size, &packed)) {
      if (packed == storage::Packed::yes) {
        taken.copied = inflate_to_file(
          size, digest, to_file.get(), [&](uint8_t* buf, size_t cap) {
            return read_chunk(source.get(), buf, cap);
          });
        return taken;
      }
      taken.copied = copy_to_file(
        size, digest, to_file.get(), [&](uint8_t* chunk, size_t n) {
          return read_exactly(source.get(), chunk, n);
        });
      return taken;
    }
  }
  auto stored = r.stored_blob(digest, size);
  if (!stored) {
    return taken;
  }
  auto bytes = stored->bytes;
  taken.in_data_file = stored->in_data_file;
  if (stored->packed == storage::Packed::yes) {
    if (!to_file) {
      // Decompressed straight into the copy, which is then checked.
      to_memory.resize(size);
      bool whole = util::zstd_decompress_exact(
        bytes, reinterpret_cast<uint8_t*>(to_memory.data()), size);
      taken.copied = whole ? check_memory(to_memory, digest) : Copied::bad;
      return taken;
    }
    uint64_t at = 0;
    taken.copied = inflate_to_file(
      size, digest, to_file.get(), [&](uint8_t* buf, size_t cap) {
        auto n =
          static_cast<size_t>(std::min<uint64_t>(cap, bytes.size() - at));
        std::memcpy(buf, bytes.data() + at, n);
        at += n;
        return static_cast<ssize_t>(n);
      });
    return taken;
  }
  if (!to_file) {
    // Small, or no private file could be made: held in memory.
    taken.copied = copy_to_memory(bytes, digest, to_memory);
  } else if (bytes.size() != size) {
    taken.copied = Copied::bad;
  } else {
    uint64_t at = 0;
    taken.copied =
      copy_to_file(size, digest, to_file.get(), [&](uint8_t* chunk, size_t n) {
        std::memcpy(chunk, bytes.data() + at, n);
        at += n;
        return true;
      });
  }
  return taken;
}

} // namespace ipfsacc
