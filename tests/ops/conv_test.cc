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

// Convolutions with a large kernel and few output positions (weight gradients) take a
// path of their own when the batch has several images; it must agree with a direct sum.
TEST(Conv, LargeKernelFewOutputsMatchesTheDirectSum) {
  struct Case {
    int64_t H, W, KH, KW, stride;
    std::vector<int64_t> pads;
  };
  for (const Case& c : {Case{7, 6, 7, 6, 1, {1, 1, 1, 1}}, Case{9, 9, 7, 7, 2, {1, 1, 1, 1}},
                        Case{8, 8, 7, 7, 1, {0, 2, 1, 0}}}) {
    const int64_t N = 3, C = 4, M = 5;
    Tensor x = testing::random_tensor({N, C, c.H, c.W}, 7);
    Tensor w = testing::random_tensor({M, C, c.KH, c.KW}, 8);
    auto y = testing::run_model(
                 testing::single_node_model("Conv", 2, 1,
                                            {testing::attr_ints("pads", c.pads),
                                             testing::attr_ints("strides", {c.stride, c.stride})}),
                 {x, w})[0]
                 .tensor();
    int64_t OH = (c.H + c.pads[0] + c.pads[2] - c.KH) / c.stride + 1;
    int64_t OW = (c.W + c.pads[1] + c.pads[3] - c.KW) / c.stride + 1;
    ASSERT_EQ(y.shape(), (Shape{N, M, OH, OW}));
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t oh = 0; oh < OH; ++oh) {
          for (int64_t ow = 0; ow < OW; ++ow) {
            double sum = 0;
            for (int64_t ch = 0; ch < C; ++ch) {
              for (int64_t kh = 0; kh < c.KH; ++kh) {
                for (int64_t kw = 0; kw < c.KW; ++kw) {
                  int64_t ih = oh * c.stride - c.pads[0] + kh, iw = ow * c.stride - c.pads[1] + kw;
                  if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                  sum += double(x.data<float>()[((n * C + ch) * c.H + ih) * c.W + iw]) *
                         w.data<float>()[((m * C + ch) * c.KH + kh) * c.KW + kw];
                }
              }
            }
            EXPECT_NEAR(y.data<float>()[((n * M + m) * OH + oh) * OW + ow], sum, 1e-4)
                << "image " << n << " filter " << m << " at " << oh << "," << ow;
          }
        }
      }
    }
  }
}

// A batch of small images is split across threads by image (Conv and ConvTranspose): the
// same numbers as one thread, for float and double, with a batch that does not divide.
TEST(Conv, BatchSplitAcrossThreadsMatchesOneThread) {
  for (DType t : {DType::Float32, DType::Float64}) {
    for (const char* op : {"Conv", "ConvTranspose"}) {
      Tensor x = testing::random_tensor({5, 3, 9, 8}, 3, -1, 1, t);
      Tensor w = testing::random_tensor({3, 4, 3, 3}, 4, -1, 1, t);
      Tensor b = testing::random_tensor({4}, 5, -1, 1, t);
      if (std::string(op) == "Conv") w = testing::random_tensor({4, 3, 3, 3}, 4, -1, 1, t);
      auto model = [&] {
        return testing::single_node_model(
            op, 3, 1,
            {testing::attr_ints("pads", {1, 0, 1, 2}), testing::attr_ints("strides", {2, 1})});
      };
      Tensor one = testing::run_model(model(), {x, w, b}, 1)[0].tensor();
      Tensor two = testing::run_model(model(), {x, w, b}, 2)[0].tensor();
      ASSERT_EQ(one.shape(), two.shape()) << op;
      for (int64_t i = 0; i < one.numel(); ++i) {
        ASSERT_NEAR(one.element_as_double(i), two.element_as_double(i), 1e-5) << op << " " << i;
      }
    }
  }
}

}  // namespace
}  // namespace onyx
