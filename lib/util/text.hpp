#pragma once

#include <cstddef>
#include <cstdint>
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

// Returns s quoted for a POSIX shell when it contains spaces or shell
// metacharacters, with control characters escaped: ASCII controls, C1
// controls (U+0080..U+009F) and, in text that is not UTF-8, every byte from
// 0x80. Safe to show on one line of a terminal.
std::string shell_quote(std::string_view s);

// Joins args with spaces, each shell-quoted.
std::string join_args(std::span<const std::string> args);

// Returns true when s is well-formed UTF-8 (RFC 3629): no overlong form,
// no UTF-16 surrogate, nothing past U+10FFFF, nothing cut short. This is
// exactly what a JSON library accepts as a string.
bool valid_utf8(std::string_view s);

// The length of the UTF-8 sequence at s[i] (1 for ASCII) with its code
// point in cp; 0 when it is not valid UTF-8 (overlong, a surrogate, past
// U+10FFFF, or cut short).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp);

bool starts_with(std::string_view s, std::string_view prefix);

std::string lower(std::string_view s);

// s without the white space (isspace) at either end.
std::string_view trim(std::string_view s);

// The non-empty pieces of text between any of the separator characters
// (a list setting: "a b", "a,b", "a, b").
std::vector<std::string_view> split_list(std::string_view text,
                                         std::string_view separators);

} // namespace ipfsacc::util
