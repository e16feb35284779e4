#pragma once

// zstd frames made and read with bounds: a frame is kept only when it pays,
// and a frame is read only into the number of bytes the caller expects, so a
// damaged or hostile frame that claims more can neither grow memory nor pass
// for the bytes it claims.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>

namespace ipfsacc::util {

// The levels zstd offers that are worth a cache's time (its ultra levels
// above 19 need windows far larger than the outputs kept).
constexpr int kZstdMinLevel = 1;
constexpr int kZstdMaxLevel = 19;
constexpr int kZstdDefaultLevel = 3;

// Whether bytes begin with a zstd frame's magic number.
bool is_zstd_frame(std::span<const uint8_t> bytes);

// The zstd frame of bytes at level (its content size recorded in it), or
// nullopt when the frame would be larger than max_size bytes: compressing
// stops as soon as it is known not to pay.
std::optional<std::string> zstd_compress(std::span<const uint8_t> bytes,
                                         int level,
                                         size_t max_size);

// Compresses size bytes read from in (read(2) from its current offset) into
// out (written from its current offset) at level. Returns the frame's size,
// or nullopt when it would exceed max_size bytes, in ended early, or a read
// or write failed; out then holds a partial frame its caller throws away.
std::optional<uint64_t> zstd_compress_fd(int in,
                                         uint64_t size,
                                         int out,
                                         int level,
                                         uint64_t max_size);

// Decompresses frame into out, which holds exactly size bytes. True only
// when frame is one whole zstd frame (or several) that holds exactly size
// bytes; nothing is ever written past out + size, and the decoder's memory
// is bounded by size whatever window the frame asks for.
bool zstd_decompress_exact(std::span<const uint8_t> frame,
                           uint8_t* out,
                           uint64_t size);

// How a streamed decompression ended.
enum class Inflated {
  ok,          // exactly size bytes came out, every one given to the sink
  bad,         // not a frame, damaged, or holding another number of bytes
  sink_failed, // the sink refused a chunk (a full disk)
};

// Reads compressed bytes: fills buf (at most cap bytes) and returns how many
// it gave, 0 at the end, -1 on an error.
using ZstdSource = std::function<ssize_t(uint8_t* buf, size_t cap)>;
// Takes n decompressed bytes; false to stop.
using ZstdSink = std::function<bool(const uint8_t* data, size_t n)>;

// Decompresses a frame read from source, expected to hold exactly size
// bytes, and gives them to sink a chunk (at most chunk bytes) at a time. The
// memory used is a chunk of each side plus a window no larger than size
// needs, whatever the frame claims.
Inflated zstd_decompress_stream(uint64_t size,
                                size_t chunk,
                                const ZstdSource& source,
                                const ZstdSink& sink);

} // namespace ipfsacc::util
