#include "serve/answer_store.hpp"

#include "core/copy_out.hpp"
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
  store->max_answer_size_ = config.max_answer_size();
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
  bool unwritable = false; // no room to copy it out: a miss, kept
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
    // Copied out and verified inside the read; a large body into a private
    // file, which the server sends from.
    auto body = take_output(r,
                            entry->stdout_digest,
                            entry->stdout_size,
                            store_->tmp_dir(),
                            answer.out);
    auto head = body.copied == Copied::verified
                  ? take_output(r,
                                entry->stderr_digest,
                                entry->stderr_size,
                                store_->tmp_dir(),
                                answer.err)
                  : TakenOutput{};
    if (body.copied == Copied::unwritable ||
        head.copied == Copied::unwritable) {
      unwritable = true;
      return;
    }
    if (body.copied != Copied::verified || head.copied != Copied::verified ||
        answer.err.file) {
      bad = true;
      return;
    }
    found = std::move(*entry);
    served = true;
  });
  if (!read) {
    warn(read.error());
    return std::nullopt;
  }
  if (unwritable) {
    warn("no room to copy a stored answer out");
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
  // A large body is the recording's spill file, which the store takes over.
  const bool spilled = !answer.out.spilled.empty();
  entry.stdout_digest = spilled ? answer.out.digest : sha256(answer.out.memory);
  entry.stdout_size = spilled ? answer.out.size : answer.out.memory.size();
  entry.stderr_digest = sha256(answer.err.memory);
  entry.stderr_size = answer.err.memory.size();
  entry.tool = std::string(kTool);
  entry.operation = std::string(route);
  entry.display = std::move(display);
  entry.segments = answer.segments;
  storage::BlobSource blobs[] = {
    { entry.stdout_digest,
      entry.stdout_size,
      answer.out.memory,
      answer.out.spilled },
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

} // namespace ipfsacc::serve
