#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace ipfsacc::secrets {

// Bytes that hold a secret: allocated with sodium_malloc (guard pages around
// them, locked in memory where the system allows, kept out of core dumps)
// and wiped when released. Movable, not copyable: a copy is a second place
// to forget to wipe.
class SecureBuffer {
public:
  SecureBuffer() = default;
  ~SecureBuffer() { reset(); }
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  // Returns size zeroed bytes, or a message when the memory cannot be had.
  static std::expected<SecureBuffer, std::string> allocate(size_t size);
  // Returns a secure copy of bytes.
  static std::expected<SecureBuffer, std::string> copy_of(
    std::string_view bytes);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const {
    return { reinterpret_cast<const char*>(data_), size_ };
  }
  std::span<const uint8_t> bytes() const { return { data_, size_ }; }

  // Keeps the first size bytes (at most the current size); wipes the rest.
  void truncate(size_t size);
  // Wipes and frees the bytes.
  void reset();

private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

} // namespace ipfsacc::secrets
