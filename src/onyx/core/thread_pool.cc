#include "onyx/core/thread_pool.h"

#include <algorithm>
#include <exception>

namespace onyx {

namespace {
// Set inside a parallel region: nested parallel calls then run serially instead of
// waiting for workers that are busy with the outer region.
thread_local bool t_in_region = false;
struct RegionFlag {
  RegionFlag() { t_in_region = true; }
  ~RegionFlag() { t_in_region = false; }
};
}  // namespace

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    // Spin briefly before sleeping: kernels issue parallel regions back to back, and a
    // condition-variable wake-up costs tens of microseconds, more than many regions last.
    for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen;
         ++spin) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run_on_all(const std::function<void(int)>& fn) {
  if (threads_ == 1 || t_in_region) {
    for (int t = 0; t < threads_; ++t) fn(t);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  std::exception_ptr error;
  std::mutex error_mu;
  std::function<void(int)> guarded = [&](int t) {
    RegionFlag flag;
    try {
      fn(t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &guarded;
    pending_ = threads_ - 1;
    ++generation_;
  }
  wake_.notify_all();
  guarded(0);
  // The caller's share is usually done about when the workers' is: spin before sleeping.
  for (int spin = 0; spin < 20000 && pending_.load(std::memory_order_acquire) != 0; ++spin) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(threads_, (n + grain - 1) / grain);
  if (chunks <= 1 || t_in_region) {
    fn(0, n);
    return;
  }
  run_on_all([&](int t) {
    if (t >= chunks) return;
    int64_t begin = n * t / chunks;
    int64_t end = n * (t + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace onyx
