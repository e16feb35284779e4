#pragma once

#include "core/cid.hpp"
#include "secrets/signing.hpp"
#include "storage/entry.hpp"

#include <cstdint>
#include <expected>
#include <optional>
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
//    "hits":…,"segments":[["out",120],["err",8]],
//    "signature":"…","signer":"…","tags":["gh:pr:o/r"],
//    "stdout":{"cid":"bafkrei…","size":120,"base64":"…"},
//    "stderr":{"cid":"bafkrei…","size":8,"base64":"…"}}
//
// "key" is the request CID (the hash of a request document that is not
// exported); "cid" of each output is the CID of its bytes, which the reader
// checks. "signer" and "signature" (hex) are there when the exporting
// machine holds the signing key (secrets/signing.hpp): an Ed25519 signature
// binding the key to the whole entry (storage::encode_entry of what the line
// reads back as, outputs named by their CIDs and sizes). Readers that do not
// know them ignore them, so the format name stays.
constexpr std::string_view kExportFormat = "ipfsacc-export/1";

// One entry read back from an export line or a CAR archive, its outputs
// verified, with its signature when it carries one (not yet checked).
struct ExportedEntry {
  Digest key{};
  Entry entry;
  std::string out;
  std::string err;
  std::optional<secrets::EntrySignature> signature;
};

// Returns the export line (without the newline) of an entry whose outputs
// are out and err, signed by signer when there is one. The caller redacts
// entry.display first.
std::string export_line(const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err,
                        const secrets::SigningKey* signer = nullptr);

// The same, appended to line.
void append_export_line(std::string& line,
                        const Digest& key,
                        const Entry& entry,
                        std::span<const uint8_t> out,
                        std::span<const uint8_t> err,
                        const secrets::SigningKey* signer = nullptr);

// The signature of an exported entry (a line or a CAR entry block): over
// the key and storage::encode_entry(entry), for an export file.
secrets::EntrySignature sign_exported(const Digest& key,
                                      const Entry& entry,
                                      const secrets::SigningKey& signer);

// Checks the signature of an entry read back from an export (see
// secrets::check_entry_signature): with trusted keys, it must be signed by
// one of them; any signature must verify over the key and the entry as read.
std::expected<void, secrets::SignatureProblem> check_exported_signature(
  const ExportedEntry& exported,
  std::span<const secrets::PublicKey> trusted);

// Parses an export line and verifies it: every field present with the right
// type, the key a CID, each output's bytes hashing to its CID and of its
// size, the segments accounting for every byte. Returns what is wrong
// otherwise.
std::expected<ExportedEntry, std::string> parse_export_line(
  std::string_view line);

} // namespace ipfsacc::storage
