#include "onyx/core/buffer.h"

#include <atomic>
#include <cstdlib>
#include <map>

#include "onyx/core/error.h"

namespace onyx {

Buffer::Buffer(size_t bytes) : bytes_(bytes) {
  reserve_memory(bytes);
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) {
    release_memory(bytes);
    fail(ErrorKind::ResourceLimit, "out of memory allocating ", bytes, " bytes");
  }
}

Buffer::Buffer(void* data, size_t bytes, std::shared_ptr<void> keep_alive)
    : data_(data), bytes_(bytes), owned_(false), keep_alive_(std::move(keep_alive)) {}

Buffer::~Buffer() {
  if (!owned_) return;
  std::free(data_);
  release_memory(bytes_);
}

struct BufferPool::State {
  std::mutex mu;
  std::multimap<size_t, Buffer*> free;  // capacity -> buffer
  size_t cached = 0;
  size_t allocations = 0;
  ~State() {
    for (auto& [size, buf] : free) delete buf;
  }
};

BufferPool::BufferPool() : state_(std::make_shared<State>()) {}

std::shared_ptr<Buffer> BufferPool::acquire(size_t bytes) {
  Buffer* buf = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    // Reuse the smallest free buffer that fits, unless it would waste more than half.
    auto it = state_->free.lower_bound(bytes);
    if (it != state_->free.end() && it->first <= bytes * 2 + 4096) {
      buf = it->second;
      state_->cached -= it->first;
      state_->free.erase(it);
    }
  }
  if (!buf) {
    try {
      buf = new Buffer(bytes);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::ResourceLimit) throw;
      // Past the budget: what this pool keeps for reuse goes first, then one more try.
      std::multimap<size_t, Buffer*> cached;
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        cached.swap(state_->free);
        state_->cached = 0;
      }
      if (cached.empty()) throw;
      for (auto& [size, b] : cached) delete b;
      buf = new Buffer(bytes);
    }
    std::lock_guard<std::mutex> lock(state_->mu);
    ++state_->allocations;
  }
  std::weak_ptr<State> weak = state_;
  return std::shared_ptr<Buffer>(buf, [weak](Buffer* b) {
    if (auto st = weak.lock()) {
      std::lock_guard<std::mutex> lock(st->mu);
      st->free.emplace(b->size(), b);
      st->cached += b->size();
      return;
    }
    delete b;
  });
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cached;
}

size_t BufferPool::allocations() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->allocations;
}

}  // namespace onyx
