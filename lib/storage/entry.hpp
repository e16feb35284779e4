#pragma once

#include "core/cid.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::storage {

enum class Stream : uint8_t { out = 1, err = 2 };

// A run of bytes the tool wrote to one stream; replaying the segments in
// order restores the original interleaving of stdout and stderr.
struct Segment {
  Stream stream;
  uint64_t size;
};

// Tokens one model spent on a cached answer (LLM tools whose output carries
// its usage), so a hit can count the tokens and cost it saved.
struct ModelTokens {
  std::string model; // "" when the output does not say
  uint64_t input = 0;
  uint64_t output = 0;
};

// Outputs smaller than this are stored as they are, locally and on remotes:
// a frame would save a few bytes at most.
constexpr uint64_t kMinPackedSize = 64;

// An output kept on a remote as a zstd frame: a blob of its own, named by
// the digest of the frame's bytes, so that a reader asking for the output's
// own digest (one that predates compression) never finds a frame there.
struct PackedBlob {
  Digest digest{}; // of the frame
  uint64_t size = 0;
  bool operator==(const PackedBlob&) const = default;
};

// What a cached call recorded. Keyed by the request digest.
struct Entry {
  int32_t exit_code = 0;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  uint32_t duration_ms = 0; // how long the original run took
  uint64_t hits = 0;
  int64_t last_used_ms = 0;
  Digest stdout_digest{};
  uint64_t stdout_size = 0;
  Digest stderr_digest{};
  uint64_t stderr_size = 0;
  std::string tool;
  std::string operation; // the rule id, "run" for `ipfsacc run`
  std::string display;   // argv for people, secrets never included
  std::vector<Segment> segments;
  std::vector<std::string> tags; // "gh:pr:o/r", for invalidation
  // Token usage read from the output when it was stored; empty otherwise.
  std::vector<ModelTokens> usage;
  // The cost the tool itself reported (claude's total_cost_usd), in
  // millionths of a dollar; -1 when it reported none.
  int64_t reported_cost_micro_usd = -1;
  // On a remote only: the frames outputs are kept as there, when they are.
  // An entry with one is encoded in a version that readers predating
  // compression refuse (a miss for them, never a frame served as output).
  std::optional<PackedBlob> stdout_packed;
  std::optional<PackedBlob> stderr_packed;
};

// True when the segments account for exactly stdout_size and stderr_size
// bytes, each segment within what is left of its output: a hit writes every
// segment from its output at the sum of the sizes before it, so a sum that
// wraps around (sizes near 2^64) must not pass for the right total.
bool segments_fit(const Entry& entry);

// Serialises an entry (a small versioned binary format: version 2, or 3
// when it names a packed output).
std::string encode_entry(const Entry& entry);

// Parses encode_entry's output; nullopt when the bytes are not an entry of a
// known version (treated as a corrupt entry by the caller).
std::optional<Entry> decode_entry(std::string_view bytes);

} // namespace ipfsacc::storage
