#include "util/zstd.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <memory>
#include <unistd.h>
#include <zstd.h>

namespace ipfsacc::util {

namespace {

constexpr uint8_t kZstdMagic[] = { 0x28, 0xb5, 0x2f, 0xfd };

// The chunk a file is read in while it is compressed.
constexpr size_t kCompressChunk = 1 << 20;

// The largest window a frame may ask for: what the levels offered here use
// for large inputs (level 19: 8 MiB) with a margin. A frame asking more was
// not made by us.
constexpr int kMaxWindowLog = 24;
// zstd's smallest window (ZSTD_WINDOWLOG_ABSOLUTEMIN, in its static API).
constexpr int kMinWindowLog = 10;

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
using CCtx = std::unique_ptr<ZSTD_CCtx, CCtxFree>;
using DCtx = std::unique_ptr<ZSTD_DCtx, DCtxFree>;

CCtx compressor(int level) {
  CCtx c(ZSTD_createCCtx());
  if (c) {
    ZSTD_CCtx_setParameter(c.get(),
                           ZSTD_c_compressionLevel,
                           std::clamp(level, kZstdMinLevel, kZstdMaxLevel));
  }
  return c;
}

// A decoder whose window is no larger than an output of size bytes needs.
DCtx decompressor(uint64_t size) {
  DCtx d(ZSTD_createDCtx());
  if (d) {
    int log = size <= 1 ? 0 : static_cast<int>(std::bit_width(size - 1));
    ZSTD_DCtx_setParameter(d.get(),
                           ZSTD_d_windowLogMax,
                           std::clamp(log, kMinWindowLog, kMaxWindowLog));
  }
  return d;
}

ssize_t read_retrying(int fd, uint8_t* buf, size_t cap) {
  for (;;) {
    ssize_t n = ::read(fd, buf, cap);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n;
  }
}

} // namespace

bool is_zstd_frame(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kZstdMagic && std::equal(std::begin(kZstdMagic),
                                                         std::end(kZstdMagic),
                                                         bytes.begin());
}

std::optional<std::string> zstd_compress(std::span<const uint8_t> bytes,
                                         int level,
                                         size_t max_size) {
  auto c = compressor(level);
  if (!c || max_size == 0) {
    return std::nullopt;
  }
  std::string frame(max_size, '\0');
  // The frame may not exceed max_size: zstd stops with an error as soon as
  // it would, so an output that does not shrink costs no more than one pass.
  size_t n = ZSTD_compress2(
    c.get(), frame.data(), frame.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(n)) {
    return std::nullopt;
  }
  frame.resize(n);
  return frame;
}

std::optional<uint64_t> zstd_compress_fd(int in,
                                         uint64_t size,
                                         int out,
                                         int level,
                                         uint64_t max_size) {
  auto c = compressor(level);
  if (!c || ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c.get(), size))) {
    return std::nullopt;
  }
  auto in_buf = std::make_unique_for_overwrite<uint8_t[]>(kCompressChunk);
  size_t out_cap = ZSTD_CStreamOutSize();
  auto out_buf = std::make_unique_for_overwrite<uint8_t[]>(out_cap);
  uint64_t read_total = 0;
  uint64_t written = 0;
  auto pump = [&](ZSTD_inBuffer& input, ZSTD_EndDirective mode) -> bool {
    for (;;) {
      ZSTD_outBuffer output{ out_buf.get(), out_cap, 0 };
      size_t left = ZSTD_compressStream2(c.get(), &output, &input, mode);
      if (ZSTD_isError(left)) {
        return false;
      }
      written += output.pos;
      if (written > max_size || !write_all(out, out_buf.get(), output.pos)) {
        return false;
      }
      bool done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
      if (done) {
        return true;
      }
    }
  };
  while (read_total < size) {
    auto want = static_cast<size_t>(
      std::min<uint64_t>(kCompressChunk, size - read_total));
    ssize_t n = read_retrying(in, in_buf.get(), want);
    if (n <= 0) {
      return std::nullopt;
    }
    read_total += static_cast<uint64_t>(n);
    ZSTD_inBuffer input{ in_buf.get(), static_cast<size_t>(n), 0 };
    if (!pump(input, ZSTD_e_continue)) {
      return std::nullopt;
    }
  }
  ZSTD_inBuffer none{ nullptr, 0, 0 };
  if (!pump(none, ZSTD_e_end)) {
    return std::nullopt;
  }
  return written;
}

bool zstd_decompress_exact(std::span<const uint8_t> frame,
                           uint8_t* out,
                           uint64_t size) {
  if (!is_zstd_frame(frame)) {
    return false;
  }
  // A frame that says how much it holds must say size: checked before any
  // work, so a claim of gigabytes costs nothing.
  auto claimed = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (claimed == ZSTD_CONTENTSIZE_ERROR ||
      (claimed != ZSTD_CONTENTSIZE_UNKNOWN && claimed != size)) {
    return false;
  }
  auto d = decompressor(size);
  if (!d) {
    return false;
  }
  // Decoded straight into out: zstd writes no byte past its capacity.
  size_t n = ZSTD_decompressDCtx(
    d.get(), out, static_cast<size_t>(size), frame.data(), frame.size());
  return !ZSTD_isError(n) && n == size;
}

Inflated zstd_decompress_stream(uint64_t size,
                                size_t chunk,
                                const ZstdSource& source,
                                const ZstdSink& sink) {
  auto d = decompressor(size);
  if (!d || chunk == 0) {
    return Inflated::bad;
  }
  auto in_buf = std::make_unique_for_overwrite<uint8_t[]>(chunk);
  auto out_buf = std::make_unique_for_overwrite<uint8_t[]>(chunk);
  uint64_t total = 0;
  size_t last = 1; // what zstd still expects: not 0 until a frame ends
  bool first = true;
  for (;;) {
    ssize_t got = source(in_buf.get(), chunk);
    if (got < 0) {
      return Inflated::bad;
    }
    if (got == 0) {
      break;
    }
    std::span<const uint8_t> read(in_buf.get(), static_cast<size_t>(got));
    if (first) {
      first = false;
      auto claimed = ZSTD_getFrameContentSize(read.data(), read.size());
      if (!is_zstd_frame(read) ||
          (claimed != ZSTD_CONTENTSIZE_UNKNOWN &&
           claimed != ZSTD_CONTENTSIZE_ERROR && claimed != size)) {
        return Inflated::bad;
      }
    }
    ZSTD_inBuffer input{ read.data(), read.size(), 0 };
    while (input.pos < input.size) {
      ZSTD_outBuffer output{ out_buf.get(), chunk, 0 };
      last = ZSTD_decompressStream(d.get(), &output, &input);
      if (ZSTD_isError(last)) {
        return Inflated::bad;
      }
      total += output.pos;
      if (total > size) {
        return Inflated::bad;
      }
      if (output.pos > 0 && !sink(out_buf.get(), output.pos)) {
        return Inflated::sink_failed;
      }
    }
  }
  // zstd may still hold decoded bytes once the input is all read: asked
  // again until the frame ends (0) or nothing more comes (cut short). A
  // frame that ended is not asked again: that would start another one.
  while (last != 0) {
    ZSTD_inBuffer none{ nullptr, 0, 0 };
    ZSTD_outBuffer output{ out_buf.get(), chunk, 0 };
    last = ZSTD_decompressStream(d.get(), &output, &none);
    if (ZSTD_isError(last)) {
      return Inflated::bad;
    }
    total += output.pos;
    if (total > size) {
      return Inflated::bad;
    }
    if (output.pos == 0) {
      break;
    }
    if (!sink(out_buf.get(), output.pos)) {
      return Inflated::sink_failed;
    }
  }
  return last == 0 && total == size ? Inflated::ok : Inflated::bad;
}

} // namespace ipfsacc::util
