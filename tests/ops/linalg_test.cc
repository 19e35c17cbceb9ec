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
