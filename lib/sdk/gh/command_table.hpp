#pragma once

#include "sdk/sdk.hpp"

#include <array>
#include <span>
#include <string>
#include <string_view>

// The gh commands of the HTTP path: one row each.
namespace ipfsacc::sdk {

struct GhCommand {
  // The command's words ("repo", "list"); unused ones are empty.
  std::array<std::string_view, 2> words;
  // Makes the call; args are those after the command's words.
  Answer (*run)(const Invocation& call, std::span<const std::string> args);
  // Whether this call's output is byte-identical to gh 2.23's (see
  // Tool::identical).
  bool (*identical)(const Invocation& call, std::span<const std::string> args);

  // The words joined by a space ("repo list").
  std::string name() const;
  // How many words the command has.
  size_t size() const;
};

// Every mapped command, in the order gh_run tries them.
std::span<const GhCommand> gh_commands();

// The command args start with; nullptr when none does.
const GhCommand* find_gh_command(std::span<const std::string> args);

} // namespace ipfsacc::sdk
