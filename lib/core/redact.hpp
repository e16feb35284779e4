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
// `--api-key=X`), HTTP credential headers (`Authorization: …`), the password
// of a URL (`https://user:pw@host`), `NAME=value` where NAME names a secret
// (`GH_TOKEN=…`), and tokens in the formats of the services ipfsacc wraps
// (`ghp_…`, `github_pat_…`, `hf_…`, `sk-…`, `gsk_…`, …).
std::vector<std::string> redact_args(std::span<const std::string> args);

// Splits a command line written by util::join_args back into its arguments
// (the inverse of its shell quoting).
std::vector<std::string> split_display(std::string_view display);

// The display form of a stored entry's argv with its secrets redacted.
std::string redact_display(std::string_view display);

} // namespace ipfsacc
