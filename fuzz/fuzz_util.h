// What every fuzz target shares: a small memory budget, so that a model asking for
// gigabytes gets onyx's ResourceLimit error rather than the fuzzer's out-of-memory report,
// and the rule that bad input may only end in onyx::Error. Any other exception escapes the
// target and libFuzzer reports it as a crash: a library's exception text (std::stoll's
// "stoll") is not an error message a user can act on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "onyx/core/buffer.h"
#include "onyx/core/error.h"

namespace onyx::fuzz {

// The memory budget of a fuzzed input (all its tensors at once): well below libFuzzer's RSS limit.
inline constexpr size_t kMemoryLimit = size_t{64} << 20;

inline std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `f`, accepting onyx's own errors as the outcome of bad input.
template <class F>
void guarded(F&& f) {
  set_memory_limit(kMemoryLimit);
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace onyx::fuzz
