// The one GEMM path. float32 goes to oneDNN's sgemm (AVX-512 kernels chosen at run time),
// one single-threaded call per block, the blocks spread over onyx's thread pool: oneDNN's
// own OpenMP threading measured poorly on 2 cores (docs/DECISIONS.md). Other types use a
// plain blocked loop.
#pragma once

#include <cstdint>
#include <functional>

#include "onyx/core/thread_pool.h"

namespace onyx::ops {

// Called on each finished block of C, rows [r0, r1) by columns [c0, c1), by the thread
// that computed it, while the block is still in cache (a bias, an activation).
using GemmEpilogue = std::function<void(int64_t r0, int64_t r1, int64_t c0, int64_t c1)>;

// C = alpha * op(A) * op(B) + beta * C, row-major; op transposes when ta/tb.
// A is [M,K] (or [K,M] when ta), B is [K,N] (or [N,K] when tb), C is [M,N].
void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
              int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
              ThreadPool* pool, const GemmEpilogue* epilogue = nullptr);

template <typename T>
void gemm_generic(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = beta == T(0) ? T(0) : T(beta * c[j]);
    for (int64_t k = 0; k < K; ++k) {
      T a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
      if (a == T(0)) continue;
      if (!tb) {
        const T* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

}  // namespace onyx::ops
