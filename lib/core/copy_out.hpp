#pragma once

// A stored output copied out of the store and verified against its CID
// before a byte of it is served: into memory when small, else into a
// private, unlinked file, so a large hit costs about what a small one does
// and nobody can cut or change the bytes between their check and their
// write. A call's hit and a proxied hit both take their outputs so.

#include "core/answer.hpp"
#include "core/cid.hpp"
#include "storage/store.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace ipfsacc {

// An output larger than this is copied into a private file.
constexpr uint64_t kReplayMemoryLimit = 4 << 20;

// The chunk a large output is copied (and served) in.
constexpr size_t kCopyChunk = 1 << 20;

// How copying an output out of the store went.
enum class Copied {
  verified,   // the copy hashes to the output's CID
  bad,        // it does not, or the store's bytes ended early
  unwritable, // the copy could not be written (a full disk): not the store's
};

// One output copied out of the store.
struct TakenOutput {
  Copied copied = Copied::bad;
  // The bad bytes were the data file's own: the data file is damaged.
  bool in_data_file = false;
};

// Copies the output digest (size bytes) out of r into to: into memory when
// small; else into a private file (to.file, made in tmp_dir, or the
// temporary directory when tmp_dir takes none), read from its blob file
// with read(2) (a file cut short meanwhile reads short, and the copy then
// does not verify) or from the bytes blob() gives (the data file's mapping,
// under the read's fault guard, or a decrypted buffer).
TakenOutput take_output(storage::StoreReader& r,
                        const Digest& digest,
                        uint64_t size,
                        const std::filesystem::path& tmp_dir,
                        Output& to);

} // namespace ipfsacc
