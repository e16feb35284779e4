// gh over HTTP: `gh api` GET/HEAD and the --json forms of the list and view
// commands, made the way gh 2.23 makes them (the same REST paths and GraphQL
// queries, byte for byte) and printed the way gh prints them when stdout is
// not a terminal (checked against the real gh in
// tests/integration/gh_http.bash).
//
// - `--json` prints one compact JSON document and a newline, encoded like
//   Go's encoding/json without HTML escaping (gh/go_json): the fields in
//   sorted order, nested objects in the order of gh's structs (gh/fields).
// - Each command has its own file under gh/ and one row in kGhCommands.
#include "sdk/gh/client.hpp"
#include "sdk/gh/command_table.hpp"
#include "sdk/gh/commands.hpp"
#include "sdk/sdk.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace ipfsacc::sdk {

namespace {

constexpr std::array kCommands{
  GhCommand{ { "api" }, gh::run_api, gh::api_identical },
  GhCommand{ { "repo", "list" }, gh::run_repo_list, gh::repo_list_identical },
  GhCommand{ { "repo", "view" }, gh::run_repo_view, gh::repo_view_identical },
  GhCommand{ { "pr", "list" }, gh::run_pr_list, gh::pr_list_identical },
  GhCommand{ { "issue", "list" },
             gh::run_issue_list,
             gh::issue_list_identical },
  GhCommand{ { "run", "list" }, gh::run_run_list, gh::run_list_identical },
  GhCommand{ { "release", "list" },
             gh::run_release_list,
             gh::release_list_identical },
};

} // namespace

std::span<const GhCommand> gh_commands() {
  return kCommands;
}

std::string GhCommand::name() const {
  std::string out;
  for (auto word : words) {
    if (word.empty()) {
      break;
    }
    out += out.empty() ? "" : " ";
    out += word;
  }
  return out;
}

size_t GhCommand::size() const {
  return static_cast<size_t>(std::count_if(
    words.begin(), words.end(), [](std::string_view w) { return !w.empty(); }));
}

const GhCommand* find_gh_command(std::span<const std::string> args) {
  for (const auto& command : kCommands) {
    const size_t n = command.size();
    if (args.size() >= n &&
        std::equal(command.words.begin(),
                   command.words.begin() + static_cast<std::ptrdiff_t>(n),
                   args.begin())) {
      return &command;
    }
  }
  return nullptr;
}

bool gh_identical(const Invocation& call) {
  std::span<const std::string> args = call.args;
  const auto* command = find_gh_command(args);
  return command && command->identical(call, args.subspan(command->size()));
}

Answer gh_run(const Invocation& call) {
  std::span<const std::string> args = call.args;
  if (const auto* command = find_gh_command(args)) {
    return command->run(call, args.subspan(command->size()));
  }
  std::string shown;
  for (size_t i = 0; i < args.size() && i < 2; ++i) {
    shown += (i ? " " : "") + args[i];
  }
  // The commands after `gh api`, as the table lists them.
  std::string mapped;
  for (const auto& command : kCommands) {
    if (command.size() > 1) {
      mapped += (mapped.empty() ? "" : ", ") + command.name();
    }
  }
  return std::unexpected(
    Unsupported{ "gh: command not found, and `gh " + shown +
                 "` has no HTTP path (mapped: gh api GET/HEAD, and --json of " +
                 mapped + "); " + std::string(gh::kInstall) });
}

} // namespace ipfsacc::sdk
