#include "sdk/gh/client.hpp"
#include "sdk/gh/commands.hpp"

namespace ipfsacc::sdk::gh {

std::expected<ListPlan, Unsupported> plan_list(std::string command,
                                               Args args,
                                               std::span<const Flag> flags,
                                               std::span<const Field> table,
                                               long long default_limit) {
  auto parsed = parse_flags(args, flags);
  if (!parsed) {
    return std::unexpected(unsupported(command + " " + parsed.error()));
  }
  ListPlan plan;
  plan.command = command;
  plan.flags = std::move(*parsed);
  for (auto name : { "jq", "template", "web" }) {
    if (plan.flags.has(name)) {
      return std::unexpected(unsupported(command + " --" + name));
    }
  }
  auto list = plan.flags.last("json");
  if (!list) {
    return std::unexpected(unsupported(command + " without --json"));
  }
  auto fields = resolve_fields(*list, table, command);
  if (!fields) {
    return std::unexpected(fields.error());
  }
  plan.fields = std::move(*fields);
  plan.limit = default_limit;
  if (auto l = plan.flags.last("limit")) {
    if (!parse_int(*l, plan.limit) || plan.limit <= 0) {
      return std::unexpected(unsupported(command + " --limit " + *l));
    }
  }
  return plan;
}

} // namespace ipfsacc::sdk::gh
