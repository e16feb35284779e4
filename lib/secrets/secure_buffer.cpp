#include "secrets/secure_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <sodium.h>

namespace ipfsacc::secrets {

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
  : data_(other.data_)
  , size_(other.size_)
  , capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.capacity_ = 0;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }
  return *this;
}

std::expected<SecureBuffer, std::string> SecureBuffer::allocate(size_t size) {
  // sodium_malloc locks the pages itself (sodium_mlock) when RLIMIT_MEMLOCK
  // allows, and asks the kernel to leave them out of core dumps.
  size_t capacity = std::max<size_t>(size, 1);
  void* p = sodium_malloc(capacity);
  if (p == nullptr) {
    return std::unexpected(
      "cannot allocate protected memory for a secret (sodium_malloc failed)");
  }
  SecureBuffer buffer;
  buffer.data_ = static_cast<uint8_t*>(p);
  buffer.size_ = size;
  buffer.capacity_ = capacity;
  sodium_memzero(buffer.data_, capacity);
  return buffer;
}

std::expected<SecureBuffer, std::string> SecureBuffer::copy_of(
  std::string_view bytes) {
  auto buffer = allocate(bytes.size());
  if (buffer && !bytes.empty()) {
    std::memcpy(buffer->data(), bytes.data(), bytes.size());
  }
  return buffer;
}

void SecureBuffer::truncate(size_t size) {
  if (size < size_) {
    sodium_memzero(data_ + size, size_ - size);
    size_ = size;
  }
}

void SecureBuffer::reset() {
  if (data_ != nullptr) {
    sodium_memzero(data_, capacity_);
    sodium_free(data_);
  }
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

} // namespace ipfsacc::secrets
