#include "serve/answer_store.hpp"

#include "core/request.hpp"
#include "secrets/cache_cipher.hpp"
#include "secrets/store.hpp"
#include "util/duration.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

namespace ipfsacc::serve {

using json = nlohmann::json;

namespace {

constexpr std::string_view kTool = "serve";

// Copies a stored output out and checks it against its CID; nullopt when
// it is missing or does not verify.
std::optional<std::string> verified(storage::StoreReader& r,
                                    const Digest& digest,
                                    uint64_t size) {
  if (size == 0) {
    return digest == empty_digest() ? std::optional<std::string>("")
                                    : std::nullopt;
  }
  auto bytes = r.blob(digest, size);
  if (!bytes || bytes->size() != size) {
    return std::nullopt;
  }
  std::string copy(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  if (sha256(copy) != digest) {
    return std::nullopt;
  }
  return copy;
}

} // namespace

std::string encode_head(const Head& head) {
  json headers = json::array();
  for (const auto& h : head.headers) {
    headers.push_back(json::array({ h.name, h.value }));
  }
  json doc = { { "status", head.status },
               { "headers", std::move(headers) },
               { "chunked", head.chunked } };
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Head> decode_head(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return std::nullopt;
  }
  Head head;
  auto status = doc.find("status");
  auto headers = doc.find("headers");
  auto chunked = doc.find("chunked");
  if (status == doc.end() || !status->is_number_integer() ||
      headers == doc.end() || !headers->is_array() || chunked == doc.end() ||
      !chunked->is_boolean()) {
    return std::nullopt;
  }
  head.status = status->get<long>();
  head.chunked = chunked->get<bool>();
  for (const auto& h : *headers) {
    if (!h.is_array() || h.size() != 2 || !h[0].is_string() ||
        !h[1].is_string()) {
      return std::nullopt;
    }
    head.headers.push_back(
      { h[0].get<std::string>(), h[1].get<std::string>() });
  }
  return head;
}

std::expected<std::unique_ptr<AnswerStore>, std::string> AnswerStore::open(
  const Config& config) {
  auto opened =
    storage::Store::open(config.cache_dir(), storage::Access::read_write);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  std::unique_ptr<AnswerStore> store(new AnswerStore);
  store->store_ = std::move(*opened);
  // Encrypted outputs: without the key nothing may be stored in the clear.
  if (config.encrypt_cache()) {
    auto key = secrets::cache_key(secrets::Location::from_environment(),
                                  secrets::passphrase_from_env());
    if (!key) {
      return std::unexpected(key.error() + " (encrypt_cache)");
    }
    store->store_->set_blob_key(std::move(*key));
  }
  store->max_size_ = config.max_size();
  store->keep_stats_ = config.stats_enabled();
  return store;
}

void AnswerStore::warn(std::string_view message) {
  // Called with the mutex held, as every use of the store is.
  if (!warned_) {
    warned_ = true;
    fmt::print(stderr, "ipfsacc: {}; answering uncached\n", message);
    std::fflush(stderr);
  }
}

void AnswerStore::write(const std::function<void(storage::StoreWriter&)>& fn) {
  if (store_->read_only()) {
    return;
  }
  auto written = store_->write(fn);
  if (!written) {
    warn(written.error());
  }
}

std::string AnswerStore::account(std::string_view credentials) {
  std::lock_guard lock(mutex_);
  std::optional<std::string> ns;
  (void)store_->read(
    [&](storage::StoreReader& r) { ns = r.meta("namespace_key"); });
  if (!ns && !store_->read_only()) {
    std::string fresh(32, '\0');
    randombytes_buf(fresh.data(), fresh.size());
    (void)store_->write([&](storage::StoreWriter& w) {
      auto existing = w.meta("namespace_key");
      ns = existing ? *existing : fresh;
      if (!existing) {
        w.set_meta("namespace_key", fresh);
      }
    });
  }
  std::string_view key = ns ? std::string_view(*ns) : "";
  return account_hash(
    credentials,
    std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
}

std::optional<Answer> AnswerStore::lookup(const Digest& key,
                                          std::string_view route) {
  std::lock_guard lock(mutex_);
  Answer answer;
  storage::Entry found;
  bool served = false;
  bool bad = false;
  auto read = store_->read([&](storage::StoreReader& r) {
    bool corrupt = false;
    auto entry = r.entry(key, &corrupt);
    if (!entry) {
      bad = corrupt;
      return;
    }
    if (entry->expires_ms <= util::now_ms() || !storage::segments_fit(*entry)) {
      return;
    }
    auto body = verified(r, entry->stdout_digest, entry->stdout_size);
    auto head = body ? verified(r, entry->stderr_digest, entry->stderr_size)
                     : std::nullopt;
    if (!body || !head) {
      bad = true;
      return;
    }
    answer.out.memory = std::move(*body);
    answer.out.size = answer.out.memory.size();
    answer.out.digest = entry->stdout_digest;
    answer.err.memory = std::move(*head);
    answer.err.size = answer.err.memory.size();
    answer.err.digest = entry->stderr_digest;
    found = std::move(*entry);
    served = true;
  });
  if (!read) {
    warn(read.error());
    return std::nullopt;
  }
  if (bad) {
    // Dropped, so that the next answer is stored in its place.
    write([&](storage::StoreWriter& w) {
      w.remove_entry(key);
      StatsDelta delta;
      delta.add(Statistic::errors, kTool, route);
      delta.write_to(w);
    });
    return std::nullopt;
  }
  if (!served) {
    return std::nullopt;
  }
  answer.source = AnswerSource::local_hit;
  answer.http_status = found.exit_code;
  answer.segments = std::move(found.segments);
  write([&](storage::StoreWriter& w) {
    w.touch(key, util::now_ms());
    if (keep_stats_) {
      StatsDelta delta;
      delta.add(Statistic::hits, kTool, route);
      delta.add(Statistic::time_saved_ms, kTool, route, found.duration_ms);
      delta.write_to(w);
    }
  });
  return answer;
}

void AnswerStore::store(const Digest& key,
                        const Answer& answer,
                        std::string_view route,
                        std::string display,
                        uint32_t duration_ms) {
  std::lock_guard lock(mutex_);
  storage::Entry entry;
  // An entry's exit code: the status of the answer it holds.
  entry.exit_code = answer.http_status;
  entry.created_ms = util::now_ms();
  entry.last_used_ms = entry.created_ms;
  entry.expires_ms = entry.created_ms + answer.keep.lifetime.count();
  entry.duration_ms = duration_ms;
  entry.stdout_digest = sha256(answer.out.memory);
  entry.stdout_size = answer.out.memory.size();
  entry.stderr_digest = sha256(answer.err.memory);
  entry.stderr_size = answer.err.memory.size();
  entry.tool = std::string(kTool);
  entry.operation = std::string(route);
  entry.display = std::move(display);
  entry.segments = answer.segments;
  storage::BlobSource blobs[] = {
    { entry.stdout_digest, entry.stdout_size, answer.out.memory, {} },
    { entry.stderr_digest, entry.stderr_size, answer.err.memory, {} },
  };
  uint64_t max_size = max_size_;
  bool keep_stats = keep_stats_;
  write([&](storage::StoreWriter& w) {
    w.put_entry(key, entry, blobs);
    StatsDelta delta;
    w.evict_to(max_size, [&](const storage::Entry& evicted) {
      delta.add(Statistic::evictions, evicted.tool, evicted.operation);
    });
    if (keep_stats) {
      delta.add(Statistic::misses, kTool, route);
      delta.add(Statistic::stores, kTool, route);
    }
    delta.write_to(w);
  });
}

void AnswerStore::count(Statistic statistic, std::string_view route) {
  std::lock_guard lock(mutex_);
  if (!keep_stats_) {
    return;
  }
  write([&](storage::StoreWriter& w) {
    StatsDelta delta;
    delta.add(statistic, kTool, route);
    delta.write_to(w);
  });
}

// Revalidation: an expired entry read whole, and renewed in place when the
// upstream answers 304.

std::optional<AnswerStore::Stored> AnswerStore::peek(const Digest& key) {
  std::lock_guard lock(mutex_);
  std::optional<Stored> out;
  auto read = store_->read([&](storage::StoreReader& r) {
    auto entry = r.entry(key);
    if (!entry || !storage::segments_fit(*entry)) {
      return;
    }
    auto body = verified(r, entry->stdout_digest, entry->stdout_size);
    auto head = body ? verified(r, entry->stderr_digest, entry->stderr_size)
                     : std::nullopt;
    if (!body || !head) {
      return;
    }
    Stored stored;
    stored.answer.source = AnswerSource::local_hit;
    stored.answer.http_status = entry->exit_code;
    stored.answer.made_ms = entry->created_ms;
    stored.answer.out.memory = std::move(*body);
    stored.answer.out.size = stored.answer.out.memory.size();
    stored.answer.out.digest = entry->stdout_digest;
    stored.answer.err.memory = std::move(*head);
    stored.answer.err.size = stored.answer.err.memory.size();
    stored.answer.err.digest = entry->stderr_digest;
    stored.answer.segments = entry->segments;
    stored.expires_ms = entry->expires_ms;
    out = std::move(stored);
  });
  if (!read) {
    warn(read.error());
    return std::nullopt;
  }
  return out;
}

void AnswerStore::renew(const Digest& key,
                        const Stored& stored,
                        util::Millis lifetime,
                        std::string_view route) {
  std::lock_guard lock(mutex_);
  const Answer& answer = stored.answer;
  bool keep_stats = keep_stats_;
  write([&](storage::StoreWriter& w) {
    auto entry = w.entry(key);
    // Gone, or replaced meanwhile by another answer: nothing to renew.
    if (!entry || entry->stdout_digest != answer.out.digest ||
        entry->stderr_digest != answer.err.digest) {
      return;
    }
    int64_t now = util::now_ms();
    entry->created_ms = now;
    entry->last_used_ms = now;
    entry->expires_ms = now + lifetime.count();
    // The same blobs again: put_entry counts them for the entry it writes
    // before it lets the one it replaces go.
    storage::BlobSource blobs[] = {
      { entry->stdout_digest, entry->stdout_size, answer.out.memory, {} },
      { entry->stderr_digest, entry->stderr_size, answer.err.memory, {} },
    };
    w.put_entry(key, *entry, blobs);
    if (keep_stats) {
      StatsDelta delta;
      delta.add(Statistic::hits, kTool, route);
      delta.write_to(w);
    }
  });
}

} // namespace ipfsacc::serve
