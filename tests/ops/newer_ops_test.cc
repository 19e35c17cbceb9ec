// Ops of opsets 20-26 checked directly (the newest backend suite checks them too where the
// machine has it): BitCast, StringConcat, Gelu, Swish, RMSNormalization.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_string;
using testing::run_model;
using testing::single_node_model;

TEST(NewerOps, BitCastKeepsTheBits) {
  Tensor x = Tensor::from_vector<float>({2}, {1.0f, -2.5f});
  Tensor y =
      run_model(single_node_model("BitCast", 1, 1, {attr_int("to", 6)}, 26), {x})[0].tensor();
  ASSERT_EQ(y.dtype(), DType::Int32);
  int32_t bits;
  std::memcpy(&bits, &x.data<float>()[1], 4);
  EXPECT_EQ(y.data<int32_t>()[0], 0x3f800000);
  EXPECT_EQ(y.data<int32_t>()[1], bits);
  EXPECT_THROW(run_model(single_node_model("BitCast", 1, 1, {attr_int("to", 7)}, 26), {x}), Error)
      << "float32 -> int64: the widths differ";
}

TEST(NewerOps, StringConcatBroadcasts) {
  Tensor a = Tensor::from_vector<std::string>({2, 1}, {"a", "bb"});
  Tensor b = Tensor::from_vector<std::string>({3}, {"x", "", "zé"});
  Tensor y = run_model(single_node_model("StringConcat", 2, 1, {}, 20), {a, b})[0].tensor();
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(y.to_vector<std::string>(),
            (std::vector<std::string>{"ax", "a", "azé", "bbx", "bb", "bbzé"}));
}

TEST(NewerOps, GeluSwishAndRmsNormalizationValues) {
  Tensor x = Tensor::from_vector<float>({1, 4}, {-2.0f, -0.5f, 0.5f, 3.0f});
  auto run = [&](const char* op, std::vector<ir::Attribute> attrs, int64_t opset,
                 std::vector<Tensor> in) {
    return run_model(single_node_model(op, in.size(), 1, std::move(attrs), opset), in)[0]
        .tensor()
        .to_vector<float>();
  };
  std::vector<float> exact = run("Gelu", {}, 20, {x}),
                     tanh_form = run("Gelu", {attr_string("approximate", "tanh")}, 20, {x});
  std::vector<float> swish = run("Swish", {}, 24, {x});
  Tensor scale = Tensor::from_vector<float>({4}, {1.0f, 2.0f, 0.5f, 1.0f});
  std::vector<float> rms = run("RMSNormalization", {}, 23, {x, scale});
  double ms = (4.0 + 0.25 + 0.25 + 9.0) / 4;
  for (int i = 0; i < 4; ++i) {
    double v = x.data<float>()[i];
    EXPECT_NEAR(exact[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-6) << i;
    EXPECT_NEAR(tanh_form[i],
                0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))), 1e-6)
        << i;
    EXPECT_NEAR(swish[i], v / (1 + std::exp(-v)), 1e-6) << i;
    EXPECT_NEAR(rms[i], v / std::sqrt(ms + 1e-5) * scale.data<float>()[i], 1e-5) << i;
  }
  EXPECT_THROW(run("Gelu", {attr_string("approximate", "erf")}, 20, {x}), Error);
}

// ReduceMax / ReduceMin on bool (opset 20): any and all, over rows and over an empty axis.
TEST(NewerOps, BoolReduceMaxIsAnyMinIsAll) {
  Tensor x = Tensor::from_vector<bool>({2, 3}, {true, false, true, false, false, false});
  Tensor axes = Tensor::from_vector<int64_t>({1}, {1});
  auto reduce = [&](const char* op, const Tensor& in) {
    return run_model(single_node_model(op, 2, 1, {attr_int("keepdims", 0)}, 20), {in, axes})[0]
        .tensor()
        .to_vector<bool>();
  };
  EXPECT_EQ(reduce("ReduceMax", x), (std::vector<bool>{true, false}));
  EXPECT_EQ(reduce("ReduceMin", x), (std::vector<bool>{false, false}));
  Tensor empty = Tensor::empty(DType::Bool, {2, 0});
  EXPECT_EQ(reduce("ReduceMax", empty), (std::vector<bool>{false, false}));
  EXPECT_EQ(reduce("ReduceMin", empty), (std::vector<bool>{true, true}));
}

// Attention (opset 23) on values a hand can follow: softmax weights 1/4 and 3/4, two query
// heads sharing one key/value head, causal masking, a fully masked row of zeros.
TEST(NewerOps, AttentionWeighsValuesBySoftmaxOfScores) {
  // [B=1, H=2, S=2, D=1] queries; [1, 1, 2, 1] keys and values (grouped-query).
  Tensor q = Tensor::from_vector<float>({1, 2, 2, 1}, {1, 1, 2, 2});
  Tensor k = Tensor::from_vector<float>({1, 1, 2, 1}, {0, std::log(3.0f)});
  Tensor v = Tensor::from_vector<float>({1, 1, 2, 1}, {4, 8});
  auto run = [&](std::vector<ir::Attribute> attrs, std::vector<Tensor> in) {
    attrs.push_back(testing::attr_float("scale", 1.0f));
    return run_model(single_node_model("Attention", in.size(), 1, std::move(attrs), 23), in)[0]
        .tensor();
  };
  Tensor y = run({}, {q, k, v});
  ASSERT_EQ(y.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_NEAR(y.data<float>()[0], 7.0f, 1e-5);  // query 1: weights (1, 3) / 4
  EXPECT_NEAR(y.data<float>()[2], 4 + 4 * 9.0f / 10, 1e-5) << "query 2: weights (1, 9) / 10";
  Tensor causal = run({attr_int("is_causal", 1)}, {q, k, v});
  EXPECT_NEAR(causal.data<float>()[0], 4.0f, 1e-5) << "query 0 sees key 0 only";
  EXPECT_NEAR(causal.data<float>()[1], 7.0f, 1e-5);
  Tensor none = Tensor::from_vector<bool>({2}, {false, false});
  Tensor masked = run({}, {q, k, v, none});
  for (float x : masked.to_vector<float>()) EXPECT_EQ(x, 0.0f) << "a fully masked row is zeros";
}

// QuantizeLinear / DequantizeLinear with 16-bit integers (opset 21), saturating.
TEST(NewerOps, SixteenBitQuantization) {
  Tensor x = Tensor::from_vector<float>({4}, {-1000.0f, 0.5f, 3.0f, 1e9f});
  Tensor scale = Tensor::scalar<float>(0.5f);
  Tensor zp = Tensor::from_vector<int16_t>({}, {10});
  Tensor q =
      run_model(single_node_model("QuantizeLinear", 3, 1, {}, 21), {x, scale, zp})[0].tensor();
  ASSERT_EQ(q.dtype(), DType::Int16);
  EXPECT_EQ(q.to_vector<int16_t>(), (std::vector<int16_t>{-1990, 11, 16, 32767}));
  Tensor back =
      run_model(single_node_model("DequantizeLinear", 3, 1, {}, 21), {q, scale, zp})[0].tensor();
  EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{-1000.0f, 0.5f, 3.0f, 16378.5f}));
}

// Resize-18: scales and sizes for `axes` only; keep_aspect_ratio_policy on sizes.
TEST(NewerOps, ResizeAxesAndAspectRatio) {
  Tensor x = Tensor::from_vector<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto resize = [&](std::vector<ir::Attribute> attrs, Tensor scales, Tensor sizes) {
    ir::Model m = single_node_model("Resize", 4, 1, std::move(attrs), 18);
    std::vector<Tensor> in{x, Tensor(), scales, sizes};
    for (size_t i = 0; i < in.size(); ++i) {  // absent inputs are empty names
      if (in[i].defined()) continue;
      m.graph->nodes[0].inputs[i] = "";
      std::erase_if(m.graph->inputs,
                    [&](const ir::ValueInfo& v) { return v.name == "in" + std::to_string(i); });
    }
    return run_model(m, in)[0].tensor();
  };
  Tensor up = resize({testing::attr_ints("axes", {2, 3})}, Tensor::from_vector<float>({2}, {2, 1}),
                     Tensor());
  EXPECT_EQ(up.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(up.to_vector<float>()[4], 1.0f) << "row 1 repeats row 0 (nearest)";
  // sizes 4x4 for a 2x4 image: not_larger keeps the ratio with scale min(2, 1) = 1.
  Tensor sizes = Tensor::from_vector<int64_t>({2}, {4, 4});
  Tensor kept = resize(
      {testing::attr_ints("axes", {2, 3}), attr_string("keep_aspect_ratio_policy", "not_larger")},
      Tensor(), sizes);
  EXPECT_EQ(kept.shape(), (Shape{1, 1, 2, 4}));
  Tensor larger = resize({testing::attr_ints("axes", {-2, -1}),
                          attr_string("keep_aspect_ratio_policy", "not_smaller")},
                         Tensor(), sizes);
  EXPECT_EQ(larger.shape(), (Shape{1, 1, 4, 8}));
  EXPECT_THROW(
      resize({testing::attr_ints("axes", {2})}, Tensor::from_vector<float>({2}, {2, 1}), Tensor()),
      Error)
      << "two scales for one axis";
}

}  // namespace
}  // namespace onyx
