// A fixed pool of worker threads for intra-op parallelism. parallel_for splits a range
// into chunks; the calling thread takes part, so a pool of N threads has N-1 workers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace onyx {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  // Calls fn(begin, end) over [0, n) in chunks of at least `grain` items.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Runs fn(t) for t in [0, size()), one call per thread (for per-thread work splits).
  void run_on_all(const std::function<void(int)>& fn);

 private:
  void worker_loop(int index);

  int threads_;
  std::vector<std::thread> workers_;
  // A region is handed over without locks: the caller publishes job_ and pending_, then
  // bumps generation_; workers spin on generation_ and count pending_ down. Only a thread
  // that stopped spinning (after kSpin) sleeps on a condition variable, and is woken only
  // when the other side sees it asleep (sleepers_, caller_asleep_).
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<const std::function<void(int)>*> job_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_asleep_{false};
  std::atomic<bool> stop_{false};
  std::mutex call_mu_;  // one parallel region at a time
};

int default_thread_count();

}  // namespace onyx
