#pragma once
// How long an answer is kept: decided here both for a call that stores its
// own answer and for an import that takes in an entry made elsewhere, so an
// imported entry never outlives what this machine would have given it.

#include "core/config.hpp"
#include "core/policy.hpp"
#include "util/duration.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ipfsacc {

// The lifetime of an answer of tool's rule operation ("" when no rule
// matched) stored now, rule_ttl being that rule's own ttl: the config's
// `ttl` (IPFSACC_TTL) when set, else `ttl.TOOL/RULE`, else `ttl.TOOL`, else
// the rule's ttl, else default_ttl. A call's --ttl comes before all of
// them.
util::Millis answer_ttl(const Config& config,
                        std::string_view tool,
                        std::string_view operation,
                        std::optional<util::Millis> rule_ttl);

// The lifetimes the rule files and config give now, for entries made
// elsewhere (import). Each tool's rule file is read once.
class RuleLifetimes {
public:
  explicit RuleLifetimes(const Config& config)
    : config_(config) {}

  // The lifetime an entry of tool and operation (its rule id) would get if
  // its call stored it now: answer_ttl with the rule of that id in the
  // tool's rule file; a tool or rule that no longer exists has none.
  util::Millis of(std::string_view tool, std::string_view operation);

private:
  const Config& config_;
  std::map<std::string, std::optional<ToolPolicy>, std::less<>> policies_;
};

} // namespace ipfsacc
