#include "storage/hit_log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipfsacc::storage {

namespace {

// A record: magic, the body's length (u32), the body, then the first
// kCheckBytes of the body's SHA-256. The body: key (32 bytes), now_ms
// (i64), the number of counters (u16), then per counter its name's length
// (u16), the name and the delta (i64). Integers little-endian.
constexpr std::string_view kMagic = "IHL1";
constexpr size_t kCheckBytes = 8;
// A hit's record holds a key and a few counters; anything larger is not
// one of ours (and the append falls back to a transaction).
constexpr size_t kMaxBody = 16 * 1024;
constexpr size_t kHeader = 4 + 4;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>(value >> (8 * i)));
  }
}

uint64_t get_le(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= uint64_t(static_cast<uint8_t>(in[at + i])) << (8 * i);
  }
  return value;
}

std::string check_of(std::string_view body) {
  auto digest = sha256(body);
  return { reinterpret_cast<const char*>(digest.data()), kCheckBytes };
}

// The body's record, or nullopt when it does not parse exactly.
std::optional<HitRecord> parse_body(std::string_view body) {
  if (body.size() < 32 + 8 + 2) {
    return std::nullopt;
  }
  HitRecord record;
  std::memcpy(record.key.data(), body.data(), 32);
  record.now_ms = static_cast<int64_t>(get_le(body, 32, 8));
  size_t count = get_le(body, 40, 2);
  size_t at = 42;
  for (size_t i = 0; i < count; ++i) {
    if (body.size() - at < 2) {
      return std::nullopt;
    }
    size_t length = get_le(body, at, 2);
    at += 2;
    if (body.size() - at < length + 8) {
      return std::nullopt;
    }
    std::string name(body.substr(at, length));
    at += length;
    record.counters.emplace_back(std::move(name),
                                 static_cast<int64_t>(get_le(body, at, 8)));
    at += 8;
  }
  if (at != body.size()) {
    return std::nullopt;
  }
  return record;
}

util::Fd open_log(const fs::path& dir, int flags, mode_t mode = 0600) {
  auto path = dir / kHitLogName;
  return util::Fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode));
}

int flock_retrying(int fd, int operation) {
  int rc;
  do {
    rc = ::flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

} // namespace

std::string encode_hit(const HitRecord& record) {
  std::string body(reinterpret_cast<const char*>(record.key.data()), 32);
  put_le(body, static_cast<uint64_t>(record.now_ms), 8);
  put_le(body, record.counters.size(), 2);
  for (const auto& [name, delta] : record.counters) {
    put_le(body, name.size(), 2);
    body += name;
    put_le(body, static_cast<uint64_t>(delta), 8);
  }
  std::string out(kMagic);
  put_le(out, body.size(), 4);
  out += body;
  out += check_of(body);
  return out;
}

std::vector<HitRecord> decode_hits(std::string_view bytes) {
  std::vector<HitRecord> records;
  size_t at = 0;
  while (at < bytes.size()) {
    auto next = bytes.find(kMagic, at);
    if (next == std::string_view::npos) {
      break;
    }
    at = next;
    bool good = false;
    size_t length = 0;
    if (bytes.size() - at >= kHeader) {
      length = get_le(bytes, at + 4, 4);
      if (length <= kMaxBody &&
          bytes.size() - at - kHeader >= length + kCheckBytes) {
        auto body = bytes.substr(at + kHeader, length);
        if (bytes.substr(at + kHeader + length, kCheckBytes) ==
            check_of(body)) {
          if (auto record = parse_body(body)) {
            records.push_back(std::move(*record));
            good = true;
          }
        }
      }
    }
    // A damaged record: look for the next one from the byte after its
    // magic (its length cannot be trusted).
    at += good ? kHeader + length + kCheckBytes : 1;
  }
  return records;
}

Appended append_hit(const fs::path& dir,
                    util::Shared shared,
                    const HitRecord& record) {
  std::string bytes = encode_hit(record);
  if (bytes.size() > kHeader + kMaxBody + kCheckBytes) {
    return Appended::no;
  }
  util::Fd fd = open_log(dir, O_WRONLY | O_APPEND);
  if (!fd && errno == ENOENT) {
    mode_t mode = shared == util::Shared::with_group ? 0660 : 0600;
    fd = open_log(dir, O_WRONLY | O_APPEND | O_CREAT, mode);
    if (fd) {
      util::share_with_group(dir / kHitLogName, shared, mode);
    }
  }
  if (!fd || flock_retrying(fd.get(), LOCK_SH) != 0) {
    return Appended::no;
  }
  // One write(2) of the whole record: appends are atomic with respect to
  // each other, and a short one (a full disk) leaves a torn record that
  // the fold skips.
  ssize_t written;
  do {
    written = ::write(fd.get(), bytes.data(), bytes.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(bytes.size())) {
    return Appended::no;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) > kHitLogFoldAt) {
    return Appended::fold_due;
  }
  return Appended::yes;
}

HitLogFold::HitLogFold(const fs::path& dir, util::Shared shared)
  : dir_(dir)
  , shared_(shared) {
  util::Fd fd = open_log(dir, O_RDWR);
  if (!fd || flock_retrying(fd.get(), LOCK_EX) != 0) {
    return;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    return;
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::pread(fd.get(),
                        bytes.data() + got,
                        bytes.size() - got,
                        static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  if (::ftruncate(fd.get(), 0) != 0) {
    return; // left in the log for the next write
  }
  records_ = decode_hits(bytes);
}

void HitLogFold::restore() {
  for (const auto& record : records_) {
    (void)append_hit(dir_, shared_, record);
  }
  records_.clear();
}

bool hits_pending(const fs::path& dir) {
  struct stat st;
  auto path = dir / kHitLogName;
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

} // namespace ipfsacc::storage
