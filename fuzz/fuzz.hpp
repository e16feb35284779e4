#pragma once
// What every fuzz target shares. Each target is one file defining
// LLVMFuzzerTestOneInput, which libFuzzer calls with every input it tries
// (fuzz/run.sh) and fuzz/replay.cpp with every file of fuzz/corpus/TARGET/
// (the fuzz_corpus test). A target returns 0 for any input: a crash, a
// sanitizer report or a failed check is the finding.

#include "storage/entry.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace ipfsacc::fuzz {

// The input as text (the parsers take string_view) and as bytes.
inline std::string_view text(const uint8_t* data, size_t size) {
  return { reinterpret_cast<const char*>(data), size };
}
inline std::span<const uint8_t> bytes(std::string_view text) {
  return { reinterpret_cast<const uint8_t*>(text.data()), text.size() };
}

// A property every input must keep (what a parser accepted, written again,
// reads back): when it does not hold, the input is a finding, as a crash is.
inline void check(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz: check failed: %s\n", what);
    std::abort();
  }
}

// What replaying an accepted entry relies on: its segments, taken in order,
// stay within its outputs (a hit writes each segment from its output at the
// sum of the sizes before it).
inline void check_segments(const storage::Entry& entry) {
  uint64_t out = 0;
  uint64_t err = 0;
  for (const auto& segment : entry.segments) {
    bool is_out = segment.stream == storage::Stream::out;
    uint64_t& at = is_out ? out : err;
    uint64_t size = is_out ? entry.stdout_size : entry.stderr_size;
    check(at <= size && segment.size <= size - at,
          "an accepted entry's segments stay within its outputs");
    at += segment.size;
  }
}

} // namespace ipfsacc::fuzz
