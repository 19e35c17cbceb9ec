#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

using testing::run_model;
using testing::single_node_model;

// float64 determinants keep float64 precision: this one is 1e-10, which float32 rounds to 0.
TEST(Linalg, DetOfFloat64KeepsItsPrecision) {
  Tensor x = Tensor::from_vector<double>({2, 2}, {1 + 1e-10, 1, 1, 1});
  auto out = run_model(single_node_model("Det", 1, 1), {x});
  ASSERT_EQ(out[0].tensor().dtype(), DType::Float64);
  EXPECT_NEAR(out[0].tensor().to_vector<double>()[0], 1e-10, 1e-16);
}

TEST(Linalg, DetOfABatchWithPivoting) {
  // The second matrix needs a row swap (zero pivot), which flips the sign.
  Tensor x = Tensor::from_vector<float>({2, 2, 2}, {3, 1, 2, 4, 0, 2, 5, 1});
  auto out = run_model(single_node_model("Det", 1, 1), {x});
  EXPECT_EQ(out[0].tensor().shape(), (Shape{2}));
  EXPECT_EQ(out[0].tensor().to_vector<float>(), (std::vector<float>{10, -10}));
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// A batched A against one 2-D B runs as one GEMM over all of A's rows (float32); float64
// takes the per-matrix loop: both must agree, whatever the batch dims.
TEST(MatMul, BatchedAOverOneBIsOneGemm) {
  for (Shape a_shape : {Shape{3, 2, 4, 5}, Shape{197, 1, 5}, Shape{2, 5}}) {
    Tensor a = testing::random_tensor(a_shape, 1);
    Tensor b = testing::random_tensor({5, 6}, 2);
    auto as_double = [](const Tensor& t) {
      Tensor d = Tensor::empty(DType::Float64, t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) d.data<double>()[i] = t.data<float>()[i];
      return d;
    };
    for (int threads : {1, 2}) {
      Tensor y = testing::run_model(testing::single_node_model("MatMul", 2, 1), {a, b}, threads)[0]
                     .tensor();
      Tensor ref = testing::run_model(testing::single_node_model("MatMul", 2, 1),
                                      {as_double(a), as_double(b)})[0]
                       .tensor();
      Shape want = a_shape;
      want.back() = 6;
      ASSERT_EQ(y.shape(), want);
      for (int64_t i = 0; i < y.numel(); ++i)
        ASSERT_NEAR(y.data<float>()[i], ref.data<double>()[i], 1e-5)
            << shape_str(a_shape) << " " << i;
    }
  }
}

}  // namespace
}  // namespace onyx
