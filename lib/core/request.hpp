#pragma once

#include "core/cid.hpp"
#include "core/policy.hpp"
#include "core/program.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ipfsacc {

// The terminal the output goes to, which changes how tools format it, and
// whether stdout and stderr are one file (`2>&1`), which decides the order
// their bytes land in.
struct TerminalMode {
  bool stdout_tty = false;
  bool stderr_tty = false;
  int columns = 0;
  // stdout and stderr are one terminal, or (not on a terminal) the same
  // open pipe, file or socket: the tool writes both into one stream, whose
  // order two pipes or two ptys could not keep. The answer is recorded as
  // stdout alone, so it is keyed apart from a call whose streams differ.
  bool merged = false;
};

TerminalMode current_terminal();

// Everything that decides a cached answer. Secrets never enter it: the
// account is a keyed hash of the token.
struct Request {
  std::string tool;
  std::string binary;            // the name typed, when a tool has several
  std::vector<std::string> argv; // after the tool name
  std::string account;           // "h:HEX", "name:NAME" or ""
  std::optional<Digest> stdin_digest;
  TerminalMode terminal;
  std::string version;
  // `ipfsacc run`: the program the command resolved to (a built-in tool is
  // keyed by its version instead).
  std::optional<ProgramIdentity> program;
  const ToolPolicy* policy = nullptr;
  const Rule* rule = nullptr;
};

// Returns the canonical request document: a JSON object with sorted keys and
// no insignificant whitespace. Any bytes can be in it: a value that is not
// well-formed UTF-8 is written as {"hex": "…"} (a JSON object, so never the
// same as a string), and a key variable whose name is not goes under
// "env_hex" by the hex of its name. Its sha2-256 is the request key.
std::string request_document(const Request& request);

// The token the tool would use, found from the policy's account sources, or
// nullopt when there is none. injected holds the "NAME=value" entries the
// child gets on top of our environment (secrets from the store); they are
// what the tool sees, so they come before our own variables. The caller
// hashes the token and forgets it.
std::optional<std::string> account_token(
  const ToolPolicy& policy,
  std::span<const std::string> injected = {});

// "h:" + hex keyed BLAKE2b of the token under the cache's namespace key.
std::string account_hash(std::string_view token,
                         std::span<const uint8_t> namespace_key);

// Whether the rule's context (cwd, git state, remotes) applies to this call:
// not when a context_unless flag is given, and only when context_when matches.
bool context_applies(const Rule& rule, std::span<const std::string> args);

// The scopes of a call (for gh: the repositories it is about), for tags.
std::vector<std::string> call_scopes(const ToolPolicy& policy,
                                     std::span<const std::string> args);

} // namespace ipfsacc
