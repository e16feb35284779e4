#include "core/request.hpp"
#include "secrets/cache_cipher.hpp"
#include "secrets/secrets.hpp"
#include "secrets/store.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <sodium.h>
#include <sys/stat.h>

using namespace ipfsacc;
using namespace ipfsacc::secrets;
using ipfsacc::test::contains;
using ipfsacc::test::ScopedEnv;
using ipfsacc::test::TempDir;

namespace fs = std::filesystem;

namespace {

// A store in a fresh directory, in key file mode.
struct StoreFixture {
  TempDir dir;
  Location location{ dir / "secrets" };
  ScopedEnv passphrase{ "IPFSACC_PASSPHRASE" };
  StoreFixture() { passphrase.unset(); }

  void set(std::string_view name, std::string_view value) {
    auto done = update(
      location,
      {},
      [&](Secrets& s) { return s.set(name, value, 1000); },
      KeyMode::key_file);
    REQUIRE_MESSAGE(done, done.error());
  }
  std::string file() const { return *util::read_file(location.file()); }
  // Replaces the file's bytes (no fsync: the loops below write hundreds).
  void write(std::string_view bytes) const {
    std::ofstream out(location.file(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
};

PassphraseSource fixed(std::string text) {
  return [text](PassphrasePurpose) { return SecureBuffer::copy_of(text); };
}

mode_t mode_of(const fs::path& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

} // namespace

TEST_CASE("SecureBuffer: allocation, copies, truncation, moves") {
  auto empty = SecureBuffer::allocate(0);
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK(empty->view().empty());

  auto b = SecureBuffer::copy_of("secret bytes");
  REQUIRE(b);
  CHECK(b->view() == "secret bytes");
  b->truncate(6);
  CHECK(b->view() == "secret");
  b->truncate(100); // never grows
  CHECK(b->size() == 6);

  SecureBuffer moved = std::move(*b);
  CHECK(moved.view() == "secret");
  CHECK(b->empty()); // NOLINT(bugprone-use-after-move): documented state
  moved.reset();
  CHECK(moved.empty());
}

TEST_CASE("secret names: [a-z0-9_]+, google_api_key is gemini_api_key") {
  CHECK(check_name("github_token"));
  CHECK(check_name("a1_b2"));
  CHECK_FALSE(check_name(""));
  CHECK_FALSE(check_name("GitHub"));
  CHECK_FALSE(check_name("a-b"));
  CHECK_FALSE(check_name("a=b"));
  CHECK_FALSE(check_name(std::string(kMaxNameSize + 1, 'a')));
  // The messages never repeat what was typed: it may be a value.
  auto bad = check_name("ghp_Value");
  REQUIRE_FALSE(bad);
  CHECK_FALSE(contains(bad.error(), "ghp_Value"));

  CHECK(canonical_name("google_api_key") == "gemini_api_key");
  CHECK(canonical_name("gemini_api_key") == "gemini_api_key");
  CHECK(canonical_name("github_token") == "github_token");
}

TEST_CASE("Secrets: set, get, aliases, remove, list, serialize, parse") {
  Secrets s;
  REQUIRE(s.set("github_token", "ghp_1", 10));
  REQUIRE(s.set("google_api_key", "AIza", 20));
  REQUIRE(s.set("b_key", "multi\nline\n", 30));
  CHECK(s.size() == 3);
  CHECK(s.get("github_token") == "ghp_1");
  CHECK(s.get("gemini_api_key") == "AIza");
  CHECK(s.get("google_api_key") == "AIza");
  CHECK_FALSE(s.get("missing"));
  REQUIRE(s.set("github_token", "ghp_2", 40));
  CHECK(s.get("github_token") == "ghp_2");

  auto names = s.list();
  REQUIRE(names.size() == 3);
  CHECK(names[0].name == "b_key");
  CHECK(names[1].name == "gemini_api_key");
  CHECK(names[2].name == "github_token");
  CHECK(names[2].set_ms == 40);

  CHECK_FALSE(s.set("Bad", "x", 0));
  CHECK_FALSE(s.set("empty", "", 0));
  CHECK_FALSE(s.set("nul", std::string("a\0b", 3), 0));
  CHECK_FALSE(s.set("huge", std::string(kMaxValueSize + 1, 'x'), 0));

  auto plain = s.serialize();
  REQUIRE(plain);
  auto back = Secrets::parse(plain->bytes());
  REQUIRE_MESSAGE(back, back.error());
  CHECK(back->size() == 3);
  CHECK(back->get("b_key") == "multi\nline\n");
  CHECK(back->get("github_token") == "ghp_2");
  CHECK(back->list()[2].set_ms == 40);

  // Every truncation of the plaintext is rejected, never misread.
  for (size_t n = 0; n < plain->size(); ++n) {
    auto cut = Secrets::parse(plain->bytes().first(n));
    CHECK_MESSAGE((!cut || cut->size() < 3 || n == plain->size()), n);
  }
  CHECK_FALSE(Secrets::parse({}));

  CHECK(s.remove("google_api_key"));
  CHECK_FALSE(s.get("gemini_api_key"));
  CHECK_FALSE(s.remove("google_api_key"));
}

TEST_CASE("store: round trip, modes 0600/0700, no plaintext, missing = empty") {
  StoreFixture f;
  CHECK_FALSE(exists(f.location));
  auto none = load(f.location, {});
  REQUIRE(none);
  CHECK(none->size() == 0);
  CHECK_FALSE(exists(f.location)); // reading creates nothing

  f.set("github_token", "ghp_UNIT_PLAINTEXT");
  f.set("hf_token", "hf_UNIT");
  CHECK(exists(f.location));
  CHECK(mode_of(f.location.dir) == 0700);
  CHECK(mode_of(f.location.file()) == 0600);
  CHECK(mode_of(f.location.key_file()) == 0600);
  CHECK(key_mode(f.location) == KeyMode::key_file);

  auto loaded = load(f.location, {});
  REQUIRE_MESSAGE(loaded, loaded.error());
  CHECK(loaded->get("github_token") == "ghp_UNIT_PLAINTEXT");
  CHECK(loaded->get("hf_token") == "hf_UNIT");
  auto bytes = f.file();
  CHECK_FALSE(contains(bytes, "ghp_UNIT"));
  CHECK_FALSE(contains(bytes, "github_token"));

  // A fresh nonce per write: the same contents never encrypt the same way.
  f.set("hf_token", "hf_UNIT");
  CHECK(f.file() != bytes);

  // A failing change writes nothing.
  auto before = f.file();
  auto failed = update(
    f.location,
    {},
    [](Secrets&) -> std::expected<void, std::string> {
      return std::unexpected("no");
    },
    KeyMode::key_file);
  CHECK_FALSE(failed);
  CHECK(f.file() == before);

  CHECK_FALSE(create(f.location, KeyMode::key_file, {}));
}

TEST_CASE("store: every flipped byte and every truncation fails to open") {
  StoreFixture f;
  f.set("github_token", "ghp_x");
  auto good = f.file();
  auto expect_rejected = [&](const std::string& bytes) {
    f.write(bytes);
    auto loaded = load(f.location, {});
    REQUIRE_FALSE(loaded);
    CHECK(contains(loaded.error(), kAuthFailed));
    // A write reads first, fails the same way, and leaves the file alone.
    auto written = update(
      f.location,
      {},
      [](Secrets& s) { return s.set("other", "y", 1); },
      KeyMode::key_file);
    CHECK_FALSE(written);
    CHECK(f.file() == bytes);
  };
  for (size_t i = 0; i < good.size(); ++i) {
    CAPTURE(i);
    auto bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    expect_rejected(bad);
  }
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    expect_rejected(good.substr(0, n));
  }
  f.write(good);
  CHECK(load(f.location, {}));
}

TEST_CASE("store: a wrong or missing key is a clear error") {
  StoreFixture f;
  f.set("github_token", "ghp_x");
  auto good = f.file();
  std::string other(32, '\0');
  randombytes_buf(other.data(), other.size());
  REQUIRE(util::write_file_atomic(f.location.key_file(), other, 0600));
  auto wrong = load(f.location, {});
  REQUIRE_FALSE(wrong);
  CHECK(contains(wrong.error(), kAuthFailed));
  CHECK(f.file() == good);

  fs::remove(f.location.key_file());
  auto missing = load(f.location, {});
  REQUIRE_FALSE(missing);
  CHECK(contains(missing.error(), "secrets.key"));
  // Writing must not make up a new key for an existing file.
  CHECK_FALSE(update(
    f.location,
    {},
    [](Secrets& s) { return s.set("other", "y", 1); },
    KeyMode::key_file));
  CHECK_FALSE(fs::exists(f.location.key_file()));
  CHECK(f.file() == good);
}

TEST_CASE("store: rotate_key, and a rotation interrupted by a crash") {
  StoreFixture f;
  f.set("github_token", "ghp_rotate");
  auto old_key = *util::read_file(f.location.key_file());
  REQUIRE(rotate_key(f.location, {}));
  auto new_key = *util::read_file(f.location.key_file());
  CHECK(new_key != old_key);
  CHECK_FALSE(fs::exists(f.location.dir / "secrets.key.new"));
  CHECK(load(f.location, {})->get("github_token") == "ghp_rotate");

  // The crash: the file is re-encrypted, the new key not yet renamed.
  REQUIRE(
    util::write_file_atomic(f.location.dir / "secrets.key.new", new_key, 0600));
  REQUIRE(util::write_file_atomic(f.location.key_file(), old_key, 0600));
  auto loaded = load(f.location, {});
  REQUIRE_MESSAGE(loaded, loaded.error());
  CHECK(loaded->get("github_token") == "ghp_rotate");
  // The next write finishes the rotation.
  f.set("hf_token", "hf_after");
  CHECK(*util::read_file(f.location.key_file()) == new_key);
  CHECK_FALSE(fs::exists(f.location.dir / "secrets.key.new"));
  CHECK(load(f.location, {})->get("hf_token") == "hf_after");
}

TEST_CASE("store: passphrase mode derives the key, writes no key file") {
  StoreFixture f;
  auto pass = fixed("correct horse");
  REQUIRE(create(f.location, KeyMode::passphrase, pass));
  CHECK_FALSE(fs::exists(f.location.key_file()));
  CHECK(key_mode(f.location) == KeyMode::passphrase);
  REQUIRE(update(
    f.location,
    pass,
    [](Secrets& s) { return s.set("github_token", "ghp_pass", 1); },
    KeyMode::passphrase));
  CHECK_FALSE(contains(f.file(), "correct horse"));
  auto loaded = load(f.location, pass);
  REQUIRE_MESSAGE(loaded, loaded.error());
  CHECK(loaded->get("github_token") == "ghp_pass");

  auto wrong = load(f.location, fixed("wrong horse"));
  REQUIRE_FALSE(wrong);
  CHECK(contains(wrong.error(), kAuthFailed));
  auto none = load(f.location, {});
  REQUIRE_FALSE(none);
  CHECK(contains(none.error(), "IPFSACC_PASSPHRASE"));

  // The environment variable is a passphrase source too.
  f.passphrase.set("correct horse");
  auto from_env = load(f.location, passphrase_from_env());
  REQUIRE_MESSAGE(from_env, from_env.error());
  CHECK(default_key_mode() == KeyMode::passphrase);
}

TEST_CASE("export files: round trip, wrong passphrase, tampering") {
  Secrets s;
  REQUIRE(s.set("github_token", "ghp_export", 5));
  auto sealed = seal_export(s, "moving day");
  REQUIRE_MESSAGE(sealed, sealed.error());
  CHECK_FALSE(contains(*sealed, "ghp_export"));
  auto back = open_export(*sealed, "moving day");
  REQUIRE_MESSAGE(back, back.error());
  CHECK(back->get("github_token") == "ghp_export");
  CHECK(back->list()[0].set_ms == 5);

  auto wrong = open_export(*sealed, "moving night");
  REQUIRE_FALSE(wrong);
  CHECK(contains(wrong.error(), kExportAuthFailed));
  // A store file is not an export, nor the other way round.
  CHECK_FALSE(open_export("IPFSACCS garbage", "moving day"));
  CHECK_FALSE(seal_export(s, ""));
}

TEST_CASE("cache cipher: bound to the key and to the digest") {
  std::array<uint8_t, kBlobKeySize> key{};
  randombytes_buf(key.data(), key.size());
  std::string plain = "an LLM answer";
  auto digest = sha256(plain);
  std::string sealed(plain.size() + kSealedBlobOverhead, '\0');
  auto* out = reinterpret_cast<uint8_t*>(sealed.data());
  seal_blob(
    key,
    digest,
    std::span(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()),
    out);
  CHECK_FALSE(contains(sealed, plain));
  std::span<const uint8_t> sealed_bytes(out, sealed.size());
  std::string opened(plain.size(), '\0');
  auto* into = reinterpret_cast<uint8_t*>(opened.data());
  REQUIRE(open_blob(key, digest, sealed_bytes, into));
  CHECK(opened == plain);

  CHECK_FALSE(open_blob(key, sha256("another"), sealed_bytes, into));
  auto other_key = key;
  other_key[0] ^= 1;
  CHECK_FALSE(open_blob(other_key, digest, sealed_bytes, into));
  sealed[30] ^= 1;
  CHECK_FALSE(open_blob(key, digest, sealed_bytes, into));
}

TEST_CASE("cache_key: created once in the store, then the same") {
  StoreFixture f;
  auto first = cache_key(f.location, {});
  REQUIRE_MESSAGE(first, first.error());
  CHECK(first->size() == kBlobKeySize);
  auto again = cache_key(f.location, {});
  REQUIRE(again);
  CHECK(again->view() == first->view());
  CHECK(load(f.location, {})->get(kCacheKeyName)->size() == 2 * kBlobKeySize);
}

TEST_CASE("Store with a blob key: outputs encrypted, CIDs of the plaintext") {
  TempDir dir;
  auto opened =
    storage::Store::open(dir / "cache", storage::Access::read_write);
  REQUIRE_MESSAGE(opened, opened.error());
  auto& store = **opened;
  auto key = SecureBuffer::allocate(kBlobKeySize);
  REQUIRE(key);
  randombytes_buf(key->data(), key->size());
  auto key_copy = SecureBuffer::copy_of(key->view());
  store.set_blob_key(std::move(*key));

  std::string out = "PLAINTEXT OUTPUT of a private listing";
  storage::Entry e;
  e.stdout_digest = sha256(out);
  e.stdout_size = out.size();
  e.stderr_digest = empty_digest();
  e.expires_ms = 1;
  e.segments.push_back({ storage::Stream::out, out.size() });
  storage::BlobSource blobs[2];
  blobs[0].digest = e.stdout_digest;
  blobs[0].size = out.size();
  blobs[0].memory = out;
  blobs[1].digest = empty_digest();
  auto entry_key = sha256("request");
  REQUIRE(store.write(
    [&](storage::StoreWriter& w) { w.put_entry(entry_key, e, blobs); }));

  std::optional<std::string> read, raw;
  REQUIRE(store.read([&](storage::StoreReader& r) {
    if (auto b = r.blob(e.stdout_digest, e.stdout_size)) {
      read = std::string(reinterpret_cast<const char*>(b->data()), b->size());
    }
    r.for_each_inline_blob([&](const Digest& d, std::span<const uint8_t> b) {
      if (d == e.stdout_digest) {
        raw = std::string(reinterpret_cast<const char*>(b.data()), b.size());
      }
      return true;
    });
  }));
  CHECK(read == out);
  REQUIRE(raw);
  CHECK(raw->size() == out.size() + kSealedBlobOverhead);
  CHECK_FALSE(contains(*raw, "PLAINTEXT"));

  // Another process with another key (or none) gets no bytes that verify.
  opened->reset();
  auto other = storage::Store::open(dir / "cache", storage::Access::read_only);
  REQUIRE(other);
  REQUIRE((*other)->read([&](storage::StoreReader& r) {
    auto b = r.blob(e.stdout_digest, e.stdout_size);
    CHECK((!b || sha256(*b) != e.stdout_digest));
  }));
  (*other)->set_blob_key(std::move(*key_copy));
  REQUIRE((*other)->read([&](storage::StoreReader& r) {
    auto b = r.blob(e.stdout_digest, e.stdout_size);
    REQUIRE(b);
    CHECK(sha256(*b) == e.stdout_digest);
  }));
}

TEST_CASE("account_token: an injected secret is the token the tool sees") {
  ScopedEnv a("UNIT_SECRET_A");
  ScopedEnv b("UNIT_SECRET_B", "from-env-b");
  a.unset();
  ToolPolicy p;
  p.account.push_back({ "UNIT_SECRET_A", "", LazyRegex() });
  p.account.push_back({ "UNIT_SECRET_B", "", LazyRegex() });
  CHECK(account_token(p) == "UNIT_SECRET_B=from-env-b");
  std::vector<std::string> injected{ "UNIT_SECRET_A=from-store" };
  CHECK(account_token(p, injected) == "UNIT_SECRET_A=from-store");
  // The same token from the environment is the same account.
  a.set("from-store");
  CHECK(account_token(p) == account_token(p, injected));
  // Entries for other variables, or prefixes of the name, are not it.
  a.unset();
  std::vector<std::string> others{ "UNIT_SECRET_AB=x", "UNIT_SECRET_A=" };
  CHECK(account_token(p, others) == "UNIT_SECRET_B=from-env-b");
}
