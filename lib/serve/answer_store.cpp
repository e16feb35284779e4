#include "serve/answer_store.hpp"

#include "core/copy_out.hpp"
#include "core/request.hpp"
#include "core/usage.hpp"
#include "secrets/cache_cipher.hpp"
#include "secrets/store.hpp"
#include "serve/metrics.hpp"
#include "util/duration.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

namespace ipfsacc::serve {

using json = nlohmann::json;

namespace {

constexpr std::string_view kTool = "serve";

// The most entries whose hits are held back at once.
constexpr size_t kHeldHits = 256;

// Copies a small stored output out and checks it against its CID; nullopt
// when it is missing or does not verify. (A hit takes its outputs with
// take_output, which copies a large one into a file.)
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

// The tokens an answer's body reports: a JSON document as parse_usage reads
// it, or a server-sent event stream whose events carry usage as they go
// (Anthropic: message_start's message.usage, then message_delta's usage;
// OpenAI: the last chunk's usage; Gemini: each chunk's usageMetadata,
// cumulative). The counts grow along a stream, so the largest of each is
// the answer's.
std::vector<storage::ModelTokens> body_usage(std::string_view body) {
  if (auto usage = parse_usage(body, "")) {
    return std::move(usage->models);
  }
  storage::ModelTokens total;
  bool found = false;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    auto line = body.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with("data:")) {
      continue;
    }
    line.remove_prefix(5);
    auto event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      continue;
    }
    // Anthropic's message_start carries the message, usage inside it.
    if (auto message = event.find("message");
        message != event.end() && message->is_object()) {
      event = *message;
    }
    auto usage = parse_usage(
      event.dump(-1, ' ', false, json::error_handler_t::replace), "");
    if (!usage) {
      continue;
    }
    for (const auto& m : usage->models) {
      found = true;
      if (total.model.empty()) {
        total.model = m.model;
      }
      total.input = std::max(total.input, m.input);
      total.output = std::max(total.output, m.output);
    }
  }
  if (!found) {
    return {};
  }
  return { total };
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
  if (!head.request.empty()) {
    doc["request"] = head.request;
  }
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
  if (auto request = doc.find("request"); request != doc.end()) {
    if (!request->is_string()) {
      return std::nullopt;
    }
    head.request = request->get<std::string>();
  }
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
  store->store_->set_compression(config.compression_level());
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
  store->account_name_ = config.account();
  // As a call opens them: none when outputs are kept encrypted (they are
  // not sent anywhere in the clear); a setting that does not parse has been
  // warned about by Config::load.
  if (auto setting = config.get("remote");
      !setting.empty() && !config.encrypt_cache()) {
    auto remotes = remote::open_remotes(setting,
                                        config.get("remote_trusted_keys"),
                                        config.max_answer_size(),
                                        config.cache_dir());
    if (remotes && !(*remotes)->empty()) {
      (*remotes)->set_compression(config.compression_level());
      store->remotes_ = std::move(*remotes);
    }
  }
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
  auto written = store_->write([&](storage::StoreWriter& w) {
    apply_hits(w);
    fn(w);
  });
  if (!written) {
    warn(written.error());
  }
}

void AnswerStore::apply_hits(storage::StoreWriter& w) {
  for (const auto& [key, touch] : held_touches_) {
    for (int i = 0; i < touch.second; ++i) {
      w.touch(key, touch.first);
    }
  }
  held_stats_.write_to(w);
  held_touches_.clear();
  held_stats_ = StatsDelta();
}

void AnswerStore::flush_hits_unless_busy() {
  if ((held_touches_.empty() && held_stats_.empty()) ||
      lookups_waiting_.load() > 0) {
    return;
  }
  write([](storage::StoreWriter&) {});
}

AnswerStore::~AnswerStore() {
  std::lock_guard lock(mutex_);
  if (store_) {
    write([](storage::StoreWriter&) {});
  }
}

std::string AnswerStore::account(std::string_view credentials) {
  // As in a call: a configured account names the keys' account, so that
  // machines whose caches have different namespace keys share entries
  // through the remotes.
  if (!account_name_.empty()) {
    return "name:" + account_name_;
  }
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
                                          std::string_view route,
                                          bool ask_remotes) {
  std::optional<Answer> local = lookup_local(key, route);
  if (local || !remotes_ || !ask_remotes) {
    return local;
  }
  auto fetched = fetch_remote(key);
  if (!fetched) {
    return std::nullopt;
  }
  auto& [entry, answer] = *fetched;
  std::lock_guard lock(mutex_);
  bool counted = false;
  uint64_t max_size = max_size_;
  bool keep_stats = keep_stats_;
  write([&](storage::StoreWriter& w) {
    storage::BlobSource blobs[] = {
      { entry.stdout_digest, entry.stdout_size, answer.out.memory, {} },
      { entry.stderr_digest, entry.stderr_size, answer.err.memory, {} },
    };
    w.put_entry(key, entry, blobs);
    StatsDelta delta;
    w.evict_to(max_size, [&](const storage::Entry& evicted) {
      delta.add(Statistic::evictions, evicted.tool, evicted.operation);
    });
    if (keep_stats) {
      count_hit(delta, entry, route);
      counted = true;
    }
    delta.write_to(w);
  });
  if (!counted) {
    count_tokens(entry, route);
  }
  return std::move(answer);
}

void AnswerStore::count_hit(StatsDelta& delta,
                            const storage::Entry& entry,
                            std::string_view route) {
  delta.add(Statistic::hits, kTool, route);
  delta.add(Statistic::time_saved_ms, kTool, route, entry.duration_ms);
  auto [input, output] = count_tokens(entry, route);
  if (input > 0) {
    delta.add(Statistic::input_tokens_saved, kTool, route, int64_t(input));
  }
  if (output > 0) {
    delta.add(Statistic::output_tokens_saved, kTool, route, int64_t(output));
  }
}

std::pair<uint64_t, uint64_t> AnswerStore::count_tokens(
  const storage::Entry& entry,
  std::string_view route) {
  uint64_t input = 0;
  uint64_t output = 0;
  for (const auto& m : entry.usage) {
    input += m.input;
    output += m.output;
  }
  if (metrics_ && (input > 0 || output > 0)) {
    metrics_->tokens_saved(route, input, output);
  }
  return { input, output };
}

std::optional<std::pair<storage::Entry, Answer>> AnswerStore::fetch_remote(
  const Digest& key) {
  // Kept as a call keeps it: a store that cannot take the entry does not
  // ask (read-only caches serve only what they hold).
  if (store_->read_only()) {
    return std::nullopt;
  }
  std::optional<remote::Fetched> found;
  StatsDelta news;
  {
    std::lock_guard lock(remote_mutex_);
    found = remotes_->fetch(key, util::now_ms());
    news = collect_remote_news();
  }
  write_news(news);
  if (!found) {
    return std::nullopt;
  }
  // Verified and bound to the key by Remotes; what the proxy needs of it
  // checked here, as a local entry's is.
  if (!storage::segments_fit(found->entry) || !decode_head(found->err)) {
    return std::nullopt;
  }
  storage::Entry entry = std::move(found->entry);
  entry.hits = 0;
  entry.last_used_ms = util::now_ms();
  Answer answer;
  answer.source = AnswerSource::remote_hit;
  answer.http_status = entry.exit_code;
  answer.out.memory = std::move(found->out);
  answer.out.size = answer.out.memory.size();
  answer.out.digest = entry.stdout_digest;
  answer.err.memory = std::move(found->err);
  answer.err.size = answer.err.memory.size();
  answer.err.digest = entry.stderr_digest;
  answer.segments = entry.segments;
  return std::pair{ std::move(entry), std::move(answer) };
}

void AnswerStore::store_remote(const Digest& key,
                               const storage::Entry& entry,
                               const Answer& answer) {
  // A body spilled to a file (over 1 MiB) stays local: sending it would
  // mean holding it in memory.
  if (!remotes_ || !answer.out.spilled.empty()) {
    return;
  }
  StatsDelta news;
  {
    std::lock_guard lock(remote_mutex_);
    if (!remotes_->any_writable()) {
      return;
    }
    auto bytes = [](const std::string& s) {
      return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    remotes_->store(
      key, entry, bytes(answer.out.memory), bytes(answer.err.memory));
    news = collect_remote_news();
  }
  write_news(news);
}

StatsDelta AnswerStore::collect_remote_news() {
  for (const auto& message : remotes_->take_warnings()) {
    fmt::print(stderr, "ipfsacc: warning: {}\n", message);
  }
  std::fflush(stderr);
  StatsDelta news;
  remotes_->move_counts_to(news);
  return news;
}

void AnswerStore::write_news(const StatsDelta& news) {
  if (news.empty() || !keep_stats_) {
    return;
  }
  std::lock_guard lock(mutex_);
  write([&](storage::StoreWriter& w) { news.write_to(w); });
}

std::optional<Answer> AnswerStore::lookup_local(const Digest& key,
                                                std::string_view route) {
  ++lookups_waiting_;
  std::lock_guard lock(mutex_);
  --lookups_waiting_;
  // However this lookup ends, what the hits held back is written unless
  // another lookup comes next.
  struct Flush {
    AnswerStore& store;
    ~Flush() { store.flush_hits_unless_busy(); }
  } flush{ *this };
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
  // Held back, written when the lookups queued behind this one are done
  // (Flush) or, under a long stream of them, every kHeldHits hits.
  if (store_->read_only()) {
    count_tokens(found, route);
    return answer;
  }
  auto& touch = held_touches_[key];
  touch.first = util::now_ms();
  ++touch.second;
  if (keep_stats_) {
    count_hit(held_stats_, found, route);
  } else {
    count_tokens(found, route);
  }
  if (held_touches_.size() >= kHeldHits) {
    write([](storage::StoreWriter&) {});
  }
  return answer;
}

void AnswerStore::store(const Digest& key,
                        const Answer& answer,
                        std::string_view route,
                        std::string display,
                        uint32_t duration_ms) {
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
  entry.usage = body_usage(answer.out.memory);
  // A read-only cache stores nothing, here or on the remotes, as for a call.
  if (store_->read_only()) {
    return;
  }
  store_local(key, entry, answer, route);
  store_remote(key, entry, answer);
}

void AnswerStore::store_local(const Digest& key,
                              const storage::Entry& entry,
                              const Answer& answer,
                              std::string_view route) {
  std::lock_guard lock(mutex_);
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
