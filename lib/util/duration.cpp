#include "util/duration.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <optional>

namespace ipfsacc::util {

namespace {

struct Unit {
  std::string_view suffix;
  double factor;
};

template<size_t N>
std::expected<double, std::string> parse_with_units(std::string_view text,
                                                    const Unit (&units)[N],
                                                    std::string_view what) {
  auto bad = [&] {
    return std::unexpected(fmt::format("invalid {} '{}'", what, text));
  };
  if (text.empty()) {
    return bad();
  }
  double value = 0;
  auto [end, ec] =
    std::from_chars(text.data(), text.data() + text.size(), value);
  // Beyond 1e15 (ms: 31,000 years; bytes: a petabyte) is a typo, and would
  // overflow once multiplied by the unit.
  if (ec != std::errc() || value < 0 || !std::isfinite(value) || value > 1e15) {
    return bad();
  }
  std::string_view suffix(end, text.data() + text.size() - end);
  for (const auto& unit : units) {
    if (suffix == unit.suffix) {
      if (value * unit.factor > 9e18) {
        return bad();
      }
      return value * unit.factor;
    }
  }
  return bad();
}

} // namespace

std::expected<Millis, std::string> parse_duration(std::string_view text) {
  static const Unit units[] = { { "", 1000 },
                                { "ms", 1 },
                                { "s", 1000 },
                                { "m", 60'000 },
                                { "h", 3'600'000 },
                                { "d", 86'400'000 },
                                { "w", 7 * 86'400'000.0 } };
  auto value = parse_with_units(text, units, "duration");
  if (!value) {
    return std::unexpected(value.error() +
                           " (use a number with ms, s, m, h, d or w)");
  }
  return Millis(static_cast<int64_t>(std::llround(*value)));
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms < 0) {
    std::string negative = "-";
    negative += format_duration(Millis(-ms));
    return negative;
  }
  if (ms < 1000) {
    return fmt::format("{}ms", ms);
  }
  int64_t s = ms / 1000;
  struct Part {
    int64_t size;
    char name;
  };
  static const Part parts[] = {
    { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' }
  };
  std::string out;
  int shown = 0;
  for (const auto& part : parts) {
    if (s >= part.size && shown < 2) {
      out += fmt::format("{}{}", s / part.size, part.name);
      s %= part.size;
      ++shown;
    } else if (shown > 0) {
      ++shown; // Only two adjacent units: "1d3h", not "1d0h5m".
    }
  }
  return out;
}

std::expected<uint64_t, std::string> parse_size(std::string_view text) {
  static const Unit units[] = { { "", 1 },
                                { "B", 1 },
                                { "k", 1e3 },
                                { "K", 1e3 },
                                { "kB", 1e3 },
                                { "KB", 1e3 },
                                { "M", 1e6 },
                                { "MB", 1e6 },
                                { "G", 1e9 },
                                { "GB", 1e9 },
                                { "T", 1e12 },
                                { "TB", 1e12 },
                                { "Ki", 1024.0 },
                                { "KiB", 1024.0 },
                                { "Mi", 1048576.0 },
                                { "MiB", 1048576.0 },
                                { "Gi", 1073741824.0 },
                                { "GiB", 1073741824.0 } };
  auto value = parse_with_units(text, units, "size");
  if (!value) {
    return std::unexpected(value.error() + " (e.g. 500M, 1G, 2GiB)");
  }
  return static_cast<uint64_t>(std::llround(*value));
}

std::string format_size(uint64_t bytes) {
  if (bytes < 1000) {
    return fmt::format("{} B", bytes);
  }
  static const char* units[] = { "kB", "MB", "GB", "TB" };
  double value = static_cast<double>(bytes);
  size_t i = 0;
  for (value /= 1000; value >= 1000 && i + 1 < std::size(units); ++i) {
    value /= 1000;
  }
  return fmt::format("{:.1f} {}", value, units[i]);
}

int64_t real_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
    .count();
}

std::optional<int64_t> parse_epoch_seconds(std::string_view text) {
  double seconds = 0;
  auto [end, ec] =
    std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(seconds) || seconds < 0 || seconds > 1e13) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(seconds * 1000));
}

int64_t now_ms() {
  // Read once: every part of a call sees the same setting.
  static const std::optional<int64_t> fixed = [] {
    const char* text = std::getenv("IPFSACC_NOW");
    return text ? parse_epoch_seconds(text) : std::nullopt;
  }();
  return fixed ? *fixed : real_now_ms();
}

} // namespace ipfsacc::util
