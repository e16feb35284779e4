#pragma once

// Recording one stream of bytes as it passes (a tool's output, an upstream's
// answer behind `serve`): hashed on the way, held in memory while small and
// spilled to a file of its own once large, so a large answer passes with
// bounded memory and the store can take the file over as it is.

#include "core/cid.hpp"
#include "util/fs.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace ipfsacc::exec {

namespace fs = std::filesystem;

// Bytes are kept in memory up to this size, then spilled to a file.
constexpr size_t kSpillThreshold = 1 << 20;

// One recorded stream: in memory, or spilled to a file once large.
struct RecordedStream {
  Digest digest{};
  uint64_t size = 0;
  std::string memory;
  fs::path file; // set when spilled; removed by remove_file
  // Open on file while it exists: its flock says a live process uses it
  // (see util::sweep_unheld).
  util::Fd held;

  // Removes the spill file, unless the store took it over (moved it away).
  void remove_file();
};

class StreamRecorder {
public:
  // Spill files go to spill_dir, created when needed.
  StreamRecorder(RecordedStream& stream, const fs::path& spill_dir);
  ~StreamRecorder();
  StreamRecorder(const StreamRecorder&) = delete;
  StreamRecorder& operator=(const StreamRecorder&) = delete;

  // Returns false when the bytes could not be recorded (a spill file that
  // could not be written); the stream's size and hash still count them.
  bool add(const char* data, size_t size);

  // Sets the stream's digest; the spill file stays open with it, holding
  // its lock. Returns false when something was not recorded.
  bool finish();

private:
  bool spill();

  RecordedStream& stream_;
  fs::path spill_dir_;
  Sha256 hash_;
  int spill_fd_ = -1;
  bool failed_ = false;
};

} // namespace ipfsacc::exec
