#pragma once

#include <cstddef>
#include <cstdint>

namespace ipfsacc::util {

// True when the CPU has the x86 SHA extensions (SHA-NI).
bool sha256_hw_available();

// Compresses blocks 64-byte blocks into state with SHA-NI. Only call when
// sha256_hw_available(). Verified against libsodium in the unit tests.
void sha256_hw_blocks(uint32_t state[8], const uint8_t* data, size_t blocks);

} // namespace ipfsacc::util
