#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace ipfsacc::util {

using Millis = std::chrono::milliseconds;

// Parses "500ms", "30s", "5m", "1h", "7d" (a bare number means seconds).
// Returns a message naming the bad text when it is not a duration.
std::expected<Millis, std::string> parse_duration(std::string_view text);

// Formats a duration the short way people read it: "4m48s", "2h", "350ms".
std::string format_duration(Millis d);

// Parses "1G", "500M", "64KiB", "1000" (bytes). Returns a message on error.
std::expected<uint64_t, std::string> parse_size(std::string_view text);

// Formats bytes as "1.2 MB" style text (powers of 1000 like ccache).
std::string format_size(uint64_t bytes);

// Milliseconds since the Unix epoch, from the real-time clock.
int64_t now_ms();

} // namespace ipfsacc::util
