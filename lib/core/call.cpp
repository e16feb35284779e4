#include "core/call.hpp"

#include "core/answer.hpp"
#include "core/cid.hpp"
#include "core/context.hpp"
#include "core/copy_out.hpp"
#include "core/lifetime.hpp"
#include "core/policy.hpp"
#include "core/program.hpp"
#include "core/redact.hpp"
#include "core/request.hpp"
#include "core/usage.hpp"
#include "exec/runner.hpp"
#include "exec/stdio.hpp"
#include "http/http.hpp"
#include "remote/remotes.hpp"
#include "remote/spec.hpp"
#include "sdk/sdk.hpp"
#include "secrets/cache_cipher.hpp"
#include "secrets/store.hpp"
#include "stats/stats.hpp"
#include "storage/lock.hpp"
#include "storage/store.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"
#include "util/linking.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace ipfsacc {

namespace fs = std::filesystem;
using storage::Entry;
using storage::Store;

namespace {

// Piped stdin larger than this is spilled to a file while it is hashed.
constexpr size_t kStdinMemoryLimit = 8 << 20;

// Wipes strings that held secrets.
void wipe(std::vector<std::string>& entries) {
  for (auto& entry : entries) {
    sodium_memzero(entry.data(), entry.size());
  }
  entries.clear();
}

// The end of a static front's call that its dynamic twin makes instead: an
// exec of the twin with the same command line (util/linking.hpp). nullopt in
// any other program.
std::optional<CallEnd> twin_end(const CallOptions& options) {
  const auto& twin = util::dynamic_twin();
  if (options.front_argv.empty() || twin.empty()) {
    return std::nullopt;
  }
  auto end =
    CallEnd::exec(twin,
                  { options.front_argv.begin(), options.front_argv.end() },
                  { util::front_marker() });
  end.exec_failed = [twin](int error) {
    fmt::print(stderr,
               "ipfsacc: error: cannot run {}: {}\n",
               twin,
               std::strerror(error));
    return CallEnd::code(127);
  };
  return end;
}

// Makes what was read of our stdin the stdin of the program exec'd next: a
// memory file holding it, or the spill file. Returns false when neither can
// be opened.
bool restore_stdin(const exec::StdinData& data) {
  int fd = -1;
  if (!data.file.empty()) {
    fd = ::open(data.file.c_str(), O_RDONLY | O_CLOEXEC);
  } else {
    fd = ::memfd_create("ipfsacc-stdin", MFD_CLOEXEC);
    if (fd >= 0 &&
        !util::write_all(fd, data.memory.data(), data.memory.size())) {
      ::close(fd);
      fd = -1;
    }
    if (fd >= 0 && ::lseek(fd, 0, SEEK_SET) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    return false;
  }
  bool moved = ::dup2(fd, STDIN_FILENO) == STDIN_FILENO;
  ::close(fd);
  return moved;
}

struct Stdin {
  exec::StdinData data;
  Digest digest{};
  bool complete = true;
  // The spill file's descriptor, whose flock says the file is in use (see
  // util::sweep_unheld).
  util::Fd held;
  ~Stdin() {
    if (!data.file.empty()) {
      ::unlink(data.file.c_str());
    }
  }
};

// Reads all of our stdin, hashing it; spills to dir when large.
void read_stdin(Stdin& in, const fs::path& spill_dir) {
  Sha256 hash;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      in.complete = n == 0 || errno == EBADF;
      break;
    }
    auto size = static_cast<size_t>(n);
    hash.update(buffer, size);
    if (!in.held) {
      in.data.memory.append(buffer, size);
      if (in.data.memory.size() > kStdinMemoryLimit) {
        std::error_code ec;
        fs::create_directories(spill_dir, ec);
        std::string path = (spill_dir / "stdin.XXXXXX").string();
        in.held = util::create_held(path);
        if (!in.held) {
          in.complete = false;
          break;
        }
        in.data.file = path;
        if (!util::write_all(
              in.held.get(), in.data.memory.data(), in.data.memory.size())) {
          in.complete = false;
          break;
        }
        in.data.memory.clear();
      }
    } else if (!util::write_all(in.held.get(), buffer, size)) {
      in.complete = false;
      break;
    }
  }
  in.digest = hash.finish();
}

// Writes size bytes of the private file fd from offset at, a chunk at a
// time.
void write_from_file(int to, int fd, uint64_t at, uint64_t size) {
  auto chunk = std::make_unique_for_overwrite<char[]>(kCopyChunk);
  while (size > 0) {
    auto want = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, size));
    ssize_t n = ::pread(fd, chunk.get(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    // The file holds every byte (it was written whole before): an early end
    // is a failing disk, and nothing more can be served.
    if (n <= 0 || !util::write_all(to, chunk.get(), static_cast<size_t>(n))) {
      return;
    }
    at += static_cast<uint64_t>(n);
    size -= static_cast<uint64_t>(n);
  }
}

// Writes an answer's segments in the order they were recorded.
void write_segments(const Answer& answer) {
  uint64_t out_pos = 0;
  uint64_t err_pos = 0;
  for (const auto& segment : answer.segments) {
    bool is_out = segment.stream == storage::Stream::out;
    auto& pos = is_out ? out_pos : err_pos;
    int to = is_out ? STDOUT_FILENO : STDERR_FILENO;
    const auto& output = is_out ? answer.out : answer.err;
    if (output.file) {
      write_from_file(to, output.file.get(), pos, segment.size);
    } else {
      util::write_all(to, output.memory.data() + pos, segment.size);
    }
    pos += segment.size;
  }
}

// What a shim says when there is no tool behind it: the user typed the
// tool's name and may not know ipfsacc is in between.
void report_missing_behind_shim(std::string_view name) {
  const char* custom = std::getenv("IPFSACC_PATH");
  fmt::print(stderr,
             "ipfsacc: {0}: command not found: this {0} is ipfsacc's shim "
             "and there is no other {0} on {1}\n"
             "ipfsacc: install {0}, or remove the shims with `ipfsacc "
             "shims remove`\n",
             name,
             custom && *custom ? "IPFSACC_PATH" : "PATH");
}

// A crash of the CLI before it printed anything sends the call over HTTP:
// the CLI is broken, not the request.
bool crash_signal(int wait_status) {
  if (!WIFSIGNALED(wait_status)) {
    return false;
  }
  int sig = WTERMSIG(wait_status);
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGABRT ||
         sig == SIGFPE;
}

class Call {
public:
  // path is "" when the tool's CLI is not installed (the HTTP path then
  // makes the call).
  Call(const ToolPolicy& policy,
       std::string name,
       std::string path,
       std::vector<std::string> args,
       const CallOptions& options,
       const Config& config)
    : policy_(policy)
    , name_(std::move(name))
    , path_(std::move(path))
    , args_(std::move(args))
    , options_(options)
    , config_(config) {
    if (policy_.tool != "run") {
      sdk_ = sdk::find_tool(policy_.tool);
    }
    if (sdk_ && path_.empty()) {
      use_sdk_ = true;
      const char* custom = std::getenv("IPFSACC_PATH");
      fallback_ = fmt::format(
        "{} is not on {}", name_, custom && *custom ? "IPFSACC_PATH" : "PATH");
    } else if (sdk_) {
      auto prefer = config_.prefer(policy_.tool);
      use_sdk_ = prefer ? *prefer == "sdk" : sdk_->first == sdk::Path::sdk;
    }
    if (!options_.front_argv.empty()) {
      auto remotes = config_.get("remote");
      front_probe_ = (sdk_ || (!remotes.empty() &&
                               !remote::static_program_reaches(remotes))) &&
                     !util::dynamic_twin().empty();
    }
  }

  // Secrets injected into the child are wiped; the key lock, then the
  // cache, close with their members.
  ~Call() {
    if (injected_) {
      wipe(*injected_);
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // The whole call, top down (the steps of ARCHITECTURE.md's "A call").
  CallEnd run();
  // Whether an exec of the tool that fails may still be answered over HTTP
  // (then the Call must outlive the exec: after_failed_exec).
  bool has_http_path() const { return sdk_ != nullptr; }
  // How the call ends when exec'ing the tool failed with error.
  CallEnd after_failed_exec(int error);

private:
  void warn(std::string_view message);
  void explain(std::string_view line);
  std::vector<std::string> child_argv() const;
  const std::vector<std::string>& child_env();
  // The argv an entry keeps for display: child_argv() with what looks like
  // a secret redacted, the secrets store's own values included when the
  // store is read already or can be read without a passphrase (a key file).
  std::string displayed_argv();
  CallEnd exec_directly();
  CallEnd pass_through(std::string_view why);
  CallEnd run_unrecorded(const exec::StdinData* in);
  CallEnd run_invalidating(const Match& match);
  std::string tool_version();
  // How long past its expiry an entry may still be served.
  static constexpr int64_t kFreshOnly = 0;
  static constexpr int64_t kAnyAge = INT64_MAX;
  // A hit ends the call with the recorded exit code; a cache that turns out
  // corrupt ends it with an uncached run of the tool.
  std::optional<CallEnd> try_replay(const Digest& key,
                                    int64_t stale_ms,
                                    std::string& reason,
                                    bool* stale = nullptr);
  CallEnd miss(const Digest& key, std::string_view reason);
  void finish_hit(const Digest& key);
  void finish_writes(const std::function<void(storage::StoreWriter&)>& more);
  void count_tokens_saved(const Entry& entry);
  enum class Forward { no, yes };
  CallEnd run_and_store(const Digest& key, Forward forward);
  // What the rule and options say about keeping this call's answers.
  KeepRules keep_rules() const;
  // Whether a failed run of the CLI printed the rule's not-found
  // (negative_match on its stdout or stderr, when the rule has a
  // negative_ttl).
  bool not_found(const Answer& answer) const;
  // Whether a run that exited 0 printed what the tool's failure_match
  // describes (a CLI that reports errors with exit status 0).
  bool says_failed(const Answer& answer) const;
  void revalidate_in_background(const Digest& key);
  // The remote tiers (lib/remote), made on first use; nullptr when none is
  // configured, so a call without remotes loads and connects nothing.
  remote::Remotes* remotes();
  // Asks the remotes for key after a local miss; a verified answer is
  // copied into the local cache. Returns whether one was.
  bool fetch_from_remotes(const Digest& key, int64_t stale_ms);
  // Sends what was just stored locally under key to the writable remotes.
  void store_to_remotes(const Digest& key, const Entry& entry);
  // Keeps an answer under key when its keep says so, whichever path made
  // it, and ends the call with it.
  CallEnd keep_answer(const Digest& key, const Answer& answer, bool failed);
  void store(const Digest& key,
             Entry& entry,
             std::span<const storage::BlobSource> blobs,
             std::string_view stdout_text);
  // Remote warnings to stderr and remote counters into stats_.
  void collect_remote_news();
  std::string operation() const { return rule_ ? rule_->id : ""; }
  util::Millis ttl() const;
  // The HTTP path (see sdk/): the call as the SDK sees it (without stdin,
  // which run_sdk adds), and the call made.
  sdk::Invocation invocation();
  sdk::Answer run_sdk(int& requests);
  // Whether a failed start or a crash of the CLI sends the call over HTTP;
  // if so, takes the HTTP path.
  bool fall_back_to_http(const exec::RunResult& result);
  // The one switch from the CLI to the HTTP path, after the CLI could not
  // answer (why says how); the path is otherwise chosen once, when the Call
  // is made.
  void take_http_path(std::string why) {
    fallback_ = std::move(why);
    use_sdk_ = true;
  }
  // Makes the call over HTTP and ends like the CLI would (no cache).
  CallEnd sdk_unrecorded();
  // Makes the call over HTTP; stores the answer under key when it may be.
  CallEnd sdk_and_store(const Digest& key, Forward forward);
  std::string path_name() const {
    return !use_sdk_           ? "cli"
           : fallback_.empty() ? "sdk"
                               : fmt::format("sdk (fallback: {})", fallback_);
  }
  // The key of this call: the CLI's version is left out when both paths
  // give the same bytes, and the HTTP path's own marker put in when not.
  std::string key_version();
  // In a static front whose call may need libcurl (an HTTP path, a remote
  // tier), the end that hands the call to the dynamic twin; nullopt when the
  // call is to go on here. Called wherever the call would do more than
  // answer from the local cache, before it writes anything. The twin makes
  // the whole call; stdin already read goes with it.
  std::optional<CallEnd> hand_over();
  // Says that the call cannot be made over HTTP (and, behind a shim, that
  // there is no tool behind it).
  void report_unsupported(const sdk::Unsupported& why) {
    if (options_.as_shim && path_.empty()) {
      report_missing_behind_shim(name_);
    }
    fmt::print(stderr, "ipfsacc: {}\n", why.message);
  }

  // Borrowed: the rule files outlive a call (they are loaded once, and a
  // long-lived process keeps them for many calls); freeing them at the end
  // of every call would only cost the hit path.
  const ToolPolicy& policy_;
  std::string name_;
  std::string path_;
  std::vector<std::string> args_;
  const CallOptions& options_;
  const Config& config_;
  const Rule* rule_ = nullptr;
  std::unique_ptr<Store> store_;
  // The single-flight lock of the key being run; released (and its file
  // removed) with the cache, before the process exits.
  std::optional<storage::KeyLock> key_lock_;
  std::unique_ptr<Stdin> stdin_;
  TerminalMode terminal_;
  StatsDelta stats_;
  bool warned_ = false;
  bool waited_ = false; // for the call in flight of an identical process
  std::string key_cid_;
  // "NAME=value" for the secrets the child gets from the store; loaded on
  // first use (see child_env).
  std::optional<std::vector<std::string>> injected_;
  // The secrets store, once read (child_env, displayed_argv).
  std::optional<secrets::Secrets> secrets_;
  std::optional<std::unique_ptr<remote::Remotes>> remotes_;
  std::string remote_from_; // the remote that answered, for --explain
  // The tool's HTTP path (nullptr: none), whether this call takes it, and
  // why when the CLI could not answer.
  const sdk::Tool* sdk_ = nullptr;
  bool use_sdk_ = false;
  std::string fallback_;
  // A static front's call that may need libcurl: only a fresh local hit is
  // answered here (hand_over).
  bool front_probe_ = false;
  Request request_;
  // `run` only: the program the command resolved to.
  std::optional<ProgramIdentity> program_;
  // " program=PATH" for --explain, when there is one.
  std::string program_note() const {
    return program_ ? " program=" + program_->path : "";
  }
};

void Call::warn(std::string_view message) {
  if (!warned_) {
    warned_ = true;
    fmt::print(stderr, "ipfsacc: warning: {}\n", message);
  }
}

void Call::explain(std::string_view line) {
  if (options_.explain) {
    fmt::print(stderr, "ipfsacc: {}\n", line);
  }
}

std::vector<std::string> Call::child_argv() const {
  std::vector<std::string> argv{ name_ };
  argv.insert(argv.end(), args_.begin(), args_.end());
  return argv;
}

// What the rule file's `secrets` put in the child's environment: the stored
// secret of each mapping whose variable is not set. The user's own
// credentials win: when any variable the rule file's `account` lists is set
// (GITHUB_TOKEN for gh, CLAUDE_CODE_OAUTH_TOKEN for claude), nothing is
// injected, since the stored key would override the one the user chose. The
// store is opened only when something is to be injected: a tool without
// mappings, or with the user's credentials set, costs nothing; a user without
// a store pays one stat. A store that cannot be opened is one warning, and
// the tool runs without its secrets.
const std::vector<std::string>& Call::child_env() {
  if (injected_) {
    return *injected_;
  }
  injected_.emplace();
  if (policy_.secrets.empty()) {
    return *injected_;
  }
  auto is_set = [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value && *value;
  };
  for (const auto& source : policy_.account) {
    if (!source.env.empty() && is_set(source.env)) {
      return *injected_;
    }
  }
  std::vector<const SecretMapping*> needed;
  for (const auto& mapping : policy_.secrets) {
    if (!is_set(mapping.env)) {
      needed.push_back(&mapping);
    }
  }
  if (needed.empty()) {
    return *injected_;
  }
  // A missing store is one stat, and empty.
  auto stored = secrets::load(secrets::Location::from_environment(),
                              secrets::passphrase_from_env());
  if (!stored) {
    warn(fmt::format(
      "{}; {} runs without its stored secrets", stored.error(), name_));
    return *injected_;
  }
  secrets_ = std::move(*stored);
  for (const auto* mapping : needed) {
    if (auto value = secrets_->get(mapping->name)) {
      std::string entry = mapping->env;
      entry += '=';
      entry += *value;
      injected_->push_back(std::move(entry));
    }
  }
  return *injected_;
}

std::string Call::displayed_argv() {
  if (!secrets_) {
    auto location = secrets::Location::from_environment();
    // A passphrase store would cost a key derivation on every miss: its
    // values are redacted when the call read them anyway (child_env).
    std::expected<secrets::KeyMode, std::string> mode =
      std::unexpected("no store");
    if (secrets::exists(location)) {
      mode = secrets::key_mode(location);
    }
    if (mode && *mode == secrets::KeyMode::key_file) {
      if (auto stored =
            secrets::load(location, secrets::passphrase_from_env())) {
        secrets_ = std::move(*stored);
      }
    }
  }
  std::vector<std::string_view> values;
  if (secrets_) {
    for (const auto& info : secrets_->list()) {
      if (auto value = secrets_->get(info.name)) {
        values.push_back(*value);
      }
    }
  }
  return util::join_args(redact_args(child_argv(), values));
}

std::optional<CallEnd> Call::hand_over() {
  if (!front_probe_) {
    return std::nullopt;
  }
  auto end = twin_end(options_);
  if (!end || (stdin_ && !restore_stdin(stdin_->data))) {
    return std::nullopt; // the call goes on here, without what needs libcurl
  }
  std::fflush(stderr);
  key_lock_.reset();
  store_.reset();
  return end;
}

// The tool runs in our place: main execs it once the call is over. The
// cache is closed first, so that the tool never holds it open.
CallEnd Call::exec_directly() {
  if (use_sdk_) {
    return sdk_unrecorded();
  }
  std::fflush(stderr);
  store_.reset();
  auto env = child_env();
  return CallEnd::exec(path_, child_argv(), std::move(env));
}

CallEnd Call::after_failed_exec(int error) {
  if (sdk_ && (error == ENOENT || error == EACCES || error == ENOEXEC)) {
    take_http_path(fmt::format(
      "{} could not be executed ({})", name_, std::strerror(error)));
    return sdk_unrecorded();
  }
  return CallEnd::code(exec::report_spawn_failure(name_, error));
}

sdk::Invocation Call::invocation() {
  sdk::Invocation call;
  call.tool = policy_.tool;
  call.binary = name_;
  call.args = args_;
  // The user's variables, then what the store would inject into the CLI.
  call.env = [this](std::string_view name) -> std::optional<std::string> {
    if (const char* value = std::getenv(std::string(name).c_str())) {
      return std::string(value);
    }
    for (const auto& entry : child_env()) {
      if (entry.size() > name.size() && entry[name.size()] == '=' &&
          std::string_view(entry).starts_with(name)) {
        return entry.substr(name.size() + 1);
      }
    }
    return std::nullopt;
  };
  return call;
}

sdk::Answer Call::run_sdk(int& requests) {
  auto call = invocation();
  // Piped stdin the rule keys on is what the CLI would have read.
  if (stdin_ && stdin_->complete) {
    if (stdin_->data.file.empty()) {
      call.stdin_data = stdin_->data.memory;
    } else if (auto text = util::read_file(stdin_->data.file)) {
      call.stdin_data = std::move(*text);
    }
  }
  http::Options http_options;
  http_options.timeout = config_.http_timeout();
  http_options.connect_timeout = config_.http_connect_timeout();
  http_options.max_body = config_.max_answer_size();
  call.transport = [&](const http::Request& request) {
    ++requests;
    auto response = http::perform(request, http_options);
    if (!response && response.error().too_large) {
      response.error().message += " (max_answer_size)";
    }
    return response;
  };
  std::fflush(stderr);
  return sdk::run_tool(*sdk_, call);
}

// An output held in memory, with its CID.
Output in_memory(std::string bytes) {
  Output output;
  output.digest = sha256(
    std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  output.size = bytes.size();
  output.memory = std::move(bytes);
  return output;
}

// The HTTP path's answer: what the CLI would have printed is stdout, then
// stderr.
Answer http_answer(sdk::Outcome&& outcome) {
  Answer answer;
  answer.source = AnswerSource::http;
  answer.wait_status = W_EXITCODE(outcome.exit_code & 0xff, 0);
  answer.out = in_memory(std::move(outcome.out));
  answer.err = in_memory(std::move(outcome.err));
  for (auto stream : { storage::Stream::out, storage::Stream::err }) {
    auto size = (stream == storage::Stream::out ? answer.out : answer.err).size;
    if (size > 0) {
      answer.segments.push_back({ stream, size });
    }
  }
  return answer;
}

// A run's answer: the output recorded while the tool ran (and, live, while
// the caller watched it), taken out of the result. A spilled output stays
// the result's file, named here for the store to take.
Answer run_answer(exec::RunResult& result, bool live) {
  Answer answer;
  answer.source = AnswerSource::run;
  answer.wait_status = result.wait_status;
  answer.delivered = live;
  answer.took_ms = result.duration_ms;
  auto& rec = result.recording;
  for (auto* stream : { &rec.out, &rec.err }) {
    auto& output = stream == &rec.out ? answer.out : answer.err;
    output.digest = stream->digest;
    output.size = stream->size;
    output.memory = std::move(stream->memory);
    output.spilled = stream->file;
  }
  answer.segments = std::move(rec.segments);
  return answer;
}

CallEnd Call::sdk_unrecorded() {
  if (auto end = hand_over()) {
    return *end;
  }
  explain(fmt::format("{} path={}", policy_.tool, path_name()));
  int requests = 0;
  auto made = run_sdk(requests);
  if (!made) {
    report_unsupported(made.error());
    return CallEnd::code(127);
  }
  Answer answer = http_answer(std::move(*made));
  write_segments(answer);
  explain(fmt::format("{} over HTTP: {} request{}, exit {}",
                      policy_.tool,
                      requests,
                      requests == 1 ? "" : "s",
                      answer.exit_code()));
  return CallEnd::code(answer.exit_code());
}

bool Call::fall_back_to_http(const exec::RunResult& result) {
  if (!sdk_ || use_sdk_) {
    return false;
  }
  if (!result.started) {
    take_http_path(fmt::format("{} could not be executed ({})",
                               name_,
                               std::strerror(result.spawn_errno)));
    return true;
  }
  bool silent =
    result.recording.out.size == 0 && result.recording.err.size == 0;
  if (silent && crash_signal(result.wait_status)) {
    take_http_path(fmt::format("{} died of signal {} before printing anything",
                               name_,
                               ::sigabbrev_np(WTERMSIG(result.wait_status))));
    return true;
  }
  // A wrapper script whose interpreter is missing exits 126 or 127 with only
  // the shell's complaint.
  if (result.recording.out.size == 0 && WIFEXITED(result.wait_status) &&
      (WEXITSTATUS(result.wait_status) == 126 ||
       WEXITSTATUS(result.wait_status) == 127)) {
    take_http_path(fmt::format("{} could not be executed (exit {})",
                               name_,
                               WEXITSTATUS(result.wait_status)));
    return true;
  }
  return false;
}

std::string Call::key_version() {
  if (!sdk_) {
    return tool_version();
  }
  auto call = invocation();
  if (sdk_->identical(call)) {
    return {};
  }
  return use_sdk_ ? "ipfsacc-http" : tool_version();
}

KeepRules Call::keep_rules() const {
  KeepRules rules;
  rules.ttl = ttl();
  rules.ttl_forced = options_.ttl || config_.ttl_override();
  rules.cache_failures =
    options_.cache_failures || (rule_ && rule_->cache_failures);
  if (rule_) {
    rules.negative_ttl = rule_->negative_ttl;
  }
  rules.read_only = store_->read_only();
  return rules;
}

CallEnd Call::sdk_and_store(const Digest& key, Forward forward) {
  bool live = forward == Forward::yes;
  int64_t created = util::now_ms();
  int64_t started = util::steady_ms();
  int requests = 0;
  auto made = run_sdk(requests);
  if (!made) {
    if (live) {
      report_unsupported(made.error());
    }
    finish_writes(nullptr);
    return CallEnd::status(W_EXITCODE(127, 0));
  }
  AnswerFacts facts;
  facts.failed = made->exit_code != 0;
  facts.not_found = made->not_found;
  facts.refused = !made->cacheable;
  facts.own_ttl = made->ttl;
  Answer answer = http_answer(std::move(*made));
  if (live) {
    write_segments(answer);
    answer.delivered = true;
  }
  answer.made_ms = created;
  answer.took_ms = util::steady_ms() - started;
  answer.keep = decide_cacheable(facts, keep_rules());
  std::string stored = answer.keep.store ? "" : ", not stored";
  if (answer.keep.negative) {
    stored = fmt::format(", stored as not found for {} (rule {}/{} "
                         "negative_ttl)",
                         util::format_duration(*rule_->negative_ttl),
                         policy_.tool,
                         rule_->id);
  } else if (facts.not_found) {
    stored = fmt::format(", not stored (not found; rule {}/{} has no "
                         "negative_ttl)",
                         policy_.tool,
                         operation());
  }
  explain(fmt::format("{} over HTTP: {} request{}, exit {}{}",
                      policy_.tool,
                      requests,
                      requests == 1 ? "" : "s",
                      answer.exit_code(),
                      stored));
  return keep_answer(key, answer, facts.failed);
}

// Counts a bypass (best effort: a broken cache stays silent here) and runs
// the tool in our place.
CallEnd Call::pass_through(std::string_view why) {
  // Over HTTP (sdk_unrecorded would hand over): before the bypass is counted
  // and explained, which the twin does.
  if (use_sdk_) {
    if (auto end = hand_over()) {
      return *end;
    }
  }
  explain(fmt::format("BYPASS {} ({})", policy_.tool, why));

  if (!config_.disabled() && config_.stats_enabled()) {
    if (auto store =
          Store::open(config_.cache_dir(), storage::Access::read_write);
        store && !(*store)->read_only()) {
      StatsDelta delta;
      delta.add(Statistic::bypasses, policy_.tool, "");
      (void)(*store)->write([&](auto& w) { delta.write_to(w); });
    }
    // Except that a cache set aside as corrupt is always told.
    if (auto corruption = Store::corruption_in(config_.cache_dir())) {
      warn(*corruption);
    }
  }
  return exec_directly();
}

CallEnd Call::run_unrecorded(const exec::StdinData* in) {
  if (!in || use_sdk_) {
    return exec_directly();
  }
  exec::RunOptions run;
  run.path = path_;
  run.argv = child_argv();
  run.extra_env = child_env();
  run.stdin_data = in;
  run.record = false;
  auto result = exec::run(run);
  wipe(run.extra_env);
  if (fall_back_to_http(result)) {
    return sdk_unrecorded();
  }
  if (!result.started) {
    return CallEnd::code(exec::report_spawn_failure(name_, result.spawn_errno));
  }
  return CallEnd::status(result.wait_status);
}

CallEnd Call::run_invalidating(const Match& match) {
  if (auto end = hand_over()) {
    return *end;
  }
  auto scopes = call_scopes(policy_, args_);
  if (scopes.empty()) {
    scopes.push_back("*");
  }
  std::vector<std::string> tags;
  for (const auto& tag : match.invalidate_tags) {
    for (const auto& scope : scopes) {
      tags.push_back(fmt::format("{}:{}:{}", policy_.tool, tag, scope));
    }
  }
  auto drop = [&] {
    if (!store_ || store_->read_only()) {
      return size_t{ 0 };
    }
    size_t dropped = 0;
    (void)store_->write([&](storage::StoreWriter& w) {
      dropped = 0;
      for (const auto& tag : tags) {
        dropped += w.remove_tagged(tag);
      }
      StatsDelta delta = stats_;
      delta.add(Statistic::invalidated, policy_.tool, "", int64_t(dropped));
      delta.write_to(w);
    });
    return dropped;
  };
  if (auto store =
        Store::open(config_.cache_dir(), storage::Access::read_write)) {
    store_ = std::move(*store);
  }
  stats_.add(Statistic::bypasses, policy_.tool, "");
  // Drop before the write too, so no reader can be served the old answer
  // while the write is under way.
  drop();
  // A cache set aside as corrupt (on opening it, or by that drop) is told.
  if (auto corruption = Store::corruption_in(config_.cache_dir())) {
    warn(*corruption);
  }
  stats_ = StatsDelta();
  explain(fmt::format(
    "BYPASS {} (a write: drops {})", policy_.tool, util::join_args(tags)));
  // Writes are not mapped over HTTP: the tool's answer says so.
  if (use_sdk_) {
    return sdk_unrecorded();
  }
  // Interactive writes (gh pr create asks questions) keep our terminal:
  // nothing is captured, the tool's stdio are simply inherited.
  std::fflush(stderr);
  exec::RunOptions run;
  run.path = path_;
  run.argv = child_argv();
  run.extra_env = child_env();
  run.inherit_stdio = true;
  run.record = false;
  auto result = exec::run(run);
  wipe(run.extra_env);
  if (!result.started && fall_back_to_http(result)) {
    return sdk_unrecorded();
  }
  if (!result.started) {
    return CallEnd::code(exec::report_spawn_failure(name_, result.spawn_errno));
  }
  drop();
  return CallEnd::status(result.wait_status);
}

util::Millis Call::ttl() const {
  if (options_.ttl) {
    return *options_.ttl;
  }
  return answer_ttl(
    config_, policy_.tool, operation(), rule_ ? rule_->ttl : std::nullopt);
}

// The tool's version, learned once per binary (path, inode, size, mtime,
// ctime) and remembered in the cache, so a hit costs a stat, not a run of
// --version. The inode and ctime tell a replaced binary from the old one
// when a package keeps size and mtime (reproducible builds set every mtime
// to one date).
std::string Call::tool_version() {
  if (policy_.version_args.empty()) {
    return {};
  }
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    return {};
  }
  auto memo_key = fmt::format("version\x1f{}\x1f{}\x1f{}.{}\x1f{}\x1f{}.{}",
                              path_,
                              st.st_size,
                              st.st_mtim.tv_sec,
                              st.st_mtim.tv_nsec,
                              st.st_ino,
                              st.st_ctim.tv_sec,
                              st.st_ctim.tv_nsec);
  std::optional<std::string> version;
  (void)store_->read(
    [&](storage::StoreReader& r) { version = r.meta(memo_key); });
  if (version) {
    return *version;
  }
  exec::RunOptions run;
  run.path = path_;
  run.argv = { name_ };
  run.argv.insert(
    run.argv.end(), policy_.version_args.begin(), policy_.version_args.end());
  run.forward = false;
  auto result = exec::run(run);
  if (!result.exited_ok()) {
    return {};
  }
  std::string_view out = result.recording.out.memory;
  if (out.empty()) {
    out = result.recording.err.memory;
  }
  std::string first(out.substr(0, out.find('\n')));
  if (!store_->read_only()) {
    (void)store_->write([&](auto& w) { w.set_meta(memo_key, first); });
  }
  return first;
}

// Serves the entry if it is there, verifies, and is fresh or at most
// stale_ms past its expiry (then *stale is set). The outputs are verified
// and copied out of the store first; only once the read is over is a byte
// written, so a fault or a corrupt record found on the way leaves nothing
// half-served. Otherwise sets reason ("new", "expired", "corrupt") and
// returns nullopt, or the end of an uncached run when the cache turned out
// corrupt.
std::optional<CallEnd> Call::try_replay(const Digest& key,
                                        int64_t stale_ms,
                                        std::string& reason,
                                        bool* stale) {
  bool served = false;
  bool corrupt = false;
  bool expired = false;
  int64_t now = 0;
  // The blob file found damaged, to discard with the entry.
  std::optional<std::pair<Digest, storage::FileId>> damaged_file;
  Entry found;
  Answer answer;
  answer.source =
    remote_from_.empty() ? AnswerSource::local_hit : AnswerSource::remote_hit;
  auto read = store_->read([&](storage::StoreReader& r) {
    auto entry = r.entry(key, &corrupt);
    if (!entry) {
      reason = corrupt ? "corrupt" : "new";
      // Our own record, changed in the data file: the pages around it, and
      // those a write would copy, cannot be trusted either.
      if (corrupt) {
        store_->found_corrupt("a record does not decode");
      }
      return;
    }
    now = util::now_ms();
    if (entry->expires_ms <= now &&
        (stale_ms == kFreshOnly || now - entry->expires_ms >= stale_ms)) {
      reason = "expired";
      return;
    }
    expired = entry->expires_ms <= now;
    // Every output is verified: bytes that do not hash to their CID are
    // never served.
    auto out = take_output(r,
                           entry->stdout_digest,
                           entry->stdout_size,
                           store_->tmp_dir(),
                           answer.out);
    TakenOutput err;
    if (out.copied == Copied::verified) {
      err = take_output(r,
                        entry->stderr_digest,
                        entry->stderr_size,
                        store_->tmp_dir(),
                        answer.err);
    }
    const bool out_bad = out.copied == Copied::bad;
    if (out.copied == Copied::unwritable || err.copied == Copied::unwritable) {
      // Nothing wrong with the store: the hit just cannot be served.
      reason = "unwritable";
      return;
    }
    if (out_bad || err.copied == Copied::bad) {
      corrupt = true;
      reason = "corrupt";
      // Bytes of the data file itself: the file is damaged. (A blob file of
      // its own, or one that does not decrypt, is that entry's problem.)
      if ((out_bad ? out : err).in_data_file) {
        store_->found_corrupt("an output does not match its CID");
      }
      const auto& digest =
        out_bad ? entry->stdout_digest : entry->stderr_digest;
      if (auto file = r.blob_file(digest)) {
        damaged_file.emplace(digest, *file);
      }
      return;
    }
    found = std::move(*entry);
    served = true;
  });
  if (!read) {
    if (store_->corrupt()) {
      // Nothing was written out yet (outputs are copied out and verified
      // before a byte is replayed), so the tool can still answer as if we
      // were not here.
      warn(read.error() + "; running without the cache");
      return run_unrecorded(stdin_ ? &stdin_->data : nullptr);
    }
    warn(read.error());
    reason = "unreadable";
    return std::nullopt;
  }
  if (corrupt) {
    stats_.add(Statistic::errors, policy_.tool, operation());
    // Drop it so the next call stores a good one, and a damaged blob file
    // with it: other entries may share it, and the next store of those
    // bytes writes it again.
    (void)store_->write([&](auto& w) {
      w.remove_entry(key);
      if (damaged_file) {
        w.discard_blob_file(damaged_file->first, damaged_file->second);
      }
    });
  }
  if (!served) {
    return std::nullopt;
  }
  if (expired && stale) {
    *stale = true;
  }
  explain(fmt::format(
    "HIT {}{} rule={}/{}{} age={} {}",
    key_cid_,
    remote_from_.empty() ? "" : " from=" + remote_from_,
    policy_.tool,
    operation(),
    program_note(),
    util::format_duration(util::Millis(now - found.created_ms)),
    found.expires_ms > now
      ? "expires_in=" +
          util::format_duration(util::Millis(found.expires_ms - now))
      : "expired=" +
          util::format_duration(util::Millis(now - found.expires_ms)) +
          (options_.offline ? " (--offline)" : " (stale, revalidating)")));
  std::fflush(stderr);
  answer.wait_status = W_EXITCODE(found.exit_code & 0xff, 0);
  answer.segments = std::move(found.segments);
  write_segments(answer);
  stats_.add(Statistic::hits, policy_.tool, operation());
  if (expired) {
    stats_.add(Statistic::stale_hits, policy_.tool, operation());
  }
  if (waited_) {
    stats_.add(Statistic::waited, policy_.tool, operation());
  }
  stats_.add(
    Statistic::time_saved_ms, policy_.tool, operation(), found.duration_ms);
  count_tokens_saved(found);
  finish_hit(key);
  return CallEnd::code(found.exit_code);
}

// An LLM answer served from the cache saved the tokens it cost; priced from
// the config's `price.MODEL` table, else at the cost the tool reported.
void Call::count_tokens_saved(const Entry& entry) {
  if (entry.usage.empty() && entry.reported_cost_micro_usd < 0) {
    return;
  }
  uint64_t input = 0;
  uint64_t output = 0;
  double priced = 0;
  bool all_priced = !entry.usage.empty();
  for (const auto& model : entry.usage) {
    input += model.input;
    output += model.output;
    if (auto price = config_.price(model.model)) {
      priced += static_cast<double>(model.input) * price->input +
                static_cast<double>(model.output) * price->output;
    } else {
      all_priced = false;
    }
  }
  auto op = operation();
  stats_.add(Statistic::input_tokens_saved, policy_.tool, op, int64_t(input));
  stats_.add(Statistic::output_tokens_saved, policy_.tool, op, int64_t(output));
  int64_t cost = all_priced || entry.reported_cost_micro_usd < 0
                   ? std::llround(priced)
                   : entry.reported_cost_micro_usd;
  stats_.add(Statistic::cost_saved_micro_usd, policy_.tool, op, cost);
}

// What a hit writes: its entry's hit count and last use, and the
// statistics, go to the hit log (storage/hit_log.hpp) that the next write
// transaction folds in, so that a hit opens no write transaction; into a
// transaction of its own when the log cannot take them.
void Call::finish_hit(const Digest& key) {
  if (!store_ || store_->read_only()) {
    return;
  }
  int64_t now = util::now_ms();
  std::vector<std::pair<std::string, int64_t>> counters;
  if (config_.stats_enabled()) {
    counters.assign(stats_.deltas().begin(), stats_.deltas().end());
  }
  if (store_->log_hit(key, now, std::move(counters))) {
    stats_ = StatsDelta();
    return;
  }
  finish_writes([&](storage::StoreWriter& w) { w.touch(key, now); });
}

// One write transaction at the end of a call: the call's own writes and the
// statistics collected on the way.
void Call::finish_writes(
  const std::function<void(storage::StoreWriter&)>& more) {
  if (!store_ || store_->read_only()) {
    return;
  }
  bool keep_stats = config_.stats_enabled();
  auto written = store_->write([&](storage::StoreWriter& w) {
    if (more) {
      more(w);
    }
    if (keep_stats) {
      stats_.write_to(w);
    }
  });
  if (!written) {
    warn(written.error());
  }
}

CallEnd Call::miss(const Digest& key, std::string_view reason) {
  explain(fmt::format("MISS {} rule={}/{}{} reason={}{}",
                      key_cid_,
                      policy_.tool,
                      operation(),
                      program_note(),
                      reason,
                      sdk_ ? " path=" + path_name() : ""));
  std::fflush(stderr);
  // What killed calls left in tmp/ goes on a miss (never on a hit): one
  // look at a directory that is normally empty.
  if (!store_->read_only()) {
    util::sweep_unheld(store_->tmp_dir(), util::Sweep::remove);
  }

  return run_and_store(key, Forward::yes);
}

CallEnd Call::run_and_store(const Digest& key, Forward forward) {
  if (use_sdk_) {
    return sdk_and_store(key, forward);
  }
  bool live = forward == Forward::yes;
  exec::RunOptions run;
  run.path = path_;
  run.argv = child_argv();
  run.forward = live;
  run.stdout_pty = live && terminal_.stdout_tty;
  run.stderr_pty = live && terminal_.stdout_tty && terminal_.stderr_tty;
  run.merged = terminal_.merged;
  run.stdin_data = stdin_ ? &stdin_->data : nullptr;
  run.spill_dir = store_->tmp_dir();
  run.extra_env = child_env();
  int64_t created = util::now_ms();
  auto result = exec::run(run);
  wipe(run.extra_env);
  if (fall_back_to_http(result)) {
    // The CLI printed nothing; the HTTP path answers, under its own key
    // unless both paths give the same bytes.
    result.recording.remove_files();
    explain(fmt::format(
      "FALLBACK {}: {}; making the call over HTTP", policy_.tool, fallback_));
    request_.version = key_version();
    Digest sdk_key = sha256(request_document(request_));
    // The HTTP path's answer of an earlier crash may be there already.
    std::string ignored;
    if (sdk_key != key && live) {
      key_cid_ = cid_string(sdk_key);
      if (auto end = try_replay(sdk_key, kFreshOnly, ignored)) {
        return *end;
      }
    }
    return sdk_and_store(sdk_key, forward);
  }
  if (!result.started) {
    if (!live) {
      return CallEnd::status(W_EXITCODE(127, 0));
    }
    return CallEnd::code(exec::report_spawn_failure(name_, result.spawn_errno));
  }
  Answer answer = run_answer(result, live);
  answer.made_ms = created;
  AnswerFacts facts;
  facts.failed = !result.exited_ok() || says_failed(answer);
  facts.exited = WIFEXITED(answer.wait_status);
  facts.complete = result.recording.complete;
  // A failure that says "not found" the way the rule's negative_match
  // describes is kept for the rule's negative_ttl (the regex is compiled
  // here, on the store path, never on a hit).
  facts.not_found =
    facts.failed && facts.exited && facts.complete && not_found(answer);
  answer.keep = decide_cacheable(facts, keep_rules());
  if (answer.keep.negative) {
    explain(fmt::format(
      "{}: exit {}, stored as not found for {} (rule {}/{} negative_ttl)",
      policy_.tool,
      answer.exit_code(),
      util::format_duration(*rule_->negative_ttl),
      policy_.tool,
      rule_->id));
  }
  // The result lives on until the answer is kept: the store takes its spill
  // files.
  return keep_answer(key, answer, facts.failed);
}

bool Call::says_failed(const Answer& answer) const {
  const auto& pattern = policy_.failure_match;
  if (answer.wait_status != 0 || pattern.empty() || pattern.error()) {
    return false;
  }
  // Spilled (large) output is an answer, not an error message.
  const auto& out = answer.out;
  const auto& err = answer.err;
  return (out.spilled.empty() && pattern.search(out.memory)) ||
         (err.spilled.empty() && pattern.search(err.memory));
}

bool Call::not_found(const Answer& answer) const {
  if (!rule_ || !rule_->negative_ttl || rule_->negative_match.empty() ||
      rule_->negative_match.error()) {
    return false;
  }
  // Spilled (large) output is not a not-found message.
  const auto& out = answer.out;
  const auto& err = answer.err;
  return (out.spilled.empty() && rule_->negative_match.search(out.memory)) ||
         (err.spilled.empty() && rule_->negative_match.search(err.memory));
}

CallEnd Call::keep_answer(const Digest& key,
                          const Answer& answer,
                          bool failed) {
  if (!answer.keep.store) {
    if (failed) {
      stats_.add(Statistic::uncached_failures, policy_.tool, operation());
    }
    finish_writes(nullptr);
    return CallEnd::status(answer.wait_status);
  }
  Entry entry;
  entry.exit_code = answer.exit_code();
  entry.created_ms = answer.made_ms;
  entry.expires_ms = answer.made_ms + answer.keep.lifetime.count();
  entry.duration_ms = static_cast<uint32_t>(answer.took_ms);
  entry.last_used_ms = answer.made_ms;
  entry.stdout_digest = answer.out.digest;
  entry.stdout_size = answer.out.size;
  entry.stderr_digest = answer.err.digest;
  entry.stderr_size = answer.err.size;
  entry.tool = policy_.tool;
  entry.operation = operation();
  // Tokens someone put in argv are redacted before they reach the disk (and
  // the remotes, which get this entry).
  entry.display = displayed_argv();
  entry.segments = answer.segments;
  storage::BlobSource blobs[2];
  for (int i = 0; i < 2; ++i) {
    const auto& output = i == 0 ? answer.out : answer.err;
    blobs[i].digest = output.digest;
    blobs[i].size = output.size;
    blobs[i].memory = output.memory;
    blobs[i].file = output.spilled;
  }
  // A failure's stdout, or a spilled (large) one, is not read for token
  // usage.
  store(key,
        entry,
        blobs,
        failed || !answer.out.spilled.empty() ? std::string_view()
                                              : answer.out.memory);
  return CallEnd::status(answer.wait_status);
}

// Stores an answer, however it was made (the CLI or the HTTP path): its
// tags, the token usage its stdout reports (read once, here, so that a hit
// only adds numbers), the entry and its blobs with eviction and statistics
// in one transaction, then the writable remotes.
void Call::store(const Digest& key,
                 Entry& entry,
                 std::span<const storage::BlobSource> blobs,
                 std::string_view stdout_text) {
  if (policy_.usage && !stdout_text.empty()) {
    std::string model;
    for (const auto& flag : policy_.usage_model_flags) {
      if (auto value = flag_value(args_, flag); value && !value->empty()) {
        model = *value;
        break;
      }
    }
    if (auto usage = parse_usage(stdout_text, model)) {
      entry.usage = std::move(usage->models);
      entry.reported_cost_micro_usd = usage->reported_cost_micro_usd;
    }
  }
  if (rule_ && !rule_->tags.empty()) {
    auto scopes = call_scopes(policy_, args_);
    if (scopes.empty()) {
      scopes.push_back("*");
    }
    for (const auto& tag : rule_->tags) {
      for (const auto& scope : scopes) {
        entry.tags.push_back(fmt::format("{}:{}:{}", policy_.tool, tag, scope));
      }
    }
  }
  stats_.add(Statistic::misses, policy_.tool, operation());
  stats_.add(Statistic::stores, policy_.tool, operation());
  uint64_t max_size = config_.max_size();
  finish_writes([&](storage::StoreWriter& w) {
    w.put_entry(key, entry, blobs);
    // Counted per tool and rule too, like every other statistic.
    StatsDelta evictions;
    w.evict_to(max_size, [&](const Entry& evicted) {
      evictions.add(Statistic::evictions, evicted.tool, evicted.operation);
    });
    evictions.write_to(w);
  });
  store_to_remotes(key, entry);
}

// Forks a detached process that runs the tool quietly and stores the fresh
// answer; this process goes on to end with the stale one. Skipped when
// another process is already fetching this key. The child leaves with
// _exit, here and nowhere else: returning would take it back into the
// parent's call (its replay, its statistics, main's exit) a second time.
void Call::revalidate_in_background(const Digest& key) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid != 0) {
    return; // The parent (or a failed fork: nothing to do).
  }
  ::setsid();
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
  }
  // An LMDB environment must not be used across fork(): open a new one and
  // leave the inherited one untouched.
  (void)store_.release();
  auto store = Store::open(config_.cache_dir(), storage::Access::read_write);
  if (!store) {
    ::_exit(0);
  }
  store_ = std::move(*store);
  store_->set_compression(config_.compression_level());
  key_lock_ =
    storage::KeyLock::acquire(store_->dir(), key, storage::KeyLock::Wait::no);
  if (!key_lock_) {
    ::_exit(0);
  }
  stats_ = StatsDelta();
  (void)run_and_store(key, Forward::no);
  // What the destructors would do, since the child does not return.
  if (injected_) {
    wipe(*injected_);
  }
  secrets_.reset();
  stdin_.reset();
  key_lock_.reset();
  store_.reset();
  ::_exit(0);
}

remote::Remotes* Call::remotes() {
  if (remotes_) {
    return remotes_->get();
  }
  remotes_.emplace();
  auto setting = config_.get("remote");
  if (setting.empty()) {
    return nullptr;
  }
  // Outputs kept encrypted locally are not sent anywhere in the clear.
  if (config_.encrypt_cache()) {
    explain("remotes not used: encrypt_cache is on");
    return nullptr;
  }
  auto opened = remote::open_remotes(setting,
                                     config_.get("remote_trusted_keys"),
                                     config_.max_answer_size(),
                                     config_.cache_dir());
  if (!opened || (*opened)->empty()) {
    return nullptr; // Config::load has warned already.
  }
  (*opened)->set_compression(config_.compression_level());
  *remotes_ = std::move(*opened);
  return remotes_->get();
}

void Call::collect_remote_news() {
  if (!remotes_ || !*remotes_) {
    return;
  }
  for (const auto& message : (*remotes_)->take_warnings()) {
    warn(message);
  }
  (*remotes_)->move_counts_to(stats_);
}

bool Call::fetch_from_remotes(const Digest& key, int64_t stale_ms) {
  auto* tiers = remotes();
  if (!tiers || store_->read_only()) {
    return false;
  }
  auto found = tiers->fetch(key, util::now_ms(), stale_ms);
  collect_remote_news();
  if (!found) {
    return false;
  }
  Entry entry = std::move(found->entry);
  entry.hits = 0;
  entry.last_used_ms = util::now_ms();
  storage::BlobSource blobs[2];
  blobs[0].digest = entry.stdout_digest;
  blobs[0].size = entry.stdout_size;
  blobs[0].memory = found->out;
  blobs[1].digest = entry.stderr_digest;
  blobs[1].size = entry.stderr_size;
  blobs[1].memory = found->err;
  uint64_t max_size = config_.max_size();
  auto written = store_->write([&](storage::StoreWriter& w) {
    w.put_entry(key, entry, blobs);
    StatsDelta evictions;
    w.evict_to(max_size, [&](const Entry& evicted) {
      evictions.add(Statistic::evictions, evicted.tool, evicted.operation);
    });
    evictions.write_to(w);
  });
  if (!written) {
    warn(written.error());
    return false;
  }
  remote_from_ = found->from;
  return true;
}

void Call::store_to_remotes(const Digest& key, const Entry& entry) {
  auto* tiers = remotes();
  if (!tiers || !tiers->any_writable()) {
    return;
  }
  // The outputs as the local store now holds them (a large one was moved
  // into blobs/ and is read back mapped, not copied).
  (void)store_->read([&](storage::StoreReader& r) {
    auto out = r.blob(entry.stdout_digest, entry.stdout_size);
    auto err = r.blob(entry.stderr_digest, entry.stderr_size);
    if (out && err) {
      tiers->store(key, entry, *out, *err);
    }
  });
  StatsDelta before = std::exchange(stats_, StatsDelta());
  collect_remote_news();
  if (!stats_.empty()) {
    finish_writes(nullptr);
  }
  stats_ = std::move(before);
}

CallEnd Call::run() {
  // 0. A static front explains nothing: its twin explains the whole call.
  if (options_.explain) {
    if (auto end = hand_over()) {
      return *end;
    }
  }

  // 1. Disabled, or --no-cache: the tool runs as if ipfsacc were not there.
  if (config_.disabled() || options_.no_cache) {
    explain(fmt::format("BYPASS {} ({})",
                        policy_.tool,
                        options_.no_cache ? "--no-cache" : "IPFSACC_DISABLE"));
    return exec_directly();
  }

  // 2. What is this call? Not cacheable: straight through.
  bool stdin_tty = ::isatty(STDIN_FILENO) == 1;
  Match match = match_call(policy_, args_, stdin_tty);
  if (options_.offline && match.kind != Match::Kind::cache) {
    // --offline answers from the cache or not at all: never runs a tool.
    fmt::print(stderr,
               "ipfsacc: --offline: {} is not a cacheable call ({})\n",
               util::join_args(child_argv()),
               match.why);
    return CallEnd::code(kOfflineMissExit);
  }
  if (match.kind == Match::Kind::invalidate) {
    return run_invalidating(match);
  }
  if (match.kind == Match::Kind::pass) {
    return pass_through(match.why);
  }
  // A standard descriptor the caller closed (`>&-`): the tool must find it
  // closed, as it would without ipfsacc. What it does then is no answer to
  // keep, and a stored answer is not what it would do.
  if (const auto& closed = exec::closed_stdio(); closed.any()) {
    if (options_.offline) {
      fmt::print(stderr,
                 "ipfsacc: --offline: {} is closed, so {} is not answered "
                 "from the cache\n",
                 closed.names(),
                 util::join_args(child_argv()));
      return CallEnd::code(kOfflineMissExit);
    }
    return pass_through(fmt::format("{} closed", closed.names()));
  }
  rule_ = match.rule;

  // Still step 2: an agent reads the working directory; outside a repository
  // there is no cheap way to know its files changed, so such a call is not
  // cached.
  if (std::find(rule_->context.begin(), rule_->context.end(), "git_state") !=
        rule_->context.end() &&
      context_applies(*rule_, args_) && !find_repo_root(current_dir())) {
    return pass_through(
      fmt::format("{}/{} reads the working directory, which is "
                  "not in a git repository",
                  policy_.tool,
                  rule_->id));
  }

  // Still step 2, `run`: the same command line runs another program in another
  // directory, on another PATH, or after an edit; which one it runs is part
  // of the request. A program gone since it was found runs (and fails) as
  // it would without the cache.
  if (policy_.tool == "run") {
    program_ = identify_program(path_);
    if (!program_) {
      return pass_through(fmt::format("{} cannot be found", name_));
    }
  }

  // 3. Open the cache. Broken: one warning and the tool runs uncached.
  auto opened = Store::open(config_.cache_dir(), storage::Access::read_write);
  if (!opened) {
    if (auto end = hand_over()) {
      return *end;
    }
    warn(opened.error() + "; running without the cache");
    return exec_directly();
  }
  store_ = std::move(*opened);
  store_->set_compression(config_.compression_level());
  // Encrypted outputs (encrypt_cache): the key comes from the secrets store.
  // Without it nothing may be stored in the clear: the tool runs uncached.
  if (config_.encrypt_cache()) {
    auto key = secrets::cache_key(secrets::Location::from_environment(),
                                  secrets::passphrase_from_env());
    if (!key) {
      if (auto end = hand_over()) {
        return *end;
      }
      warn(key.error() + "; running without the cache (encrypt_cache)");
      return exec_directly();
    }
    store_->set_blob_key(std::move(*key));
  }

  // 4. Piped stdin that the tool reads is part of the request.
  if (rule_->stdin_key && !stdin_tty) {
    stdin_ = std::make_unique<Stdin>();
    read_stdin(*stdin_, store_->tmp_dir());
    if (!stdin_->complete) {
      warn("could not read stdin completely; running without the cache");
      return run_unrecorded(&stdin_->data);
    }
    // A spilled (very large) stdin is not searched: denied to be safe.
    if (!rule_->deny_regex.empty() &&
        (!stdin_->data.file.empty() ||
         rule_->deny_regex.search(stdin_->data.memory))) {
      explain(fmt::format(
        "BYPASS {}/{} (stdin matches deny_regex)", policy_.tool, rule_->id));
      return run_unrecorded(&stdin_->data);
    }
  }

  // 5. The request key.
  terminal_ = current_terminal();
  Request request;
  request.tool = policy_.tool;
  // hf and huggingface-cli share rules but not every command: the name
  // typed is part of the request when a tool has several.
  if (policy_.binaries.size() > 1) {
    request.binary = name_;
  }
  request.argv = policy_.tool == "run" ? child_argv() : args_;
  request.policy = &policy_;
  request.rule = rule_;
  request.terminal = terminal_;
  request.version = key_version();
  request.program = program_;
  if (stdin_) {
    request.stdin_digest = stdin_->digest;
  }
  if (auto account = config_.account(); !account.empty()) {
    request.account = "name:" + account;
  } else if (auto token = account_token(policy_, child_env())) {
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
    std::string_view key_bytes = ns ? std::string_view(*ns) : "";
    request.account =
      account_hash(*token,
                   std::span(reinterpret_cast<const uint8_t*>(key_bytes.data()),
                             key_bytes.size()));
    sodium_memzero(token->data(), token->size());
  }
  Digest key = sha256(request_document(request));
  key_cid_ = cid_string(key);
  request_ = request;

  // 6. A hit: replay and end with the recorded code.
  std::string reason = "refresh";
  if (!options_.refresh) {
    // Stale-while-revalidate: an answer expired less than this long ago is
    // served at once, and a fresh one is fetched in the background. Not for
    // terminal output, whose width a background run cannot reproduce.
    int64_t stale_ms = kFreshOnly;
    if (options_.offline) {
      stale_ms = kAnyAge;
    } else if (auto swr = config_.stale_while_revalidate();
               swr && !terminal_.stdout_tty && !terminal_.stderr_tty &&
               !front_probe_) {
      // (A static front leaves revalidating to its twin.)
      stale_ms = swr->count();
    }
    bool stale = false;
    if (auto end = try_replay(key, stale_ms, reason, &stale)) {
      if (stale && !options_.offline) {
        revalidate_in_background(key);
      }
      return *end;
    }
    // A static front goes no further than its local cache.
    if (auto end = hand_over()) {
      return *end;
    }
    // 6b. The shared remote tiers, in order: they are part of the cache,
    // so --offline and stale-while-revalidate take what they hold on the
    // same terms as the local one.
    if (fetch_from_remotes(key, stale_ms)) {
      std::string ignored;
      if (auto end = try_replay(key, stale_ms, ignored, &stale)) {
        if (stale && !options_.offline) {
          revalidate_in_background(key);
        }
        return *end;
      }
    }
  }
  // (--refresh) A static front runs nothing that may need libcurl.
  if (auto end = hand_over()) {
    return *end;
  }
  // 7. --offline and nothing cached: EX_TEMPFAIL, the tool never runs.
  if (options_.offline) {
    stats_.add(Statistic::offline_misses, policy_.tool, operation());
    finish_writes(nullptr);
    fmt::print(stderr,
               "ipfsacc: --offline: nothing cached for {}\n",
               util::join_args(child_argv()));
    return CallEnd::code(kOfflineMissExit);
  }

  // 8. Single-flight: one process runs the tool, identical calls wait for
  // it and replay its answer.
  key_lock_ =
    storage::KeyLock::acquire(store_->dir(), key, storage::KeyLock::Wait::no);
  if (!key_lock_ && !store_->read_only()) {
    key_lock_ = storage::KeyLock::acquire(
      store_->dir(), key, storage::KeyLock::Wait::yes);
    std::string ignored;
    waited_ = true;
    if (auto end = try_replay(key, kFreshOnly, ignored)) {
      return *end;
    }
    waited_ = false;
    // The call we waited for left no answer (it failed, and failures are
    // not stored): run now, as its caller did, instead of holding the lock
    // and making every other waiter queue behind this run in turn.
    key_lock_.reset();
  } else if (key_lock_ && !options_.refresh) {
    // Stored by another process between our lookup and the lock?
    std::string ignored;
    if (auto end = try_replay(key, kFreshOnly, ignored)) {
      return *end;
    }
  }
  return miss(key, reason);
}

} // namespace

namespace {

// IPFSACC_PATH when set and not empty.
const char* ipfsacc_path() {
  const char* path = std::getenv("IPFSACC_PATH");
  return path && *path ? path : nullptr;
}

} // namespace

std::string tool_search_path() {
  if (const char* path = ipfsacc_path()) {
    return path;
  }
  const char* path = std::getenv("PATH");
  return path ? path : "";
}

std::string find_tool(std::string_view name) {
  return util::find_executable(name, tool_search_path(), util::self_exe());
}

namespace {

// Runs the call. An exec the call asks for is main's to make once the Call
// is destroyed, except when an exec that fails may still be answered over
// HTTP: the Call then lives on in the end's exec_failed.
CallEnd run_call(std::unique_ptr<Call> call) {
  CallEnd end = call->run();
  if (end.kind == CallEnd::Kind::exec && call->has_http_path() &&
      !end.exec_failed) {
    std::shared_ptr<Call> kept(std::move(call));
    end.exec_failed = [kept](int error) {
      return kept->after_failed_exec(error);
    };
  }
  return end;
}

} // namespace

CallEnd call_tool(const std::string& name,
                  const std::expected<ToolPolicy, std::string>& found,
                  const std::vector<std::string>& args,
                  const CallOptions& options,
                  const Config& config) {
  // A static front leaves a configuration with problems to its twin, which
  // says what they are, once.
  if (!config.warnings().empty()) {
    if (auto end = twin_end(options)) {
      return *end;
    }
  }
  for (const auto& message : config.warnings()) {
    fmt::print(stderr, "ipfsacc: warning: {}\n", message);
  }
  std::string path = find_tool(name);
  // A missing CLI with an HTTP path: the call is made over HTTP.
  bool has_sdk = found && sdk::find_tool(found->tool) != nullptr;
  if (path.empty() && options.as_shim && !has_sdk) {
    report_missing_behind_shim(name);
    return CallEnd::code(127);
  }
  if (!found) {
    fmt::print(
      stderr, "ipfsacc: warning: {}; {} runs uncached\n", found.error(), name);
    if (path.empty()) {
      return CallEnd::code(exec::report_spawn_failure(name, ENOENT));
    }
    std::vector<std::string> argv{ name };
    argv.insert(argv.end(), args.begin(), args.end());
    return CallEnd::exec(path, std::move(argv), {});
  }
  if (path.empty() && !has_sdk) {
    return CallEnd::code(exec::report_spawn_failure(name, ENOENT));
  }
  return run_call(
    std::make_unique<Call>(*found, name, path, args, options, config));
}

CallEnd call_command(const std::vector<std::string>& command,
                     const CallOptions& options,
                     const Config& config) {
  if (!config.warnings().empty()) {
    if (auto end = twin_end(options)) {
      return *end;
    }
  }
  for (const auto& message : config.warnings()) {
    fmt::print(stderr, "ipfsacc: warning: {}\n", message);
  }
  std::string search_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  std::string path = util::find_executable(command[0], search_path);
  if (path.empty()) {
    return CallEnd::code(exec::report_spawn_failure(command[0], ENOENT));
  }
  ToolPolicy policy;
  policy.tool = "run";
  policy.binaries = { command[0] };
  Rule rule;
  rule.id = fs::path(command[0]).filename().string();
  rule.stdin_key = !options.no_stdin;
  rule.key_env = options.key_env;
  if (options.key_cwd) {
    rule.context = { "cwd" };
  }
  rule.ttl = config.default_ttl();
  rule.cache_failures = options.cache_failures;
  policy.rules.push_back(rule);
  std::vector<std::string> args(command.begin() + 1, command.end());
  // `run` has no HTTP path, so the Call, which borrows policy, never
  // outlives this function (see run_call).
  return run_call(
    std::make_unique<Call>(policy, command[0], path, args, options, config));
}

} // namespace ipfsacc
