#pragma once

#include "secrets/secure_buffer.hpp"
#include "secrets/store.hpp"

#include <expected>
#include <string>
#include <string_view>

namespace ipfsacc::secrets {

// Prints prompt on the terminal (/dev/tty) and reads one line with echo off
// (termios), restoring the terminal even when a signal interrupts. Returns
// the line without its newline, in secure memory, or a message when there is
// no terminal or nothing was typed.
std::expected<SecureBuffer, std::string> prompt_hidden(std::string_view prompt);

// Reads fd to its end (a pipe) into secure memory, without one trailing
// newline ("\n" or "\r\n"). Returns a message when it holds more than limit
// bytes or cannot be read.
std::expected<SecureBuffer, std::string> read_secret(int fd, size_t limit);

// A PassphraseSource that asks on the terminal: once to unlock what, twice
// (and the two must match) to choose one.
PassphraseSource prompt_passphrase(std::string what);

} // namespace ipfsacc::secrets
