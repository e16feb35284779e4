#include "secrets/store.hpp"

#include "core/config.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"
#include "util/trusted_dir.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace ipfsacc::secrets {

namespace {

// The file: a header, authenticated as the AEAD's associated data, then the
// ciphertext of Secrets::serialize() and its tag.
//
//   0  magic      8 bytes: "IPFSACCS" (store) or "IPFSACCX" (export)
//   8  version    1 byte: 1
//   9  key mode   1 byte: 1 key file, 2 passphrase (Argon2id)
//  10  reserved   2 bytes: 0
//  passphrase mode only:
//  12  opslimit   8 bytes, little-endian
//  20  memlimit   8 bytes, little-endian
//  28  salt       16 bytes
//  then nonce     24 bytes, fresh for every write
constexpr std::string_view kStoreMagic = "IPFSACCS";
constexpr std::string_view kExportMagic = "IPFSACCX";
constexpr uint8_t kVersion = 1;
constexpr size_t kKeySize = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kStoreNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
// Bounds on the cost read from a header, so that a modified header cannot
// make us allocate gigabytes before authentication fails.
constexpr uint64_t kMaxOpslimit = 20;
constexpr uint64_t kMaxMemlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;

static_assert(kKeySize == 32 && kSaltSize == 16 && kStoreNonceSize == 24);

struct Header {
  std::string_view magic = kStoreMagic;
  KeyMode mode = KeyMode::key_file;
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  std::array<uint8_t, kSaltSize> salt{};
  std::array<uint8_t, kStoreNonceSize> nonce{};
};

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(v >> (8 * i)));
  }
}

uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t(static_cast<uint8_t>(in[i])) << (8 * i);
  }
  return v;
}

std::string encode_header(const Header& h) {
  std::string out(h.magic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(h.mode));
  out.append(2, '\0');
  if (h.mode == KeyMode::passphrase) {
    put_u64(out, h.opslimit);
    put_u64(out, h.memlimit);
    out.append(reinterpret_cast<const char*>(h.salt.data()), h.salt.size());
  }
  out.append(reinterpret_cast<const char*>(h.nonce.data()), h.nonce.size());
  return out;
}

// Parses the header at the start of file; returns its size with it, or why
// it does not parse (which the caller reports as an authentication failure:
// a modified header is a modified file).
std::expected<std::pair<Header, size_t>, std::string> decode_header(
  std::string_view file,
  std::string_view magic) {
  Header h;
  h.magic = magic;
  if (file.size() < 12 || file.substr(0, 8) != magic) {
    return std::unexpected("not a secrets file of this kind, or truncated");
  }
  if (static_cast<uint8_t>(file[8]) != kVersion) {
    return std::unexpected(
      fmt::format("unknown format version {}", static_cast<uint8_t>(file[8])));
  }
  auto mode = static_cast<uint8_t>(file[9]);
  if ((mode != 1 && mode != 2) || file[10] != 0 || file[11] != 0) {
    return std::unexpected("unknown key mode");
  }
  h.mode = static_cast<KeyMode>(mode);
  size_t pos = 12;
  if (h.mode == KeyMode::passphrase) {
    if (file.size() < pos + 16 + kSaltSize) {
      return std::unexpected("truncated header");
    }
    h.opslimit = get_u64(file.substr(pos));
    h.memlimit = get_u64(file.substr(pos + 8));
    std::memcpy(h.salt.data(), file.data() + pos + 16, kSaltSize);
    pos += 16 + kSaltSize;
    if (h.opslimit < crypto_pwhash_OPSLIMIT_MIN || h.opslimit > kMaxOpslimit ||
        h.memlimit < crypto_pwhash_MEMLIMIT_MIN || h.memlimit > kMaxMemlimit) {
      return std::unexpected("key derivation cost out of range");
    }
  }
  if (file.size() < pos + kStoreNonceSize + kTagSize) {
    return std::unexpected("truncated");
  }
  std::memcpy(h.nonce.data(), file.data() + pos, kStoreNonceSize);
  return std::pair{ h, pos + kStoreNonceSize };
}

// Encrypts plain under key with a fresh nonce; returns header ‖ ciphertext.
std::string seal(Header h,
                 const SecureBuffer& key,
                 std::span<const uint8_t> plain) {
  randombytes_buf(h.nonce.data(), h.nonce.size());
  std::string out = encode_header(h);
  size_t head = out.size();
  out.resize(head + plain.size() + kTagSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    reinterpret_cast<unsigned char*>(out.data() + head),
    &written,
    plain.data(),
    plain.size(),
    reinterpret_cast<const unsigned char*>(out.data()),
    head,
    nullptr,
    h.nonce.data(),
    key.data());
  return out;
}

// Decrypts what seal() wrote; nullopt when it does not authenticate.
std::optional<SecureBuffer> unseal(std::string_view file,
                                   const Header& h,
                                   size_t head,
                                   const SecureBuffer& key) {
  if (key.size() != kKeySize || file.size() < head + kTagSize) {
    return std::nullopt;
  }
  auto plain = SecureBuffer::allocate(file.size() - head - kTagSize);
  if (!plain) {
    return std::nullopt;
  }
  unsigned long long size = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
    plain->data(),
    &size,
    nullptr,
    reinterpret_cast<const unsigned char*>(file.data() + head),
    file.size() - head,
    reinterpret_cast<const unsigned char*>(file.data()),
    head,
    h.nonce.data(),
    key.data());
  if (rc != 0) {
    return std::nullopt;
  }
  return std::move(*plain);
}

std::expected<SecureBuffer, std::string> derive_key(std::string_view passphrase,
                                                    const Header& h) {
  auto key = SecureBuffer::allocate(kKeySize);
  if (!key) {
    return key;
  }
  if (crypto_pwhash(key->data(),
                    key->size(),
                    passphrase.data(),
                    passphrase.size(),
                    h.salt.data(),
                    h.opslimit,
                    h.memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::unexpected(
      fmt::format("deriving the key from the passphrase (Argon2id, {} MiB) "
                  "failed: out of memory",
                  h.memlimit >> 20));
  }
  return key;
}

// A header for a new passphrase-derived key: fresh salt, given cost.
Header passphrase_header(std::string_view magic,
                         uint64_t opslimit,
                         uint64_t memlimit) {
  Header h;
  h.magic = magic;
  h.mode = KeyMode::passphrase;
  h.opslimit = opslimit;
  h.memlimit = memlimit;
  randombytes_buf(h.salt.data(), h.salt.size());
  return h;
}

std::expected<SecureBuffer, std::string> random_key() {
  auto key = SecureBuffer::allocate(kKeySize);
  if (key) {
    randombytes_buf(key->data(), key->size());
  }
  return key;
}

std::string errno_text(std::string_view what, const fs::path& path) {
  return fmt::format("cannot {} {}: {}", what, path.string(), strerror(errno));
}

// Reads a key file (exactly kKeySize bytes) into secure memory.
std::expected<SecureBuffer, std::string> read_key(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(errno_text("read the secrets key", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(kKeySize)) {
    ::close(fd);
    return std::unexpected(fmt::format(
      "{} is not a secrets key ({} bytes expected)", path.string(), kKeySize));
  }
  auto key = SecureBuffer::allocate(kKeySize);
  if (!key) {
    ::close(fd);
    return key;
  }
  size_t done = 0;
  while (done < kKeySize) {
    ssize_t n = ::read(fd, key->data() + done, kKeySize - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      return std::unexpected(errno_text("read the secrets key", path));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return key;
}

// Makes renames in dir durable.
void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// An flock on the store's lock file, released on destruction.
class FileLock {
public:
  enum class Kind { shared, exclusive };
  FileLock() = default;
  FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }

  // Exclusive: creates the lock file if needed and fails when it cannot.
  // Shared: best effort (a reader of a read-only directory reads unlocked).
  static std::expected<FileLock, std::string> acquire(const fs::path& path,
                                                      Kind kind) {
    FileLock lock;
    lock.fd_ = kind == Kind::exclusive
                 ? ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)
                 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (lock.fd_ < 0) {
      if (kind == Kind::shared) {
        return lock;
      }
      return std::unexpected(errno_text("create", path));
    }
    int op = kind == Kind::exclusive ? LOCK_EX : LOCK_SH;
    while (::flock(lock.fd_, op) != 0) {
      if (errno != EINTR) {
        if (kind == Kind::shared) {
          return lock;
        }
        return std::unexpected(errno_text("lock", path));
      }
    }
    return lock;
  }

private:
  int fd_ = -1;
};

// An opened store: its contents and what is needed to write it back.
struct Unlocked {
  Secrets secrets;
  Header header;
  SecureBuffer key;
  // secrets.key.new opened it: a rotation was interrupted after writing the
  // file; the next write finishes it.
  bool key_from_new = false;
};

fs::path new_key_file(const Location& location) {
  return location.dir / "secrets.key.new";
}

std::string auth_failed(const fs::path& path, std::string_view detail = {}) {
  return detail.empty()
           ? fmt::format("{} ({})", kAuthFailed, path.string())
           : fmt::format("{} ({}: {})", kAuthFailed, path.string(), detail);
}

// Checks that nobody but this user (and root) can change the secrets
// directory or the store in it (see util::check_trusted_dir): a store
// another user could replace is not one to hand keys from.
std::expected<void, std::string> check_trusted(const Location& location) {
  auto dir = util::check_trusted_dir(location.dir, util::Sharing::owner_only);
  if (dir) {
    if (auto file = util::check_trusted_file(location.file(), *dir); !file) {
      dir = std::unexpected(file.error());
    }
  }
  if (!dir) {
    return std::unexpected(
      fmt::format("the secrets directory {} is not trusted: it {}",
                  location.dir.string(),
                  dir.error()));
  }
  return {};
}

std::expected<Unlocked, std::string> unlock(
  const Location& location,
  const PassphraseSource& passphrase) {
  if (auto trusted = check_trusted(location); !trusted) {
    return std::unexpected(trusted.error());
  }
  auto file = util::read_file(location.file());
  if (!file) {
    return std::unexpected(file.error());
  }
  auto decoded = decode_header(*file, kStoreMagic);
  if (!decoded) {
    return std::unexpected(auth_failed(location.file(), decoded.error()));
  }
  auto [header, head] = *decoded;
  Unlocked u;
  u.header = header;
  std::optional<SecureBuffer> plain;
  if (header.mode == KeyMode::key_file) {
    auto key = read_key(location.key_file());
    if (key) {
      plain = unseal(*file, header, head, *key);
      u.key = std::move(*key);
    }
    if (!plain) {
      struct stat st;
      if (::stat(new_key_file(location).c_str(), &st) == 0) {
        if (auto next = read_key(new_key_file(location))) {
          plain = unseal(*file, header, head, *next);
          if (plain) {
            u.key = std::move(*next);
            u.key_from_new = true;
          }
        }
      }
    }
    if (!plain && !key) {
      return std::unexpected(fmt::format(
        "{}; without it {} cannot be decrypted (restore the key, or move the "
        "file away to start a new store)",
        key.error(),
        location.file().string()));
    }
  } else {
    if (!passphrase) {
      return std::unexpected(
        "the secrets store is protected by a passphrase: set "
        "IPFSACC_PASSPHRASE");
    }
    auto pass = passphrase(PassphrasePurpose::unlock);
    if (!pass) {
      return std::unexpected(pass.error());
    }
    auto key = derive_key(pass->view(), header);
    if (!key) {
      return std::unexpected(key.error());
    }
    plain = unseal(*file, header, head, *key);
    u.key = std::move(*key);
  }
  if (!plain) {
    return std::unexpected(auth_failed(location.file()));
  }
  auto secrets = Secrets::parse(plain->bytes());
  if (!secrets) {
    return std::unexpected(
      fmt::format("{}: {}", location.file().string(), secrets.error()));
  }
  u.secrets = std::move(*secrets);
  return u;
}

// A store that does not exist yet, in mode.
std::expected<Unlocked, std::string> fresh(const Location& location,
                                           KeyMode mode,
                                           const PassphraseSource& passphrase) {
  Unlocked u;
  if (mode == KeyMode::key_file) {
    u.header.mode = KeyMode::key_file;
    // A key file without a store (copied over first, or left by an earlier
    // attempt) is kept: overwriting a key can lose data, reusing one cannot.
    struct stat st;
    if (::stat(location.key_file().c_str(), &st) == 0) {
      auto key = read_key(location.key_file());
      if (!key) {
        return std::unexpected(key.error());
      }
      u.key = std::move(*key);
      return u;
    }
    auto key = random_key();
    if (!key) {
      return std::unexpected(key.error());
    }
    auto written =
      util::write_file_atomic(location.key_file(), key->view(), 0600);
    if (!written) {
      return std::unexpected(written.error());
    }
    u.key = std::move(*key);
    return u;
  }
  if (!passphrase) {
    return std::unexpected("a passphrase is needed: set IPFSACC_PASSPHRASE");
  }
  auto pass = passphrase(PassphrasePurpose::choose);
  if (!pass) {
    return std::unexpected(pass.error());
  }
  u.header = passphrase_header(kStoreMagic,
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
  auto key = derive_key(pass->view(), u.header);
  if (!key) {
    return std::unexpected(key.error());
  }
  u.key = std::move(*key);
  return u;
}

std::expected<void, std::string> write_store(const Location& location,
                                             const Unlocked& u) {
  auto plain = u.secrets.serialize();
  if (!plain) {
    return std::unexpected(plain.error());
  }
  auto sealed = seal(u.header, u.key, plain->bytes());
  auto written = util::write_file_atomic(location.file(), sealed, 0600);
  if (!written) {
    return written;
  }
  if (u.key_from_new) {
    if (::rename(new_key_file(location).c_str(), location.key_file().c_str()) !=
        0) {
      return std::unexpected(errno_text("replace", location.key_file()));
    }
  } else {
    // The store opened with secrets.key: a secrets.key.new is the unused key
    // of a rotation killed before it re-encrypted anything.
    ::unlink(new_key_file(location).c_str());
  }
  sync_dir(location.dir);
  return {};
}

// Removes the temporary files (secrets.enc.tmp.PID, secrets.key.new.tmp.PID)
// of writers killed half-way: key material must not stay behind. Only called
// with the exclusive lock held, when no writer can be at work.
void remove_stale_temporaries(const Location& location) {
  std::error_code ec;
  for (fs::directory_iterator it(location.dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.starts_with("secrets.") &&
        name.find(".tmp.") != std::string::npos) {
      ::unlink(it->path().c_str());
    }
  }
}

std::expected<FileLock, std::string> lock_for_writing(
  const Location& location) {
  if (auto made = util::make_dirs(location.dir, 0700); !made) {
    return std::unexpected(made.error());
  }
  if (auto trusted = check_trusted(location); !trusted) {
    return std::unexpected(trusted.error());
  }
  auto lock =
    FileLock::acquire(location.lock_file(), FileLock::Kind::exclusive);
  if (lock) {
    remove_stale_temporaries(location);
  }
  return lock;
}

} // namespace

Location Location::from_environment() {
  if (const char* dir = std::getenv("IPFSACC_SECRETS_DIR"); dir && *dir) {
    return { dir };
  }
  return { Config::config_dir() };
}

KeyMode default_key_mode() {
  const char* pass = std::getenv("IPFSACC_PASSPHRASE");
  return pass && *pass ? KeyMode::passphrase : KeyMode::key_file;
}

PassphraseSource passphrase_from_env(PassphraseSource fallback) {
  return
    [fallback = std::move(fallback)](
      PassphrasePurpose purpose) -> std::expected<SecureBuffer, std::string> {
      if (const char* pass = std::getenv("IPFSACC_PASSPHRASE"); pass && *pass) {
        return SecureBuffer::copy_of(pass);
      }
      if (fallback) {
        return fallback(purpose);
      }
      return std::unexpected(
        purpose == PassphrasePurpose::unlock
          ? "the secrets store is protected by a passphrase: set "
            "IPFSACC_PASSPHRASE"
          : "choosing a passphrase needs a terminal or IPFSACC_PASSPHRASE");
    };
}

bool exists(const Location& location) {
  struct stat st;
  return ::stat(location.file().c_str(), &st) == 0;
}

std::expected<KeyMode, std::string> key_mode(const Location& location) {
  auto file = util::read_file(location.file());
  if (!file) {
    return std::unexpected(file.error());
  }
  auto decoded = decode_header(*file, kStoreMagic);
  if (!decoded) {
    return std::unexpected(auth_failed(location.file(), decoded.error()));
  }
  return decoded->first.mode;
}

std::expected<Secrets, std::string> load(const Location& location,
                                         const PassphraseSource& passphrase) {
  if (!exists(location)) {
    return Secrets();
  }
  auto lock = FileLock::acquire(location.lock_file(), FileLock::Kind::shared);
  auto u = unlock(location, passphrase);
  if (!u) {
    return std::unexpected(u.error());
  }
  return std::move(u->secrets);
}

std::expected<void, std::string> update(const Location& location,
                                        const PassphraseSource& passphrase,
                                        const Change& change,
                                        KeyMode create_mode) {
  auto lock = lock_for_writing(location);
  if (!lock) {
    return std::unexpected(lock.error());
  }
  // Read again under the lock: another writer may have changed the file
  // since the caller last looked.
  auto u = exists(location) ? unlock(location, passphrase)
                            : fresh(location, create_mode, passphrase);
  if (!u) {
    return std::unexpected(u.error());
  }
  if (auto changed = change(u->secrets); !changed) {
    return changed;
  }
  return write_store(location, *u);
}

std::expected<void, std::string> create(const Location& location,
                                        KeyMode mode,
                                        const PassphraseSource& passphrase) {
  auto lock = lock_for_writing(location);
  if (!lock) {
    return std::unexpected(lock.error());
  }
  if (exists(location)) {
    return std::unexpected(fmt::format("a secrets store exists already: {}",
                                       location.file().string()));
  }
  auto u = fresh(location, mode, passphrase);
  if (!u) {
    return std::unexpected(u.error());
  }
  return write_store(location, *u);
}

std::expected<void, std::string> rotate_key(
  const Location& location,
  const PassphraseSource& passphrase) {
  auto lock = lock_for_writing(location);
  if (!lock) {
    return std::unexpected(lock.error());
  }
  if (!exists(location)) {
    return std::unexpected(
      fmt::format("no secrets store at {}", location.file().string()));
  }
  SecureBuffer pass;
  PassphraseSource remembering;
  if (passphrase) {
    // The passphrase stays; only the salt, and so the key, changes.
    remembering =
      [&](
        PassphrasePurpose purpose) -> std::expected<SecureBuffer, std::string> {
      auto got = passphrase(purpose);
      if (got) {
        auto copy = SecureBuffer::copy_of(got->view());
        if (!copy) {
          return copy;
        }
        pass = std::move(*copy);
      }
      return got;
    };
  }
  auto u = unlock(location, remembering);
  if (!u) {
    return std::unexpected(u.error());
  }
  if (u->header.mode == KeyMode::passphrase) {
    u->header =
      passphrase_header(kStoreMagic, u->header.opslimit, u->header.memlimit);
    auto key = derive_key(pass.view(), u->header);
    if (!key) {
      return std::unexpected(key.error());
    }
    u->key = std::move(*key);
    u->key_from_new = false;
    return write_store(location, *u);
  }
  // Key file: the new key goes to secrets.key.new, then the file is
  // re-encrypted, then the new key replaces the old. Readers hold the shared
  // lock, so only a crash can observe the steps; unlock() then tries both.
  auto key = random_key();
  if (!key) {
    return std::unexpected(key.error());
  }
  auto written =
    util::write_file_atomic(new_key_file(location), key->view(), 0600);
  if (!written) {
    return written;
  }
  u->key = std::move(*key);
  u->key_from_new = true;
  return write_store(location, *u);
}

std::expected<std::string, std::string> seal_export(
  const Secrets& secrets,
  std::string_view passphrase) {
  if (passphrase.empty()) {
    return std::unexpected("an export needs a passphrase");
  }
  auto header = passphrase_header(kExportMagic,
                                  crypto_pwhash_OPSLIMIT_MODERATE,
                                  crypto_pwhash_MEMLIMIT_MODERATE);
  auto key = derive_key(passphrase, header);
  if (!key) {
    return std::unexpected(key.error());
  }
  auto plain = secrets.serialize();
  if (!plain) {
    return std::unexpected(plain.error());
  }
  return seal(header, *key, plain->bytes());
}

std::expected<Secrets, std::string> open_export(std::string_view file,
                                                std::string_view passphrase) {
  auto decoded = decode_header(file, kExportMagic);
  if (!decoded) {
    return std::unexpected(
      fmt::format("{} ({})", kExportAuthFailed, decoded.error()));
  }
  auto [header, head] = *decoded;
  if (header.mode != KeyMode::passphrase) {
    return std::unexpected(
      fmt::format("{} (not passphrase-encrypted)", kExportAuthFailed));
  }
  auto key = derive_key(passphrase, header);
  if (!key) {
    return std::unexpected(key.error());
  }
  auto plain = unseal(file, header, head, *key);
  if (!plain) {
    return std::unexpected(std::string(kExportAuthFailed));
  }
  return Secrets::parse(plain->bytes());
}

} // namespace ipfsacc::secrets
