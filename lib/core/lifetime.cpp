#include "core/lifetime.hpp"

#include <algorithm>

namespace ipfsacc {

util::Millis answer_ttl(const Config& config,
                        std::string_view tool,
                        std::string_view operation,
                        std::optional<util::Millis> rule_ttl) {
  if (auto forced = config.ttl_override()) {
    return *forced;
  }
  if (auto configured = config.tool_ttl(tool, operation)) {
    return *configured;
  }
  if (rule_ttl) {
    return *rule_ttl;
  }
  return config.default_ttl();
}

util::Millis RuleLifetimes::of(std::string_view tool,
                               std::string_view operation) {
  auto it = policies_.find(tool);
  if (it == policies_.end()) {
    it = policies_.emplace(std::string(tool), find_tool_policy(tool)).first;
  }
  std::optional<util::Millis> rule_ttl;
  if (const auto& policy = it->second) {
    auto rule = std::find_if(policy->rules.begin(),
                             policy->rules.end(),
                             [&](const Rule& r) { return r.id == operation; });
    if (rule != policy->rules.end()) {
      rule_ttl = rule->ttl;
    }
  }
  return answer_ttl(config_, tool, operation, rule_ttl);
}

} // namespace ipfsacc
