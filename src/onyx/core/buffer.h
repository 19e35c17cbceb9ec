// Aligned memory for tensor elements. Buffers can come from a BufferPool, which takes
// them back when their last user lets go: that is how a Session's run() reuses memory
// without allocating in steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "onyx/core/limits.h"

namespace onyx {

class BufferPool;

class Buffer {
 public:
  // Allocates `bytes` bytes aligned to 64, counted against the memory budget
  // (core/limits.h). Throws ResourceLimit past it.
  explicit Buffer(size_t bytes);
  // Wraps memory owned elsewhere (e.g. a mapped file); `keep_alive` holds its owner.
  Buffer(void* data, size_t bytes, std::shared_ptr<void> keep_alive);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool owned_ = true;
  std::shared_ptr<void> keep_alive_;
};

// A free list of buffers by size. Buffers handed out return here when released.
class BufferPool {
 public:
  BufferPool();
  std::shared_ptr<Buffer> acquire(size_t bytes);
  size_t cached_bytes() const;
  size_t allocations() const;  // how many buffers were newly allocated (not reused)

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace onyx
