#pragma once

// What a request produced, whichever way it was answered (a hit, a run of
// the CLI, the HTTP path, the upstream API behind `serve`), and the one rule
// that says whether and for how long it is kept.

#include "storage/entry.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

#include <optional>
#include <string>
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

// An answer's output as the caller sees it: the bytes of stdout and stderr
// and the order they were written in (for `serve`: the body, the response's
// status and headers, and the pieces the body arrived in), copied out of
// wherever they were kept, so nothing is written while a store or a transaction
// is open.
struct Answer {
  AnswerSource source = AnswerSource::run;
  int exit_code = 0;
  std::string out;
  std::string err;
  // An output too large to hold in memory (a hit's) is in one of these
  // instead of out or err: a private, unlinked copy, which nobody else can
  // cut or change between its check and its write.
  util::Fd out_file;
  util::Fd err_file;
  std::vector<storage::Segment> segments;
  Keep keep;
};

} // namespace ipfsacc
