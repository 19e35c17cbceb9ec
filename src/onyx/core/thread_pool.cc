#include "onyx/core/thread_pool.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
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

namespace {

// How long a thread spins for the next region (a worker) or for the workers to finish (the
// caller) before it sleeps. Kernels issue regions back to back, and on the virtual machines
// this runs on a condition-variable wake-up costs 70 to 110 microseconds (measured), more
// than most regions last; 2 ms of spinning covers the gaps between the ops of a run.
constexpr auto kSpin = std::chrono::microseconds(2000);

// Spins until `done()` or kSpin has passed; returns done().
template <typename Done>
bool spin_until(Done done) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (unsigned k = 1;; ++k) {
    if (done()) return true;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
    if (k % 256 == 0 && std::chrono::steady_clock::now() > deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) {
    workers_.emplace_back([this, i] {
      // Ctrl-C goes to the program's own threads, not to the stack of a kernel mid-run
      // (a signal frame there corrupted onyx train's heap: cmd_train.cc).
      sigset_t stop;
      sigemptyset(&stop);
      sigaddset(&stop, SIGINT);
      sigaddset(&stop, SIGTERM);
      ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
      worker_loop(i);
    });
  }
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  { std::lock_guard<std::mutex> lock(mu_); }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load() != seen; })) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);  // before the check: a caller bumping generation_ now sees us
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = generation_.load();
    (*job_.load())(index);
    if (pending_.fetch_sub(1) == 1 && caller_asleep_.load()) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
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
  job_.store(&guarded);
  pending_.store(threads_ - 1);
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);  // a worker between its check and its wait holds mu_
    wake_.notify_all();
  }
  guarded(0);
  if (!spin_until([&] { return pending_.load() == 0; })) {
    std::unique_lock<std::mutex> lock(mu_);
    caller_asleep_.store(true);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    caller_asleep_.store(false);
  }
  job_.store(nullptr);
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
