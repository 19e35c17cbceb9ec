// The gradient rules of the newer ops (SwiGLU, RotaryEmbedding, GroupNormalization, CumProd,
// AffineGrid, TensorScatter, CausalConvWithState) and the DeformConv lowering, against finite
// differences in float64 (see gradcheck.h).
#include "gradcheck.h"

#include "onyx/ir/builder.h"

namespace onyx {
namespace {

using ir::attr;
using testing::check;
using testing::constant;
using testing::fixed;
using testing::GradChecker;
using testing::GradCheckOptions;
using testing::i64;
using testing::no_grad;
using testing::random_tensor;
using testing::rnd;

const testing::GradInput kNone{Tensor(), false, false};  // an optional input left out

// SwiGLU (opset 28): with respect to the gate and the value, default alpha and another.
TEST(GradCheckNewer, SwiGlu) {
  check("SwiGLU", {rnd({3, 4}, -4, 4), rnd({3, 4}, -2, 2, 2)}, {}, {.opset = 28});
  check("SwiGLU", {rnd({2, 3, 2}, -4, 4, 3), rnd({2, 3, 2}, -2, 2, 4)}, {attr("alpha", 0.6f)},
        {.opset = 28});
}

// RotaryEmbedding (opset 23), with respect to X (the caches are fed, not differentiated):
// halves and interleaved, whole heads and a rotary_embedding_dim below the head size (the
// copied part), 4-D with position_ids (one negative) and 3-D with num_heads and per-token
// caches shared by the batch.
TEST(GradCheckNewer, RotaryEmbedding) {
  GradCheckOptions o{.opset = 23};
  Tensor pos = Tensor::from_vector<int64_t>({2, 3}, {0, 3, 4, -1, 2, 1});
  for (int64_t interleaved : {0, 1}) {
    for (int64_t dim : {0, 4}) {  // heads of 6: all rotated, or 4 rotated and 2 copied
      SCOPED_TRACE("interleaved " + std::to_string(interleaved) + " rotary_embedding_dim " +
                   std::to_string(dim));
      int64_t half = (dim ? dim : 6) / 2;
      std::vector<ir::Attribute> a{attr("interleaved", interleaved),
                                   attr("rotary_embedding_dim", dim)};
      check("RotaryEmbedding",
            {rnd({2, 2, 3, 6}), no_grad(random_tensor({5, half}, -1, 1, 5)),
             no_grad(random_tensor({5, half}, -1, 1, 6)), constant(pos)},
            a, o);
      a.push_back(attr("num_heads", int64_t{2}));
      check("RotaryEmbedding",
            {rnd({2, 3, 12}, -2, 2, 7), no_grad(random_tensor({1, 3, half}, -1, 1, 8)),
             no_grad(random_tensor({1, 3, half}, -1, 1, 9))},
            a, o);
    }
  }
}

// GroupNormalization: scale and bias per group (opset 18) and per channel (21); groups of
// several channels, one group (LayerNormalization over C and the rest), a group per channel
// (InstanceNormalization), and no spatial axes.
TEST(GradCheckNewer, GroupNormalization) {
  auto groups = [](int64_t g) { return attr("num_groups", g); };
  check("GroupNormalization", {rnd({2, 4, 3, 2}), rnd({2}, 0.5, 1.5, 2), rnd({2}, -1, 1, 3)},
        {groups(2)}, {.opset = 18});
  check("GroupNormalization", {rnd({2, 6, 2, 2}), rnd({6}, 0.5, 1.5, 2), rnd({6}, -1, 1, 3)},
        {groups(6)}, {.opset = 18});
  check("GroupNormalization", {rnd({2, 6, 5}, -2, 2, 4), rnd({6}, 0.5, 1.5, 5), rnd({6}, -1, 1, 6)},
        {groups(3), attr("epsilon", 0.01f)}, {.opset = 21});
  check("GroupNormalization", {rnd({2, 4, 2, 3}), rnd({4}, 0.5, 1.5, 5), rnd({4}, -1, 1, 6)},
        {groups(1)}, {.opset = 21});
  check("GroupNormalization", {rnd({3, 4}), rnd({4}, 0.5, 1.5, 5), rnd({4}, -1, 1, 6)}, {groups(2)},
        {.opset = 21});
}

// CumProd (opset 26), every direction: rows with no zero, one zero and two zeros (exact
// zeros, where a gradient through y / x would divide by 0), along either axis, and random
// values along the middle axis of three with an int32 axis.
TEST(GradCheckNewer, CumProd) {
  GradCheckOptions o{.opset = 26};
  Tensor zeros = Tensor::from_vector<double>(
      {3, 4}, {0.5, -1.2, 1.5, 0.7, 0.7, 0, -0.8, 1.1, 0, 1.3, 0, -0.6});
  for (int64_t reverse : {0, 1}) {
    for (int64_t exclusive : {0, 1}) {
      SCOPED_TRACE("reverse " + std::to_string(reverse) + " exclusive " +
                   std::to_string(exclusive));
      std::vector<ir::Attribute> a{attr("reverse", reverse), attr("exclusive", exclusive)};
      check("CumProd", {fixed(zeros), constant(Tensor::scalar<int64_t>(1))}, a, o);
      check("CumProd", {fixed(zeros), constant(Tensor::scalar<int64_t>(-2))}, a, o);
      check("CumProd", {rnd({2, 4, 3}, 0.5, 1.5), constant(Tensor::scalar<int32_t>(1))}, a, o);
    }
  }
}

// AffineGrid (opset 20), with respect to theta: 2-D and 3-D, both corner alignments, a
// single aligned position (the spec's -1), and a size fed at run time.
TEST(GradCheckNewer, AffineGrid) {
  GradCheckOptions o{.opset = 20};
  for (int64_t align : {0, 1}) {
    SCOPED_TRACE("align_corners " + std::to_string(align));
    std::vector<ir::Attribute> a{attr("align_corners", align)};
    check("AffineGrid", {rnd({2, 2, 3}), constant(i64({2, 3, 4, 5}))}, a, o);
    check("AffineGrid", {rnd({2, 3, 4}, -2, 2, 2), constant(i64({2, 1, 3, 2, 4}))}, a, o);
    check("AffineGrid", {rnd({1, 2, 3}, -2, 2, 3), constant(i64({1, 1, 1, 3}))}, a, o);
  }
  check("AffineGrid", {rnd({2, 2, 3}, -2, 2, 4), no_grad(i64({2, 1, 3, 2}))}, {}, o);
}

// TensorScatter (opset 24), with respect to the cache and the update: no write_indices,
// linear writes per batch entry (fed at run time once), circular ones wrapping around the
// end (a negative index too), along the default axis -2 and along axis 1.
TEST(GradCheckNewer, TensorScatter) {
  GradCheckOptions o{.opset = 24};
  auto circular = attr("mode", "circular");
  check("TensorScatter", {rnd({2, 3, 5, 2}), rnd({2, 3, 2, 2}, -2, 2, 2)}, {}, o);
  check("TensorScatter", {rnd({2, 3, 5, 2}), rnd({2, 3, 2, 2}, -2, 2, 2), constant(i64({1, 3}))},
        {}, o);
  check("TensorScatter", {rnd({2, 3, 5, 2}), rnd({2, 3, 2, 2}, -2, 2, 2), no_grad(i64({3, 0}))}, {},
        o);
  check("TensorScatter", {rnd({2, 3, 5, 2}), rnd({2, 3, 2, 2}, -2, 2, 2), constant(i64({4, -1}))},
        {circular}, o);
  check("TensorScatter", {rnd({2, 5, 3}), rnd({2, 3, 3}, -2, 2, 2), constant(i64({4, 2}))},
        {circular, attr("axis", int64_t{1})}, o);
}

// CausalConvWithState (opset 27), with respect to the input, weight, bias and past_state,
// with and without SiLU (and its alias swish), both outputs seeded: with every input; without
// bias and state, the input shorter than the state (present_state holds padding); a kernel of
// one (no state).
TEST(GradCheckNewer, CausalConvWithState) {
  GradCheckOptions both{.num_outputs = 2, .opset = 27};
  for (const char* act : {"none", "silu"}) {
    SCOPED_TRACE(std::string("activation ") + act);
    check("CausalConvWithState",
          {rnd({2, 3, 5}), rnd({3, 1, 3}, -1, 1, 2), rnd({3}, -1, 1, 3), rnd({2, 3, 2}, -1, 1, 4)},
          {attr("activation", act)}, both);
    check("CausalConvWithState", {rnd({1, 2, 1}, -2, 2, 5), rnd({2, 1, 4}, -1, 1, 6)},
          {attr("activation", act)}, both);
    check("CausalConvWithState",
          {rnd({2, 2, 4}, -2, 2, 7), rnd({2, 1, 3}, -1, 1, 8), kNone, rnd({2, 2, 2}, -1, 1, 9)},
          {attr("activation", act)}, {.opset = 27});
  }
  check("CausalConvWithState", {rnd({2, 2, 4}, -2, 2, 10), rnd({2, 1, 1}, -1, 1, 11)},
        {attr("activation", "swish")}, {.opset = 27});
}

// DeformConv (opsets 19 and 22), lowered to primitive ops (lower_deform_conv.cc): with
// respect to X, W, offset, B and mask. Offsets in (-1.4, 1.4) move taps past the input's
// edges (where they read 0); finite differences step over no tap boundary as long as no
// sampling position sits within eps of an integer. Groups and offset groups, strides, pads
// and dilations, 1-D and 3-D.
TEST(GradCheckNewer, DeformConv) {
  using V = std::vector<int64_t>;
  check("DeformConv",
        {rnd({1, 2, 4, 5}), rnd({3, 2, 2, 2}, -1, 1, 2), rnd({1, 8, 3, 4}, -1.4, 1.4, 3),
         rnd({3}, -1, 1, 4), rnd({1, 4, 3, 4}, 0, 1, 5)},
        {}, {.opset = 22});
  check("DeformConv",
        {rnd({2, 4, 5, 4}), rnd({4, 2, 3, 2}, -1, 1, 2), rnd({2, 24, 3, 3}, -1.4, 1.4, 3), kNone,
         rnd({2, 12, 3, 3}, 0, 1, 5)},
        {attr("group", int64_t{2}), attr("offset_group", int64_t{2}), attr("strides", V{2, 1}),
         attr("pads", V{1, 0, 1, 1}), attr("dilations", V{1, 2})},
        {.opset = 19});
  check(
      "DeformConv",
      {rnd({2, 2, 6}), rnd({2, 1, 3}, -1, 1, 2), rnd({2, 3, 2}, -1.4, 1.4, 3), rnd({2}, -1, 1, 4)},
      {attr("group", int64_t{2}), attr("strides", V{2}), attr("pads", V{1, 1}),
       attr("dilations", V{2})},
      {.opset = 22});
  check("DeformConv",
        {rnd({1, 2, 3, 3, 4}), rnd({2, 2, 2, 2, 2}, -1, 1, 2), rnd({1, 48, 2, 2, 4}, -1.4, 1.4, 3),
         rnd({2}, -1, 1, 4), rnd({1, 16, 2, 2, 4}, 0, 1, 5)},
        {attr("offset_group", int64_t{2}), attr("pads", V{0, 0, 1, 0, 0, 0})}, {.opset = 22});
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// An op that runs by its function body (no kernel) is differentiated through that body:
// MeanVarianceNormalization, over the default axes and over one. Its ONNX 1.12 body holds a
// float constant, so it runs in float between two Casts, and the finite differences take
// float-sized steps and tolerances.
TEST(GradCheckNewer, FunctionOpsThroughTheirBodies) {
  for (std::vector<int64_t> axes : {std::vector<int64_t>{0, 2, 3}, std::vector<int64_t>{1}}) {
    ir::Model m;
    m.set_opset("", 13);
    ir::GraphBuilder b(*m.graph);
    std::string x = b.input("in0", ir::TypeInfo::tensor(DType::Float64));
    std::string f = b.op("Cast", {x}, {ir::attr("to", int64_t{1})});
    std::string y = b.op("MeanVarianceNormalization", {f}, {ir::attr("axes", axes)});
    b.write("Cast", {y}, "out0", {ir::attr("to", int64_t{11})});
    b.output("out0", ir::TypeInfo::tensor(DType::Float64));
    m.graph->name = "mvn";
    testing::GradChecker c(m, {testing::rnd({2, 3, 2, 2})},
                           {.opset = 13, .eps = 1e-3, .rtol = 2e-3, .atol = 2e-3});
    c.run("MeanVarianceNormalization over " + std::to_string(axes.size()) + " axes");
  }
}

}  // namespace
}  // namespace onyx
