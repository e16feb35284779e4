// The IPFS tier: an IPFS node's RPC API (`POST /api/v0/…`, Kubo or any node
// speaking the same endpoints). Layout, as the README documents it:
//   block <blob CID>             an output of at most kChunkSize bytes: a raw
//                                block holding its own bytes, pinned
//   blocks <chunk CID>…          a larger output: raw chunks of kChunkSize
//                                bytes plus a DAG-CBOR manifest block that
//                                links them, all pinned
//   MFS /ipfsacc/blobs/<blob CID>
//                                the CID (text) of the blob's root block:
//                                the blob CID itself, or its manifest's CID
//   MFS /ipfsacc/entries/<request CID>
//                                the encoded entry (storage/entry.cpp's
//                                format), which carries its expiry
// Nothing read from the node is trusted: manifests and chunks are checked
// against their CIDs here, whole blobs by Remotes.

#include "remote/ipfs.hpp"

#include "http/http.hpp"
#include "remote/builtin_engines.hpp"
#include "remote/http_failure.hpp"
#include "storage/car.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <limits>

namespace ipfsacc::remote {

namespace ipfs {

namespace {

constexpr std::string_view kManifestFormat = "ipfsacc-chunks/1";

void put_head(std::string& out, uint8_t major, uint64_t value) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (value < 24) {
    out += static_cast<char>(m | value);
    return;
  }
  int bytes = value <= 0xff         ? 1
              : value <= 0xffff     ? 2
              : value <= 0xffffffff ? 4
                                    : 8;
  out += static_cast<char>(m | (bytes == 1   ? 24
                                : bytes == 2 ? 25
                                : bytes == 4 ? 26
                                             : 27));
  for (int i = bytes - 1; i >= 0; --i) {
    out += static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

void put_text(std::string& out, std::string_view text) {
  put_head(out, 3, text.size());
  out += text;
}

// A reader of the few CBOR items a manifest holds.
class Reader {
public:
  explicit Reader(std::string_view in)
    : in_(in) {}

  // Reads an item head of major type major; false when it is not one.
  bool head(uint8_t major, uint64_t& value) {
    if (pos_ >= in_.size()) {
      return false;
    }
    auto first = static_cast<uint8_t>(in_[pos_++]);
    if ((first >> 5) != major) {
      return false;
    }
    uint8_t info = first & 0x1f;
    if (info < 24) {
      value = info;
      return true;
    }
    if (info > 27) {
      return false;
    }
    size_t bytes = size_t{ 1 } << (info - 24);
    if (in_.size() - pos_ < bytes) {
      return false;
    }
    value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      value = (value << 8) | static_cast<uint8_t>(in_[pos_++]);
    }
    return true;
  }

  bool string(uint8_t major, std::string_view& out) {
    uint64_t n = 0;
    if (!head(major, n) || in_.size() - pos_ < n) {
      return false;
    }
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  bool done() const { return pos_ == in_.size(); }

private:
  std::string_view in_;
  size_t pos_ = 0;
};

} // namespace

std::string encode_manifest(const Manifest& manifest) {
  std::string out;
  // Canonical DAG-CBOR: keys sorted by length, then bytes.
  put_head(out, 5, 3);
  put_text(out, "size");
  put_head(out, 0, manifest.size);
  put_text(out, "chunks");
  put_head(out, 4, manifest.chunks.size());
  for (const auto& chunk : manifest.chunks) {
    auto cid = std::string(1, '\0') +
               storage::BlockId{ storage::kCodecRaw, chunk }.bytes();
    put_head(out, 6, 42);
    put_head(out, 2, cid.size());
    out += cid;
  }
  put_text(out, "format");
  put_text(out, kManifestFormat);
  return out;
}

std::expected<Manifest, std::string> decode_manifest(std::string_view block) {
  auto bad = [](std::string_view why) {
    return std::unexpected(fmt::format("not a chunk manifest: {}", why));
  };
  Reader r(block);
  uint64_t n = 0;
  std::string_view key;
  std::string_view format;
  Manifest manifest;
  if (!r.head(5, n) || n != 3) {
    return bad("expected a map of 3 keys");
  }
  if (!r.string(3, key) || key != "size" || !r.head(0, manifest.size)) {
    return bad("no size");
  }
  if (!r.string(3, key) || key != "chunks" || !r.head(4, n)) {
    return bad("no chunks");
  }
  if (n > manifest.size / kChunkSize + 1) {
    return bad("more chunks than the size needs");
  }
  std::string prefix = std::string(1, '\0') +
                       storage::BlockId{ storage::kCodecRaw, Digest{} }.bytes();
  prefix.resize(prefix.size() - Digest{}.size());
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t tag = 0;
    std::string_view cid;
    if (!r.head(6, tag) || tag != 42 || !r.string(2, cid) ||
        cid.size() != prefix.size() + Digest{}.size() ||
        !cid.starts_with(prefix)) {
      return bad("a chunk is not a raw sha2-256 CID link");
    }
    Digest d{};
    std::copy_n(cid.data() + prefix.size(), d.size(), d.begin());
    manifest.chunks.push_back(d);
  }
  if (!r.string(3, key) || key != "format" || !r.string(3, format) ||
      format != kManifestFormat || !r.done()) {
    return bad("wrong format");
  }
  uint64_t needed = (manifest.size + kChunkSize - 1) / kChunkSize;
  if (manifest.chunks.size() != needed) {
    return bad("chunk count does not match the size");
  }
  return manifest;
}

} // namespace ipfs

namespace {

using ipfs::kChunkSize;

constexpr uint16_t kDefaultPort = 5001;
constexpr std::string_view kEntries = "/ipfsacc/entries/";
constexpr std::string_view kBlobs = "/ipfsacc/blobs/";
constexpr std::string_view kBoundary = "ipfsacc-b0undary-7d1f3c";
// The most read back of what the node answers, so that a node cannot make
// us hold more than a request needs: an MFS blob root (a CID's text), a
// block (nodes take none over 1 MiB) and an entry (a few hundred bytes, more
// with many alternations of stdout and stderr).
constexpr uint64_t kMaxRootSize = 1024;
constexpr uint64_t kMaxBlockSize = 1 << 20;
constexpr uint64_t kMaxEntrySize = 64 << 20;

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        c == '/') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string multipart(std::string_view bytes) {
  std::string body = fmt::format(
    "--{}\r\nContent-Disposition: form-data; name=\"file\"; "
    "filename=\"data\"\r\nContent-Type: application/octet-stream\r\n\r\n",
    kBoundary);
  body += bytes;
  body += fmt::format("\r\n--{}--\r\n", kBoundary);
  return body;
}

// The value of a JSON string field ("Key", "Message", "Name") found by a
// plain scan: the node's answers are small and flat where we look.
std::vector<std::string> json_strings(std::string_view json,
                                      std::string_view field) {
  std::vector<std::string> out;
  std::string needle = fmt::format("\"{}\":\"", field);
  size_t at = 0;
  while ((at = json.find(needle, at)) != std::string_view::npos) {
    at += needle.size();
    size_t end = json.find('"', at);
    if (end == std::string_view::npos) {
      break;
    }
    out.emplace_back(json.substr(at, end - at));
    at = end;
  }
  return out;
}

std::string_view as_chars(std::span<const uint8_t> bytes) {
  return { reinterpret_cast<const char*>(bytes.data()), bytes.size() };
}

class IpfsTier final : public Tier {
public:
  explicit IpfsTier(const Spec& spec) {
    // An IPv6 address goes in brackets in a URL.
    bool v6 = spec.host.find(':') != std::string::npos;
    base_ = fmt::format("http://{}{}{}:{}{}",
                        v6 ? "[" : "",
                        spec.host,
                        v6 ? "]" : "",
                        spec.port ? spec.port : kDefaultPort,
                        spec.scheme == "ipfs" || spec.path.empty()
                          ? std::string("/api/v0")
                          : spec.path);
    options_.connect_timeout = spec.connect_timeout;
    options_.timeout = spec.timeout;
    options_.max_attempts = 1;
    // The node gives up a little before we do, so a block it lacks is an
    // answer ("timed out"), not a lost connection.
    block_timeout_ =
      fmt::format("{}ms", std::max<int64_t>(1, spec.timeout.count() * 4 / 5));
  }

  Result<std::optional<std::string>> get_entry(const Digest& key) override {
    return read_file(entry_path(key), kMaxEntrySize);
  }

  Result<void> put_entry(const Digest& key,
                         std::string_view encoded,
                         int64_t) override {
    return write_file(entry_path(key), encoded);
  }

  Result<std::optional<std::string>> get_blob(const Digest& digest,
                                              uint64_t size) override {
    auto root = read_file(blob_path(digest), kMaxRootSize);
    if (!root || !*root) {
      return root;
    }
    auto want_raw = storage::BlockId{ storage::kCodecRaw, digest }.text();
    if (**root == want_raw) {
      auto block = get_block(digest, want_raw, std::min(size, kMaxBlockSize));
      if (block && *block && (*block)->size() != size) {
        return std::unexpected(rejected(fmt::format(
          "{} bytes, not the {} of its entry", (*block)->size(), size)));
      }
      return block;
    }
    // A manifest: checked against its CID, then each chunk against its own.
    auto manifest_id = parse_block_cid(**root, storage::kCodecDagCbor);
    if (!manifest_id) {
      return std::unexpected(
        error(fmt::format("blob {} points at '{}', not a block CID",
                          cid_string(digest),
                          **root)));
    }
    auto block = get_block(*manifest_id, **root, kMaxBlockSize);
    if (!block || !*block) {
      return block;
    }
    auto manifest = ipfs::decode_manifest(**block);
    if (!manifest) {
      return std::unexpected(error(manifest.error()));
    }
    // The size is checked before any chunk is fetched; the manifest then has
    // as many chunks as that size needs (decode_manifest), and each chunk is
    // read only up to the bytes it must hold.
    if (manifest->size != size) {
      return std::unexpected(rejected(fmt::format(
        "its manifest says {} bytes, its entry {}", manifest->size, size)));
    }
    std::string out;
    out.reserve(size);
    for (const auto& chunk : manifest->chunks) {
      uint64_t want = std::min<uint64_t>(kChunkSize, size - out.size());
      auto part = get_block(
        chunk, storage::BlockId{ storage::kCodecRaw, chunk }.text(), want);
      if (!part || !*part) {
        return part;
      }
      if ((*part)->size() != want) {
        return std::unexpected(rejected(fmt::format(
          "a chunk holds {} bytes, not {}", (*part)->size(), want)));
      }
      out += **part;
    }
    return out;
  }

  // Nothing expires on the node, and blobs stay until told: a blob is
  // looked for instead of sent again, an entry is not written again to be
  // kept, and unused blobs are unpinned and removed.
  // Blocks are addressed by the CID of the output they hold, as every other
  // node addresses them: outputs are kept as printed.
  bool takes_packed_blobs() const override { return false; }

  Result<bool> has_blob(const Digest& digest, int64_t) override {
    auto r =
      call(fmt::format("files/stat?arg={}", url_encode(blob_path(digest))));
    if (!r) {
      return std::unexpected(r.error());
    }
    return r->status == 200;
  }

  Result<void> put_blob(const Digest& digest,
                        std::span<const uint8_t> bytes,
                        int64_t) override {
    std::string root;
    if (bytes.size() <= kChunkSize) {
      auto put = put_block(as_chars(bytes), storage::kCodecRaw);
      if (!put) {
        return std::unexpected(put.error());
      }
      root = *put;
    } else {
      ipfs::Manifest manifest;
      manifest.size = bytes.size();
      for (size_t at = 0; at < bytes.size(); at += kChunkSize) {
        auto chunk =
          as_chars(bytes.subspan(at, std::min(kChunkSize, bytes.size() - at)));
        if (auto put = put_block(chunk, storage::kCodecRaw); !put) {
          return std::unexpected(put.error());
        }
        manifest.chunks.push_back(sha256(chunk));
      }
      auto put =
        put_block(ipfs::encode_manifest(manifest), storage::kCodecDagCbor);
      if (!put) {
        return std::unexpected(put.error());
      }
      root = *put;
    }
    return write_file(blob_path(digest), root);
  }

  Result<void> refresh_entry(const Digest&, int64_t) override {
    // Nothing expires on the node: an entry carries its own expiry.
    return {};
  }

  Result<bool> remove_entry(const Digest& key) override {
    auto r = call(fmt::format("files/rm?arg={}", url_encode(entry_path(key))));
    if (!r) {
      return std::unexpected(r.error());
    }
    return r->status == 200;
  }

  Result<uint64_t> purge() override {
    auto blobs = list("/ipfsacc/blobs");
    if (!blobs) {
      return std::unexpected(blobs.error());
    }
    for (const auto& digest : *blobs) {
      if (auto unpinned = unpin_blob(digest); !unpinned) {
        return std::unexpected(unpinned.error());
      }
    }
    auto entries = list("/ipfsacc/entries");
    if (!entries) {
      return std::unexpected(entries.error());
    }
    auto rm = call("files/rm?arg=/ipfsacc&recursive=true");
    if (!rm) {
      return std::unexpected(rm.error());
    }
    return blobs->size() + entries->size();
  }

  Result<std::vector<Digest>> list_entries() override {
    return list("/ipfsacc/entries");
  }

  Result<uint64_t> remove_blobs_except(const std::set<Digest>& used) override {
    auto blobs = list("/ipfsacc/blobs");
    if (!blobs) {
      return std::unexpected(blobs.error());
    }
    uint64_t removed = 0;
    for (const auto& digest : *blobs) {
      if (used.contains(digest)) {
        continue;
      }
      if (auto unpinned = unpin_blob(digest); !unpinned) {
        return std::unexpected(unpinned.error());
      }
      auto rm =
        call(fmt::format("files/rm?arg={}", url_encode(blob_path(digest))));
      if (!rm) {
        return std::unexpected(rm.error());
      }
      removed += rm->status == 200 ? 1 : 0;
    }
    return removed;
  }

  // The node's version and a probe outside the entries' directory: doctor's
  // check touches nothing that `purge --remote --expired` lists.
  Result<void> ping() override {
    auto r = call("version");
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      return std::unexpected(refused("version", *r));
    }
    return {};
  }

  Result<void> probe_write() override {
    if (auto w = write_file("/ipfsacc/probe", "probe"); !w) {
      return w;
    }
    auto r = call("files/rm?arg=/ipfsacc/probe");
    if (!r) {
      return std::unexpected(r.error());
    }
    return {};
  }

private:
  static std::string entry_path(const Digest& key) {
    return std::string(kEntries) + cid_string(key);
  }
  static std::string blob_path(const Digest& digest) {
    return std::string(kBlobs) + cid_string(digest);
  }

  Failure error(std::string message) const {
    return Failure{ Failure::Kind::error, std::move(message) };
  }

  Failure rejected(std::string message) const {
    return Failure{ Failure::Kind::rejected, std::move(message) };
  }

  Failure refused(std::string_view what, const http::Response& r) const {
    auto message = json_strings(r.body, "Message");
    return error(fmt::format("{} refused (HTTP {}){}{}",
                             what,
                             r.status,
                             message.empty() ? "" : ": ",
                             message.empty() ? "" : message.front()));
  }

  // A CID text of our kind (CIDv1, sha2-256) with codec; its digest.
  static std::optional<Digest> parse_block_cid(std::string_view text,
                                               uint64_t codec) {
    if (codec == storage::kCodecRaw) {
      return parse_cid(text);
    }
    // "bafyrei…": compare against the encoding of the digest we decode
    // from the raw form's bytes (same length, different codec byte).
    if (!text.starts_with("bafyrei")) {
      return std::nullopt;
    }
    std::string raw = "bafkrei" + std::string(text.substr(7));
    auto d = parse_cid(raw);
    if (!d || storage::BlockId{ codec, *d }.text() != text) {
      return std::nullopt;
    }
    return d;
  }

  // One RPC call: a transport failure is a Failure; an HTTP answer, even an
  // error, is returned.
  // The CIDs named in an MFS directory of ours; none when it is missing.
  Result<std::vector<Digest>> list(const std::string& dir) {
    auto r = call(fmt::format("files/ls?arg={}", url_encode(dir)));
    if (!r) {
      return std::unexpected(r.error());
    }
    std::vector<Digest> found;
    if (r->status == 200) {
      for (const auto& name : json_strings(r->body, "Name")) {
        if (auto digest = parse_cid(name)) {
          found.push_back(*digest);
        }
      }
    }
    return found;
  }

  // Unpins a blob's root block, and a manifest's chunks (pinned on their own
  // too), so the node's garbage collection may take them.
  Result<void> unpin_blob(const Digest& digest) {
    auto root = read_file(blob_path(digest), kMaxRootSize);
    if (!root) {
      return std::unexpected(root.error());
    }
    if (!*root) {
      return {};
    }
    if (auto id = parse_block_cid(**root, storage::kCodecDagCbor)) {
      if (auto m = get_block(*id, **root, kMaxBlockSize); m && *m) {
        if (auto manifest = ipfs::decode_manifest(**m)) {
          for (const auto& chunk : manifest->chunks) {
            (void)call(fmt::format(
              "pin/rm?arg={}",
              storage::BlockId{ storage::kCodecRaw, chunk }.text()));
          }
        }
      }
    }
    (void)call(fmt::format("pin/rm?arg={}", **root));
    return {};
  }

  // An answer over max_body bytes is a Failure of Kind::rejected.
  Result<http::Response> call(
    const std::string& path,
    std::string body = {},
    uint64_t max_body = std::numeric_limits<uint64_t>::max()) {
    http::Request request;
    request.method = "POST";
    request.url = base_ + "/" + path;
    if (!body.empty()) {
      request.headers.push_back(
        { "Content-Type",
          fmt::format("multipart/form-data; boundary={}", kBoundary) });
      request.body = std::move(body);
    }
    http::Options options = options_;
    options.max_body = max_body;
    auto r = http::perform(request, options, &session_);
    if (!r) {
      return std::unexpected(http_failure(r.error()));
    }
    return std::move(*r);
  }

  // An MFS file's bytes; nullopt when it does not exist. A file over
  // max_bytes is a Failure of Kind::rejected.
  Result<std::optional<std::string>> read_file(const std::string& path,
                                               uint64_t max_bytes) {
    auto r =
      call(fmt::format("files/read?arg={}", url_encode(path)), {}, max_bytes);
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status == 200) {
      return std::optional<std::string>(std::move(r->body));
    }
    if (r->body.find("does not exist") != std::string::npos) {
      return std::optional<std::string>();
    }
    return std::unexpected(refused("files/read", *r));
  }

  Result<void> write_file(const std::string& path, std::string_view bytes) {
    auto r = call(
      fmt::format("files/write?arg={}&create=true&parents=true&truncate=true",
                  url_encode(path)),
      multipart(bytes));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      return std::unexpected(refused("files/write", *r));
    }
    return {};
  }

  // A block's bytes, checked against its CID (the node does not check);
  // nullopt when the node does not have it. A block over max_bytes is a
  // Failure of Kind::rejected, found out without reading more of it.
  Result<std::optional<std::string>> get_block(const Digest& digest,
                                               const std::string& cid,
                                               uint64_t max_bytes) {
    auto r =
      call(fmt::format("block/get?arg={}&timeout={}", cid, block_timeout_),
           {},
           max_bytes);
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      if (r->body.find("timed out") != std::string::npos ||
          r->body.find("not found") != std::string::npos) {
        return std::optional<std::string>();
      }
      return std::unexpected(refused("block/get", *r));
    }
    if (sha256(r->body) != digest) {
      return std::unexpected(
        error(fmt::format("block {} does not match its CID; rejected", cid)));
    }
    return std::optional<std::string>(std::move(r->body));
  }

  // Puts and pins a block; its CID text, checked to be what we computed.
  Result<std::string> put_block(std::string_view bytes, uint64_t codec) {
    std::string want = storage::BlockId{ codec, sha256(bytes) }.text();
    // Both codec parameters: Kubo reads cid-codec, js-ipfs only format.
    std::string_view name = codec == storage::kCodecRaw ? "raw" : "dag-cbor";
    auto r =
      call(fmt::format("block/put?cid-codec={0}&format={0}&mhtype=sha2-256"
                       "&pin=true&timeout={1}",
                       name,
                       block_timeout_),
           multipart(bytes));
    if (!r) {
      return std::unexpected(r.error());
    }
    if (r->status != 200) {
      return std::unexpected(refused("block/put", *r));
    }
    auto keys = json_strings(r->body, "Key");
    if (keys.empty() || keys.front() != want) {
      return std::unexpected(
        error(fmt::format("block/put answered CID {} for block {}",
                          keys.empty() ? "none" : keys.front(),
                          want)));
    }
    return want;
  }

  std::string base_;
  http::Options options_;
  // One connection for all of a process's requests to the node.
  http::Session session_;
  std::string block_timeout_;
};

Result<std::unique_ptr<Tier>> make_ipfs_tier(const Spec& spec) {
  if (spec.scheme == "http") {
    auto type = spec.extra.find("type");
    if (type == spec.extra.end() ||
        (type->second != "kubo" && type->second != "ipfs")) {
      return std::unexpected(Failure{
        Failure::Kind::error,
        fmt::format("{}: an http:// remote needs type=kubo (an IPFS node's "
                    "RPC API)",
                    spec.label()) });
    }
  }
  return std::make_unique<IpfsTier>(spec);
}

} // namespace

Engine ipfs_engine() {
  return { { "ipfs", "http" }, make_ipfs_tier, {} };
}

} // namespace ipfsacc::remote
