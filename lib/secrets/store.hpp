#pragma once

#include "secrets/secrets.hpp"
#include "secrets/secure_buffer.hpp"

#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace ipfsacc::secrets {

namespace fs = std::filesystem;

// Every problem with the file's integrity (truncated, modified, a wrong key or
// passphrase) is reported with this message: AEAD cannot tell them apart.
constexpr std::string_view kAuthFailed =
  "secrets file failed authentication: wrong key or modified";
constexpr std::string_view kExportAuthFailed =
  "export file failed authentication: wrong passphrase or modified";

// Where the store lives: $IPFSACC_SECRETS_DIR, else the config directory
// (~/.config/ipfsacc). The directory is created 0700, the files 0600.
struct Location {
  fs::path dir;
  fs::path file() const { return dir / "secrets.enc"; }
  fs::path key_file() const { return dir / "secrets.key"; }
  fs::path lock_file() const { return dir / "secrets.lock"; }
  static Location from_environment();
};

// How the store's key is kept: random, in secrets.key; or derived from a
// passphrase with Argon2id (salt and cost in the file's header, no key file).
enum class KeyMode : uint8_t { key_file = 1, passphrase = 2 };

// Passphrase mode when IPFSACC_PASSPHRASE is set, else key file mode: the
// mode a store is created in when nobody chose one.
KeyMode default_key_mode();

// Why a passphrase is asked for: to open an existing store, or to create one
// (the caller may want it typed twice).
enum class PassphrasePurpose { unlock, choose };

// Returns the passphrase, or the message that says why there is none.
using PassphraseSource =
  std::function<std::expected<SecureBuffer, std::string>(PassphrasePurpose)>;

// IPFSACC_PASSPHRASE when it is set and not empty, else fallback (a prompt),
// else an error that names IPFSACC_PASSPHRASE.
PassphraseSource passphrase_from_env(PassphraseSource fallback = {});

// Whether the store's file exists (one stat, no crypto).
bool exists(const Location& location);

// The key mode written in an existing store's header. Returns a message when
// the file is missing or its header does not parse.
std::expected<KeyMode, std::string> key_mode(const Location& location);

// Reads and decrypts the store (under a shared lock, so never half-way
// through a key rotation). A missing store is empty. Returns kAuthFailed (and
// the path) when the file does not authenticate; the file is not touched.
std::expected<Secrets, std::string> load(const Location& location,
                                         const PassphraseSource& passphrase);

// A change to the store; returning an error writes nothing.
using Change = std::function<std::expected<void, std::string>(Secrets&)>;

// Under an exclusive lock (so concurrent writers lose nothing): re-reads the
// store, applies change, and writes it back atomically (temporary file,
// fsync, rename) with a fresh nonce. A missing store is created in
// create_mode. Returns a message on any failure, leaving the file as it was.
std::expected<void, std::string> update(const Location& location,
                                        const PassphraseSource& passphrase,
                                        const Change& change,
                                        KeyMode create_mode);

// Creates an empty store in mode. Returns a message when one exists already.
std::expected<void, std::string> create(const Location& location,
                                        KeyMode mode,
                                        const PassphraseSource& passphrase);

// Re-encrypts everything under a new key: a new random key file, or in
// passphrase mode a key derived with a new salt. A crash half-way leaves a
// store that still opens (secrets.key.new is tried when secrets.key fails).
std::expected<void, std::string> rotate_key(const Location& location,
                                            const PassphraseSource& passphrase);

// An export file: the secrets encrypted under a key derived from passphrase
// with Argon2id (a higher cost than the store's: it travels).
std::expected<std::string, std::string> seal_export(
  const Secrets& secrets,
  std::string_view passphrase);

// Decrypts an export file. Returns kExportAuthFailed when it does not
// authenticate.
std::expected<Secrets, std::string> open_export(std::string_view file,
                                                std::string_view passphrase);

} // namespace ipfsacc::secrets
