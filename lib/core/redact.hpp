#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc {

// What stands in for a secret in anything ipfsacc shows or exports.
constexpr std::string_view kRedacted = "***";

// Returns args with the values that look like secrets replaced by kRedacted:
// the value of a flag named like a credential (`--token X`,
// `--api-key=X`), a password glued to `-p` (`-pPASSWORD`), HTTP credential
// headers (`Authorization: …`) and a lone `Bearer X` or `Basic X`, the
// password of a URL (`https://user:pw@host`), query parameters named like
// credentials (`?access_token=…`, `&key=…`), `NAME=value` where NAME names a
// secret (`GH_TOKEN=…`), tokens in the formats of the services ipfsacc wraps
// and a few common others (`ghp_…`, `github_pat_…`, `hf_…`, `sk-…`, `gsk_…`,
// Slack's `xoxb-…`, …), JSON Web Tokens (`eyJ….eyJ….…`), and every
// occurrence of one of secrets (the values of the secrets store: shorter
// than 8 bytes, only where one is a whole argument). Only what is shown or
// exported is redacted: keys are made of the real arguments.
std::vector<std::string> redact_args(
  std::span<const std::string> args,
  std::span<const std::string_view> secrets = {});

// Splits a command line written by util::join_args back into its arguments
// (the inverse of its shell quoting).
std::vector<std::string> split_display(std::string_view display);

// The display form of a stored entry's argv with its secrets redacted (as
// redact_args does, secrets being the store's values).
std::string redact_display(std::string_view display,
                           std::span<const std::string_view> secrets = {});

} // namespace ipfsacc
