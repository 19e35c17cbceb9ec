// GEMM shapes at the edges of ops/gemm.cc's choices, checked against a direct sum through
// the ops that use them.
#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

// C = alpha A B + beta C by the definition, in double.
void expect_gemm(const Tensor& y, const Tensor& a, const Tensor& b, const Tensor* c, double alpha,
                 double beta) {
  int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
  ASSERT_EQ(y.shape(), (Shape{M, N}));
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k)
        sum += double(a.data<float>()[i * K + k]) * b.data<float>()[k * N + j];
      double want = alpha * sum + (c ? beta * c->data<float>()[i * N + j] : 0.0);
      ASSERT_NEAR(y.data<float>()[i * N + j], want, 1e-4) << i << "," << j;
    }
  }
}

// A short K and a long N (a first convolution's shape), on 1 and 2 threads, with alpha and
// beta.
TEST(Gemm, ShortKLongN) {
  Tensor a = testing::random_tensor({5, 7}, 1), b = testing::random_tensor({7, 1300}, 2),
         c = testing::random_tensor({5, 1300}, 3);
  for (int threads : {1, 2}) {
    auto y = testing::run_model(testing::single_node_model("MatMul", 2, 1), {a, b}, threads);
    expect_gemm(y[0].tensor(), a, b, nullptr, 1, 0);
    auto g = testing::run_model(
        testing::single_node_model(
            "Gemm", 3, 1, {testing::attr_float("alpha", 0.5f), testing::attr_float("beta", 2.0f)}),
        {a, b, c}, threads);
    expect_gemm(g[0].tensor(), a, b, &c, 0.5, 2.0);
  }
}

// A small output over a long K (weight gradients): split across threads; with B
// transposed and N <= 16, run as dot products (also behind Conv's large-kernel path).
TEST(Gemm, SmallOutputLongK) {
  Tensor a = testing::random_tensor({6, 3000}, 4), b = testing::random_tensor({3000, 9}, 5),
         c = testing::random_tensor({6, 9}, 6);
  Tensor bt = Tensor::empty(DType::Float32, {9, 3000});  // b transposed
  for (int64_t k = 0; k < 3000; ++k) {
    for (int64_t j = 0; j < 9; ++j) bt.data<float>()[j * 3000 + k] = b.data<float>()[k * 9 + j];
  }
  for (int threads : {1, 2}) {
    auto y = testing::run_model(testing::single_node_model("MatMul", 2, 1), {a, b}, threads);
    expect_gemm(y[0].tensor(), a, b, nullptr, 1, 0);
    auto g = testing::run_model(testing::single_node_model("Gemm", 3, 1,
                                                           {testing::attr_int("transB", 1),
                                                            testing::attr_float("alpha", 0.5f),
                                                            testing::attr_float("beta", 2.0f)}),
                                {a, bt, c}, threads);
    expect_gemm(g[0].tensor(), a, b, &c, 0.5, 2.0);
  }
}

}  // namespace
}  // namespace onyx
