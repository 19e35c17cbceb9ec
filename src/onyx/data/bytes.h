// Big-endian integers in file headers (IDX, PNG).
#pragma once

#include <cstdint>
#include <string>

namespace onyx::data {

// The 32-bit big-endian integer at byte `at` of `s` (the caller checks the length).
inline uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

}  // namespace onyx::data
