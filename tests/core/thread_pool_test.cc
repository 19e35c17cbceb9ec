// The thread pool (core/thread_pool.h): every index of every region runs exactly once,
// whether the workers are spinning or asleep, errors reach the caller, nested regions run
// serially, and callers on several threads take turns.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "onyx/core/thread_pool.h"

namespace onyx {
namespace {

// Sums 0..n-1 through parallel_for, each index claimed once.
int64_t parallel_sum(ThreadPool& pool, int64_t n, int64_t grain) {
  std::atomic<int64_t> sum{0};
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      seen[static_cast<size_t>(i)].fetch_add(1);
      sum.fetch_add(i);
    }
  });
  for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  return sum.load();
}

TEST(ThreadPool, EveryIndexRunsOnceBackToBackAndAfterSleeping) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 200; ++round) {
      int64_t n = 1 + round % 37;
      EXPECT_EQ(parallel_sum(pool, n, 1), n * (n - 1) / 2) << threads << " " << round;
    }
    // Long enough gaps for the workers to stop spinning and sleep.
    for (int round = 0; round < 3; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_EQ(parallel_sum(pool, 1000, 10), 999 * 1000 / 2) << threads;
    }
  }
}

TEST(ThreadPool, RunOnAllCallsEachThreadOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> calls(3);
  std::vector<std::thread::id> ids(3);
  pool.run_on_all([&](int t) {
    calls[static_cast<size_t>(t)].fetch_add(1);
    ids[static_cast<size_t>(t)] = std::this_thread::get_id();
  });
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(ids[0], std::this_thread::get_id()) << "the caller takes part";
}

TEST(ThreadPool, ErrorsReachTheCallerAndThePoolGoesOn) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(4, 1,
                                 [](int64_t b, int64_t) {
                                   if (b > 0) throw std::runtime_error("worker failed");
                                 }),
               std::runtime_error);
  EXPECT_EQ(parallel_sum(pool, 100, 1), 4950);
}

TEST(ThreadPool, NestedRegionsRunSerially) {
  ThreadPool pool(2);
  std::atomic<int64_t> inner{0};
  pool.parallel_for(2, 1, [&](int64_t, int64_t) {
    pool.parallel_for(10, 1, [&](int64_t b, int64_t e) { inner.fetch_add(e - b); });
  });
  EXPECT_EQ(inner.load(), 20);
}

TEST(ThreadPool, CallersOnSeveralThreadsTakeTurns) {
  ThreadPool pool(2);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < 200; ++r) {
        if (parallel_sum(pool, 64, 1) != 64 * 63 / 2) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace onyx
