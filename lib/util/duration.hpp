#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
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

// Parses seconds since the Unix epoch, fractions allowed ("1700000000.5"),
// into milliseconds. Returns nothing for anything else (empty, negative, not
// a number, trailing text, more than 1e13 seconds).
std::optional<int64_t> parse_epoch_seconds(std::string_view text);

// The cache's clock: milliseconds since the Unix epoch. Entries' creation,
// expiry, age and last use are read from it, and only from it. It is the
// real-time clock unless IPFSACC_NOW holds seconds since the epoch
// (fractions allowed), which stops the clock there for the whole process:
// tests set it to move time forward instead of sleeping past a margin. An
// IPFSACC_NOW that is not such a number is ignored.
int64_t now_ms();

// Milliseconds from a clock that only moves forward and that IPFSACC_NOW
// does not set: what timeouts and durations are measured with.
int64_t steady_ms();

// The real-time clock, whatever IPFSACC_NOW says: for comparing with times
// other machines give (an HTTP Retry-After date).
int64_t real_now_ms();

} // namespace ipfsacc::util
