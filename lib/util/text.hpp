#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipfsacc::util {

// Returns the Levenshtein distance between a and b.
size_t edit_distance(std::string_view a, std::string_view b);

// Returns the candidate closest to word, or "" when none is close enough to
// be worth suggesting ("did you mean …?").
std::string closest(std::string_view word,
                    std::span<const std::string_view> candidates);

// Returns s with every byte that is not printable ASCII escaped, and quoted
// when it contains spaces or shell metacharacters: safe to show on one line.
std::string shell_quote(std::string_view s);

// Joins args with spaces, each shell-quoted.
std::string join_args(std::span<const std::string> args);

// Returns true when s is valid UTF-8.
bool valid_utf8(std::string_view s);

bool starts_with(std::string_view s, std::string_view prefix);

std::string lower(std::string_view s);

} // namespace ipfsacc::util
