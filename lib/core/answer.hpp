#pragma once

// What a request produced, whichever way it was answered (a hit, a run of
// the CLI, the HTTP path, the upstream API behind `serve`), and the one rule
// that says whether and for how long it is kept.

#include "storage/entry.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace ipfsacc {

// Where an answer came from.
enum class AnswerSource { local_hit, remote_hit, run, http, bypass, upstream };

// What is known of an answer when it is about to be stored.
struct AnswerFacts {
  bool failed = false;    // a non-zero exit, a signal, or failure_match
  bool exited = true;     // ended with an exit status (not a signal)
  bool complete = true;   // every byte of its output was recorded
  bool not_found = false; // an HTTP 404, or the rule's negative_match
  bool refused = false;   // the HTTP path marked it not to be replayed
  std::optional<util::Millis> own_ttl; // a lifetime the answer carries
};

// What the rule and the call's options say about keeping answers.
struct KeepRules {
  util::Millis ttl{ 0 };
  bool ttl_forced = false; // --ttl or IPFSACC_TTL: the answer's own is ignored
  bool cache_failures = false; // --cache-failures or the rule's
  std::optional<util::Millis> negative_ttl;
  bool read_only = false; // the cache cannot be written
};

struct Keep {
  bool store = false;
  bool negative = false; // kept as not found, for the negative_ttl at most
  util::Millis lifetime{ 0 };
};

// Whether and how long an answer is kept, for every path. A not-found answer
// is kept only for the rule's negative_ttl (and never without one), with or
// without --cache-failures: a missing thing may appear at any moment. Other
// failures are kept only with --cache-failures, or when the answer carries
// a lifetime of its own, and only when they ended with an exit status.
inline Keep decide_cacheable(const AnswerFacts& facts, const KeepRules& rules) {
  Keep keep;
  keep.lifetime =
    facts.own_ttl && !rules.ttl_forced ? *facts.own_ttl : rules.ttl;
  if (rules.read_only || !facts.complete) {
    return keep;
  }
  if (facts.not_found) {
    if (rules.negative_ttl && facts.exited) {
      keep.store = true;
      keep.negative = true;
      keep.lifetime = std::min(keep.lifetime, *rules.negative_ttl);
    }
    return keep;
  }
  if (facts.refused) {
    return keep;
  }
  keep.store =
    !facts.failed || (facts.exited && (rules.cache_failures || facts.own_ttl));
  return keep;
}

// One stream of an answer's output, stdout or stderr, with the CID of its
// bytes.
struct Output {
  Digest digest{};
  uint64_t size = 0;
  std::string memory; // the bytes, unless file holds them
  // A hit's bytes too large for memory: a private, unlinked copy, which
  // nobody else can cut or change between its check and its write.
  util::Fd file;
  // The run's spill file by name, which the store takes over when the answer
  // is kept. Borrowed: the run's result owns the file, and removes it unless
  // the store took it.
  std::filesystem::path spilled;
};

// What a request produced, from whichever producer: a hit copies it out of
// the store (so nothing is written while a store or a transaction is open),
// a run of the CLI records it while the caller watches, the HTTP path makes
// it, the proxy (`serve`) records an upstream's answer while its client
// reads it (the body as stdout; the status and headers as stderr; the
// pieces the body came in as segments). The call writes it, keeps it and
// ends with it.
struct Answer {
  AnswerSource source = AnswerSource::run;
  int wait_status = 0; // as waitpid says; an exit code is W_EXITCODE(code, 0)
  int http_status = 0; // the proxy's: the upstream's status code
  Output out;
  Output err;
  std::vector<storage::Segment> segments; // the order they were written in
  // Written to the caller as it came (a run's output), not to be written
  // again.
  bool delivered = false;
  int64_t made_ms = 0; // when it was made (Unix time)
  int64_t took_ms = 0; // how long making it took
  Keep keep;

  int exit_code() const {
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 0;
  }
};

} // namespace ipfsacc
