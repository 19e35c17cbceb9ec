// Convolution-family kernels: cases the backend suite does not reach.
#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

// Col2Im sums overlapping blocks: a 1x3 image from 2-wide blocks at stride 1 counts the
// middle pixel twice.
TEST(Col2Im, SumsOverlappingBlocks) {
  Tensor cols = Tensor::from_vector<float>({1, 2, 2}, {1, 2, 3, 4});  // [N, C*2, L=2]
  Tensor image = Tensor::from_vector<int64_t>({2}, {1, 3});
  Tensor block = Tensor::from_vector<int64_t>({2}, {1, 2});
  auto y =
      testing::run_model(testing::single_node_model("Col2Im", 3, 1, {}, 18), {cols, image, block});
  EXPECT_EQ(y[0].tensor().shape(), (Shape{1, 1, 1, 3}));
  EXPECT_EQ(y[0].tensor().to_vector<float>(), (std::vector<float>{1, 2 + 3, 4}));
  Tensor bad = Tensor::from_vector<float>({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(
      testing::run_model(testing::single_node_model("Col2Im", 3, 1, {}, 18), {bad, image, block}),
      Error);
}

// ConvInteger with one weight zero point per output channel: y[m] = sum (x - xz)(w[m] - wz[m]).
TEST(ConvInteger, PerChannelWeightZeroPoints) {
  Tensor x = Tensor::from_vector<uint8_t>({1, 1, 1, 2}, {3, 5});
  Tensor w = Tensor::from_vector<uint8_t>({2, 1, 1, 1}, {4, 9});
  Tensor xz = Tensor::from_vector<uint8_t>({}, {1});
  Tensor wz = Tensor::from_vector<uint8_t>({2}, {2, 10});
  auto y = testing::run_model(testing::single_node_model("ConvInteger", 4, 1), {x, w, xz, wz});
  EXPECT_EQ(y[0].tensor().shape(), (Shape{1, 2, 1, 2}));
  // channel 0: (3-1)*(4-2)=4, (5-1)*2=8; channel 1: (2)*(9-10)=-2, 4*(-1)=-4
  EXPECT_EQ(y[0].tensor().to_vector<int32_t>(), (std::vector<int32_t>{4, 8, -2, -4}));
  Tensor wz_bad = Tensor::from_vector<uint8_t>({3}, {2, 10, 1});
  EXPECT_THROW(
      testing::run_model(testing::single_node_model("ConvInteger", 4, 1), {x, w, xz, wz_bad}),
      Error);
}

}  // namespace
}  // namespace onyx
