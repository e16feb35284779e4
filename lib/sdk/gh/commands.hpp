#pragma once

#include "sdk/gh/fields.hpp"
#include "sdk/gh/flags.hpp"
#include "sdk/sdk.hpp"

#include <expected>
#include <span>
#include <string>
#include <vector>

// The gh commands the HTTP path makes, one file each (or one per family):
// run_X makes the call of `gh X ARGS` (args after the command's words);
// X_identical says whether its output is byte-identical to gh 2.23's, so
// that both share one cache entry. gh.cpp lists them in its command table.
namespace ipfsacc::sdk::gh {

using Args = std::span<const std::string>;

Answer run_api(const Invocation& call, Args args);
bool api_identical(const Invocation& call, Args args);

Answer run_repo_list(const Invocation& call, Args args);
bool repo_list_identical(const Invocation& call, Args args);
Answer run_repo_view(const Invocation& call, Args args);
bool repo_view_identical(const Invocation& call, Args args);

Answer run_pr_list(const Invocation& call, Args args);
bool pr_list_identical(const Invocation& call, Args args);
Answer run_issue_list(const Invocation& call, Args args);
bool issue_list_identical(const Invocation& call, Args args);

Answer run_run_list(const Invocation& call, Args args);
bool run_list_identical(const Invocation& call, Args args);

Answer run_release_list(const Invocation& call, Args args);
bool release_list_identical(const Invocation& call, Args args);

// A --json command's flags and fields.
struct ListPlan {
  std::string command; // "pr list"
  Parsed flags;
  std::vector<const Field*> fields;
  long long limit = 30;
};

// Parses a --json command's flags, refusing what the HTTP path does not map
// (--jq, --template, --web, no --json, an unknown field, a bad --limit).
std::expected<ListPlan, Unsupported> plan_list(std::string command,
                                               Args args,
                                               std::span<const Flag> flags,
                                               std::span<const Field> table,
                                               long long default_limit);

} // namespace ipfsacc::sdk::gh
