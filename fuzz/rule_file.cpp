// Fuzz target: a rule file (wrappers/*.json, or the user's own in the
// config directory's wrappers/), read as a call reads it (core/policy_parse),
// then used as a call uses it: match_call over a few command lines, which
// compiles and runs the file's regexes.
#include "core/policy.hpp"
#include "fuzz.hpp"

#include <string>
#include <vector>

using namespace ipfsacc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto policy = parse_policy(fuzz::text(data, size), "fuzz.json");
  if (!policy) {
    return 0;
  }
  static const std::vector<std::vector<std::string>> kCalls = {
    {},
    { "pr", "list", "-R", "o/r", "--json", "number,title" },
    { "api", "--paginate", "repos/o/r/issues?state=all" },
    { "-p", "hello", "--model", "m", "--output-format=json" },
    { "models", "info", "org/m", "--revision", "v1" },
    { "search", "offers", "gpu_name=RTX_4090", "--raw" },
  };
  for (const auto& args : kCalls) {
    auto match = match_call(*policy, args, args.empty());
    if (match.rule) {
      // A rule that matched is read as a call's key and storing read it.
      match.rule->negative_match.search("HTTP 404: Not Found");
      match.rule->context_when.capture(args.empty() ? "" : args.front());
    }
  }
  policy->failure_match.search("failed with error 401");
  return 0;
}
