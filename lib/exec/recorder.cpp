#include "exec/recorder.hpp"

#include <unistd.h>

namespace ipfsacc::exec {

void RecordedStream::remove_file() {
  if (!file.empty()) {
    ::unlink(file.c_str());
    file.clear();
  }
  held.reset();
}

StreamRecorder::StreamRecorder(RecordedStream& stream,
                               const fs::path& spill_dir)
  : stream_(stream)
  , spill_dir_(spill_dir) {}

StreamRecorder::~StreamRecorder() {
  if (spill_fd_ >= 0) {
    ::close(spill_fd_);
  }
}

bool StreamRecorder::add(const char* data, size_t size) {
  hash_.update(data, size);
  stream_.size += size;
  if (failed_) {
    return false;
  }
  if (spill_fd_ < 0) {
    stream_.memory.append(data, size);
    if (stream_.memory.size() > kSpillThreshold && !spill()) {
      failed_ = true;
      return false;
    }
    return true;
  }
  if (!util::write_all(spill_fd_, data, size)) {
    failed_ = true;
  }
  return !failed_;
}

bool StreamRecorder::finish() {
  stream_.digest = hash_.finish();
  // The descriptor stays open with the file, holding its lock.
  if (spill_fd_ >= 0) {
    stream_.held = util::Fd(spill_fd_);
    spill_fd_ = -1;
  }
  return !failed_;
}

bool StreamRecorder::spill() {
  std::error_code ec;
  fs::create_directories(spill_dir_, ec);
  std::string path = (spill_dir_ / "spill.XXXXXX").string();
  spill_fd_ = util::create_held(path).release();
  if (spill_fd_ < 0) {
    return false;
  }
  stream_.file = path;
  bool ok =
    util::write_all(spill_fd_, stream_.memory.data(), stream_.memory.size());
  stream_.memory.clear();
  stream_.memory.shrink_to_fit();
  return ok;
}

} // namespace ipfsacc::exec
