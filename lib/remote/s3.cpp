// The S3 tier: any store speaking the S3 API (AWS, R2, GCS interoperability,
// MinIO, Ceph, Garage), requests signed with SigV4 by libcurl. Layout, as
// the README documents it, under the URL's prefix:
//   entries/<request CID>   the record (remote/record.cpp), whose entry
//                           carries its expiry
//   blobs/<blob CID>        an output's bytes, one object each
//   probe-<random>          doctor's write check, removed at once
// Uploads carry x-amz-checksum-sha256, the SHA-256 their CID holds, so a
// store that checks it refuses a corrupted upload; whatever is read back is
// verified against its CID by Remotes. Nothing expires on the store by
// itself: `purge --remote --expired` removes expired entries and the blobs
// no live entry uses, and a lifecycle rule caps what is left behind.

#include "http/http.hpp"
#include "remote/builtin_engines.hpp"
#include "remote/http_failure.hpp"
#include "remote/s3_credentials.hpp"
#include "remote/s3_location.hpp"
#include "util/base64.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <sodium.h>

namespace ipfsacc::remote {

namespace {

constexpr std::string_view kEntryObjects = "entries/";
constexpr std::string_view kBlobObjects = "blobs/";
// The most read back of what the store answers: an entry (a few hundred
// bytes, more with many alternations of stdout and stderr), a listing page
// (1,000 names) and an error document.
constexpr uint64_t kMaxObjectEntrySize = 64 << 20;
constexpr uint64_t kMaxListSize = 4 << 20;
constexpr uint64_t kMaxErrorSize = 64 << 10;
// The most listing pages walked: 10 million objects.
constexpr int kMaxPages = 10'000;

std::string getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string_view object_chars(std::span<const uint8_t> bytes) {
  return { reinterpret_cast<const char*>(bytes.data()), bytes.size() };
}

class S3Tier final : public Tier {
public:
  S3Tier(const Spec& spec,
         s3::Location location,
         std::optional<s3::Credentials> credentials)
    : label_(spec.label())
    , where_(std::move(location))
    , credentials_(std::move(credentials)) {
    options_.connect_timeout = spec.connect_timeout;
    options_.timeout = spec.timeout;
    options_.max_attempts = 1;
  }

  ~S3Tier() override {
    if (credentials_) {
      auto& secret = credentials_->secret_access_key;
      sodium_memzero(secret.data(), secret.size());
      auto& token = credentials_->session_token;
      sodium_memzero(token.data(), token.size());
    }
  }

  bool takes_writes() const override { return credentials_.has_value(); }

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    return get(entry_name(key), kMaxObjectEntrySize, {});
  }

  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t) override {
    return put(entry_name(key), encoded, sha256(encoded));
  }

  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    // At most size + 1 bytes: a longer object is found out without
    // reading it all.
    auto got = get(blob_name(digest),
                   std::max(size + 1, kMaxErrorSize),
                   fmt::format("bytes=0-{}", size));
    if (got && *got && (*got)->size() != size) {
      return std::unexpected(
        Failure{ Failure::Kind::rejected,
                 fmt::format("{}: blob {} holds {} bytes, not the {} of its "
                             "entry",
                             label_,
                             cid_string(digest),
                             (*got)->size() > size ? "more" : "fewer",
                             size) });
    }
    return got;
  }

  // Blobs stay until removed: one already there is not sent again (its
  // life is that of the entries using it, kept by purge --expired).
  Result<bool> has_blob(const Digest& digest, int64_t) override {
    auto r = call("HEAD", s3::object_url(where_, blob_name(digest)));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status == 200) {
      return true;
    }
    if (r->status == 404) {
      return false;
    }
    return std::unexpected(refused("HEAD", *r));
  }

  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t) override {
    return put(blob_name(digest), object_chars(bytes), digest);
  }

  Result<void> refresh_entry(const Digest&, int64_t) override {
    // Nothing expires on the store: an entry carries its own expiry.
    return {};
  }

  Result<bool> remove_entry(const Digest& key) override {
    if (auto ok = can_write(); !ok) {
      return std::unexpected(ok.error());
    }
    auto name = entry_name(key);
    auto head = call("HEAD", s3::object_url(where_, name));
    if (!head) {
      return std::unexpected(head.error());
    }
    if (head->status == 404) {
      return false;
    }
    if (auto gone = remove(name); !gone) {
      return std::unexpected(gone.error());
    }
    return true;
  }

  Result<std::vector<Digest>> list_entries() override {
    return list_digests(kEntryObjects);
  }

  Result<uint64_t> remove_blobs_except(const std::set<Digest>& used) override {
    if (auto ok = can_write(); !ok) {
      return std::unexpected(ok.error());
    }
    auto blobs = list_digests(kBlobObjects);
    if (!blobs) {
      return std::unexpected(blobs.error());
    }
    uint64_t removed = 0;
    for (const auto& digest : *blobs) {
      if (used.contains(digest)) {
        continue;
      }
      if (auto gone = remove(blob_name(digest)); !gone) {
        return std::unexpected(gone.error());
      }
      ++removed;
    }
    return removed;
  }

  Result<uint64_t> purge() override {
    if (auto ok = can_write(); !ok) {
      return std::unexpected(ok.error());
    }
    uint64_t removed = 0;
    for (auto dir : { kBlobObjects, kEntryObjects }) {
      auto names = list_names(where_.prefix + std::string(dir));
      if (!names) {
        return std::unexpected(names.error());
      }
      for (const auto& name : *names) {
        if (auto gone = remove(name); !gone) {
          return std::unexpected(gone.error());
        }
        ++removed;
      }
    }
    return removed;
  }

  // A listing of one name under the prefix: the bucket exists and these
  // credentials (or none) may read it.
  Result<void> ping() override {
    auto r = call("GET", s3::list_url(where_, where_.prefix, {}, 1));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      return std::unexpected(refused("ListObjectsV2", *r));
    }
    return {};
  }

  // An object outside entries/ and blobs/, so that nothing listing those
  // sees it, put and removed.
  Result<void> probe_write() override {
    if (auto ok = can_write(); !ok) {
      return ok;
    }
    uint8_t random[8];
    randombytes_buf(random, sizeof(random));
    auto name = where_.prefix + "probe-" + to_hex(random);
    if (auto put_ok = put(name, "probe", sha256(std::string_view("probe")));
        !put_ok) {
      return put_ok;
    }
    return remove(name);
  }

private:
  std::string entry_name(const Digest& key) const {
    return where_.prefix + std::string(kEntryObjects) + cid_string(key);
  }
  std::string blob_name(const Digest& digest) const {
    return where_.prefix + std::string(kBlobObjects) + cid_string(digest);
  }

  Failure error(std::string message) const {
    return Failure{ Failure::Kind::error, std::move(message) };
  }

  // Nothing is written or removed unsigned, even where a store would take
  // it: without credentials the tier is read-only.
  Result<void> can_write() const {
    if (credentials_) {
      return {};
    }
    return std::unexpected(
      error("no credentials, so read-only (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, the secrets store's s3_credentials or "
            "~/.aws/credentials)"));
  }

  // An answer of the store that is not what was asked for; its error code
  // says why (AccessDenied, NoSuchBucket, SignatureDoesNotMatch…).
  Failure refused(std::string_view what, const http::Response& r) const {
    auto code = s3::error_code(r.body);
    std::string why;
    if (r.status == 403 && !credentials_) {
      why = " (requests are unsigned: no credentials found)";
    }
    return error(fmt::format("{} {}: HTTP {}{}{}{}",
                             what,
                             label_,
                             r.status,
                             code.empty() ? "" : " ",
                             code,
                             why));
  }

  // One request, signed when there are credentials. A transport failure is
  // a Failure; any HTTP answer is returned.
  Result<http::Response> call(std::string method,
                              std::string url,
                              std::string body = {},
                              std::vector<http::Header> headers = {},
                              uint64_t max_body = kMaxErrorSize) {
    http::Request request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.headers = std::move(headers);
    request.body = std::move(body);
    if (request.method == "PUT") {
      // Signed like every header given; libcurl would otherwise add a form
      // content type of its own.
      request.headers.push_back({ "Content-Type", "application/octet-stream" });
    } else {
      request.headers.push_back(
        { "x-amz-content-sha256", to_hex(sha256(std::string_view())) });
    }
    if (credentials_) {
      request.sigv4 =
        http::AwsSigV4{ fmt::format("aws:amz:{}:s3", where_.region),
                        credentials_->access_key_id,
                        credentials_->secret_access_key };
      if (!credentials_->session_token.empty()) {
        request.headers.push_back(
          { "x-amz-security-token", credentials_->session_token });
      }
    }
    http::Options options = options_;
    options.max_body = max_body;
    auto r = http::perform(request, options, &session_);
    if (!r) {
      return std::unexpected(http_failure(r.error()));
    }
    return std::move(*r);
  }

  // An object's bytes (the range asked for, when one is); nullopt when the
  // bucket has no such object. A missing bucket is a Failure.
  Result<std::optional<std::string>> get(const std::string& name,
                                         uint64_t max_body,
                                         std::string range) {
    std::vector<http::Header> headers;
    if (!range.empty()) {
      headers.push_back({ "Range", std::move(range) });
    }
    auto r = call(
      "GET", s3::object_url(where_, name), {}, std::move(headers), max_body);
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status == 200 || r->status == 206) {
      return std::optional<std::string>(std::move(r->body));
    }
    if (r->status == 404 && s3::error_code(r->body) != "NoSuchBucket") {
      return std::optional<std::string>();
    }
    // An empty object asked for from byte 0 on (some stores answer so).
    if (r->status == 416) {
      return std::optional<std::string>(std::string());
    }
    return std::unexpected(refused("GET", *r));
  }

  Result<void> put(const std::string& name,
                   std::string_view bytes,
                   const Digest& digest) {
    if (auto ok = can_write(); !ok) {
      return ok;
    }
    std::string checksum;
    util::base64_append(checksum, digest);
    auto r = call("PUT",
                  s3::object_url(where_, name),
                  std::string(bytes),
                  { { "x-amz-checksum-sha256", checksum },
                    { "x-amz-content-sha256", to_hex(digest) } });
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      return std::unexpected(refused("PUT", *r));
    }
    return {};
  }

  Result<void> remove(const std::string& name) {
    auto r = call("DELETE", s3::object_url(where_, name));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 204 && r->status != 200 && r->status != 404) {
      return std::unexpected(refused("DELETE", *r));
    }
    return {};
  }

  // Every object name under prefix, page after page.
  Result<std::vector<std::string>> list_names(const std::string& prefix) {
    std::vector<std::string> names;
    std::string token;
    for (int page = 0; page < kMaxPages; ++page) {
      auto r =
        call("GET", s3::list_url(where_, prefix, token), {}, {}, kMaxListSize);
      if (!r) {
        return std::unexpected(r.error());
      }
      if (r->status != 200) {
        return std::unexpected(refused("ListObjectsV2", *r));
      }
      auto listed = s3::parse_list(r->body);
      if (!listed) {
        return std::unexpected(
          error(fmt::format("{}: {}", label_, listed.error())));
      }
      for (auto& name : listed->keys) {
        if (name.starts_with(prefix)) {
          names.push_back(std::move(name));
        }
      }
      if (listed->next_token.empty()) {
        return names;
      }
      token = std::move(listed->next_token);
    }
    return std::unexpected(
      error(fmt::format("{}: more than {} listing pages", label_, kMaxPages)));
  }

  // The CIDs named under prefix + dir (other names are not ours: skipped).
  Result<std::vector<Digest>> list_digests(std::string_view dir) {
    auto prefix = where_.prefix + std::string(dir);
    auto names = list_names(prefix);
    if (!names) {
      return std::unexpected(names.error());
    }
    std::vector<Digest> found;
    for (const auto& name : *names) {
      if (auto digest =
            parse_cid(std::string_view(name).substr(prefix.size()))) {
        found.push_back(*digest);
      }
    }
    return found;
  }

  std::string label_;
  s3::Location where_;
  std::optional<s3::Credentials> credentials_;
  http::Options options_;
  // One connection for all of a process's requests to the store.
  http::Session session_;
};

Result<std::unique_ptr<Tier>> make_s3_tier(const Spec& spec) {
  auto where = s3::locate(spec, getenv_string);
  if (!where) {
    return std::unexpected(Failure{ Failure::Kind::error, where.error() });
  }
  return std::make_unique<S3Tier>(
    spec,
    std::move(*where),
    s3::find_credentials(getenv_string, spec.password));
}

} // namespace

Engine s3_engine() {
  return { { "s3" }, make_s3_tier, "s3_credentials" };
}

} // namespace ipfsacc::remote
