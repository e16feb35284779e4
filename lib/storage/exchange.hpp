#pragma once

#include "core/cid.hpp"
#include "storage/entry.hpp"

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc::storage {

// The export format (`ipfsacc export`, `ipfsacc import`): JSON Lines, one
// entry per line, self-describing and verifiable:
//
//   {"format":"ipfsacc-export/1","key":"bafkrei…","tool":"gh",
//    "operation":"pr-list","command":"gh pr list","exit_code":0,
//    "created_ms":…,"expires_ms":…,"last_used_ms":…,"duration_ms":…,
//    "hits":…,"segments":[["out",120],["err",8]],"tags":["gh:pr:o/r"],
//    "stdout":{"cid":"bafkrei…","size":120,"base64":"…"},
//    "stderr":{"cid":"bafkrei…","size":8,"base64":"…"}}
//
// "key" is the request CID (the hash of a request document that is not
// exported); "cid" of each output is the CID of its bytes, which the reader
// checks.
constexpr std::string_view kExportFormat = "ipfsacc-export/1";

// One entry read back from an export line, its outputs verified.
struct ExportedEntry {
  Digest key{};
  Entry entry;
  std::string out;
  std::string err;
};

// Returns the export line (without the newline) of an entry whose outputs
// are out and err. The caller redacts entry.display first.
std::string export_line(const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err);

// The same, appended to line.
void append_export_line(std::string& line,
                        const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err);

// Parses an export line and verifies it: every field present with the right
// type, the key a CID, each output's bytes hashing to its CID and of its
// size, the segments accounting for every byte. Returns what is wrong
// otherwise.
std::expected<ExportedEntry, std::string> parse_export_line(
  std::string_view line);

} // namespace ipfsacc::storage
