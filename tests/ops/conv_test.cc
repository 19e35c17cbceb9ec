// Convolution-family kernels: cases the backend suite does not reach.
#include <gtest/gtest.h>

#include "onyx/ops/conv_dnnl.h"
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

// Runs `op` on float32 inputs (oneDNN's kernels where it has them) and on the same values
// in float64 (onyx's own loops always), and compares.
void expect_float_matches_double(const char* op, const Shape& xs, const Shape& ws, int64_t M,
                                 std::vector<ir::Attribute> attrs, const std::string& what) {
  Tensor x = testing::random_tensor(xs, 11, -1, 1, DType::Float64);
  Tensor w = testing::random_tensor(ws, 12, -1, 1, DType::Float64);
  Tensor b = testing::random_tensor({M}, 13, -1, 1, DType::Float64);
  auto narrow = [](const Tensor& t) {
    Tensor f = Tensor::empty(DType::Float32, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) f.data<float>()[i] = float(t.data<double>()[i]);
    return f;
  };
  for (int threads : {1, 2}) {
    Tensor d =
        testing::run_model(testing::single_node_model(op, 3, 1, attrs), {x, w, b}, threads)[0]
            .tensor();
    Tensor f = testing::run_model(testing::single_node_model(op, 3, 1, attrs),
                                  {narrow(x), narrow(w), narrow(b)}, threads)[0]
                   .tensor();
    ASSERT_EQ(f.shape(), d.shape()) << what;
    for (int64_t i = 0; i < f.numel(); ++i)
      ASSERT_NEAR(f.element_as_double(i), d.element_as_double(i), 1e-4)
          << what << " threads " << threads << " element " << i;
  }
}

// ConvTranspose in float32 runs on oneDNN's backward-data primitive when it fits: strides,
// pads, output_padding, dilations, groups, 1-D and 3-D, against the float64 loops.
TEST(ConvTranspose, OneDnnPathMatchesOwnLoops) {
  using testing::attr_int;
  using testing::attr_ints;
  expect_float_matches_double("ConvTranspose", {4, 32, 7, 7}, {32, 16, 3, 3}, 16,
                              {attr_ints("strides", {2, 2}), attr_ints("pads", {1, 1, 1, 1}),
                               attr_ints("output_padding", {1, 1})},
                              "stride 2, output_padding");
  expect_float_matches_double(
      "ConvTranspose", {3, 32, 9, 8}, {32, 8, 3, 3}, 16,
      {attr_int("group", 2), attr_ints("dilations", {2, 1}), attr_ints("pads", {0, 1, 2, 0})},
      "groups, dilations, uneven pads");
  expect_float_matches_double("ConvTranspose", {2, 16, 20}, {16, 32, 5}, 32,
                              {attr_ints("strides", {3})}, "1-D");
  expect_float_matches_double("ConvTranspose", {2, 16, 4, 5, 6}, {16, 16, 3, 3, 3}, 16,
                              {attr_ints("pads", {1, 1, 1, 1, 1, 1})}, "3-D");
  expect_float_matches_double("ConvTranspose", {2, 16, 5, 5}, {16, 16, 3, 3}, 16,
                              {attr_ints("output_shape", {13, 12}), attr_ints("strides", {2, 2})},
                              "output_shape larger than the windows reach");
}

// The channel-blocked layout: element (n, c, s) at [n, c / 16, s, c % 16], padding channels
// zero; full blocks go through 8x8 transposes, partial ones and spatial tails do not.
TEST(BlockedLayout, ToAndFromMatchTheDefinition) {
  for (auto [C, S] : {std::pair<int64_t, int64_t>{35, 37}, {16, 8}, {32, 784}, {5, 3}}) {
    const int64_t N = 2, CB = (C + 15) / 16;
    Tensor x = testing::random_tensor({N, C, S}, 9);
    std::vector<float> xb(static_cast<size_t>(N * CB * S * 16), -1.0f), back(x.numel());
    ThreadPool pool(2);
    ops::to_blocked(x.data<float>(), N, C, S, xb.data(), pool);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < CB * 16; ++c)
        for (int64_t s = 0; s < S; ++s) {
          float want = c < C ? x.data<float>()[(n * C + c) * S + s] : 0.0f;
          ASSERT_EQ(xb[static_cast<size_t>(((n * CB + c / 16) * S + s) * 16 + c % 16)], want)
              << "C " << C << " S " << S << " at " << n << "," << c << "," << s;
        }
    ops::from_blocked(xb.data(), N, C, S, back.data(), pool);
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(back[static_cast<size_t>(i)], x.data<float>()[i]) << "C " << C << " S " << S;
  }
}

}  // namespace
}  // namespace onyx
