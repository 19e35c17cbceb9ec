#include "onyx/ops/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <vector>

#include "onyx/core/error.h"
#include "onyx/ops/dnnl_util.h"

namespace onyx::ops {

namespace {

void sgemm_block(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  dnnl_single_thread();
  dnnl_status_t st =
      dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success)
    fail(ErrorKind::Internal, "oneDNN sgemm failed with status ", static_cast<int>(st));
}

// C = alpha A B^T + beta C for a handful of columns (N <= 16) over a long K, A [M, K] and
// B [N, K] row-major: too few columns for a library's packing to pay (oneDNN runs the
// first layer's weight gradient, M = 32, N = 9, K = 50176, at about 10 GFLOP/s). K is
// walked in blocks small enough for B's block to stay in cache while every row of A
// passes; rows of A are split across threads.
void dots_by_rows(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                  ThreadPool* pool) {
  constexpr int64_t kBlock = 2048;
  auto rows = [&](int64_t m0, int64_t m1) {
    std::vector<float> acc(static_cast<size_t>(N));
    for (int64_t m = m0; m < m1; ++m) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
        int64_t len = std::min(kBlock, K - k0);
        const float* a = A + m * lda + k0;
        for (int64_t j = 0; j < N; ++j) {
          const float* b = B + j * ldb + k0;
          float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // 8 lanes: vectorised, fixed order
          int64_t k = 0;
          for (; k + 8 <= len; k += 8) {
            for (int l = 0; l < 8; ++l) lanes[l] += a[k + l] * b[k + l];
          }
          float sum = 0;
          for (; k < len; ++k) sum += a[k] * b[k];
          for (float v : lanes) sum += v;
          acc[static_cast<size_t>(j)] += sum;
        }
      }
      for (int64_t j = 0; j < N; ++j) {
        float& c = C[m * ldc + j];
        c = alpha * acc[static_cast<size_t>(j)] + (beta == 0.0f ? 0.0f : beta * c);
      }
    }
  };
  if (pool) {
    pool->parallel_for(M, 1, rows);
  } else {
    rows(0, M);
  }
}

}  // namespace

void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
              int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
              ThreadPool* pool, const GemmEpilogue* epilogue) {
  if (M == 0 || N == 0) return;
  auto finish = [epilogue](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    if (epilogue) (*epilogue)(r0, r1, c0, c1);
  };
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    }
    finish(0, M, 0, N);
    return;
  }
  if (!ta && tb && N <= 16 && K >= 1024) {
    dots_by_rows(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
    finish(0, M, 0, N);
    return;
  }
  int threads = pool ? pool->size() : 1;
  double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  // Below ~1 MFLOP the wake-up of other threads costs more than it saves, unless B is
  // large: a matrix-vector product (batch 1) is bound by reading B, and two cores read it
  // faster than one.
  bool large_b = static_cast<double>(K) * static_cast<double>(N) >= (1 << 17);
  if (threads <= 1 || (flops < 2e6 && !large_b)) {
    sgemm_block(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    finish(0, M, 0, N);
    return;
  }
  if (M * N <= 4096 && K >= 8 * (M + N)) {
    // A small C over a long K (weight gradients: a few output channels by a 3x3 kernel,
    // summed over every pixel of the batch): rows or columns would leave each thread a
    // sliver, so each sums its own stretch of K and the partial products are added.
    int64_t parts = std::min<int64_t>(threads, K / 256);
    std::vector<float> partial(static_cast<size_t>(parts * M * N));
    pool->parallel_for(parts, 1, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        int64_t k0 = K * p / parts, k1 = K * (p + 1) / parts;
        const float* a = ta ? A + k0 * lda : A + k0;
        const float* bb = tb ? B + k0 : B + k0 * ldb;
        sgemm_block(ta, tb, M, N, k1 - k0, 1.0f, a, lda, bb, ldb, 0.0f, partial.data() + p * M * N,
                    N);
      }
    });
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        float sum = 0;
        for (int64_t p = 0; p < parts; ++p)
          sum += partial[static_cast<size_t>((p * M + i) * N + j)];
        float& c = C[i * ldc + j];
        c = alpha * sum + (beta == 0.0f ? 0.0f : beta * c);
      }
    }
    finish(0, M, 0, N);
    return;
  }
  // One part per thread: each sgemm call packs the operand it shares with the others (B
  // for a row split) again, so four parts a thread packed a 2048x2048 B eight times and ran
  // at 106 GFLOP/s on 2 threads here, against 190 with two parts.
  if (M >= N) {  // split rows of C
    pool->parallel_for(
        M, std::max<int64_t>(1, (M + threads - 1) / threads), [&](int64_t b, int64_t e) {
          const float* a = ta ? A + b : A + b * lda;
          sgemm_block(ta, tb, e - b, N, K, alpha, a, lda, B, ldb, beta, C + b * ldc, ldc);
          finish(b, e, 0, N);
        });
  } else {  // split columns of C
    pool->parallel_for(N, std::max<int64_t>(16, (N + threads - 1) / threads),
                       [&](int64_t b, int64_t e) {
                         const float* bb = tb ? B + b * ldb : B + b;
                         sgemm_block(ta, tb, M, e - b, K, alpha, A, lda, bb, ldb, beta, C + b, ldc);
                         finish(0, M, b, e);
                       });
  }
}

}  // namespace onyx::ops
