// The gradient-graph fusion (runtime/fusion.h, fuse_conv_weight_grad): the weight gradient
// autodiff writes for a Conv becomes one ConvWeightGrad, and the fused graph computes what
// the standard ops do, over windows, groups, ranks and both float types.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../ops/test_util.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/ir/builder.h"
#include "onyx/runtime/passes.h"
#include "run_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_ints;
using testing::expect_close;
using testing::random_tensor;
using testing::run;

struct Case {
  const char* what;
  Shape x, w;
  std::vector<ir::Attribute> attrs;
  DType type = DType::Float32;
  std::vector<ir::Attribute> pool = {};  // when given: Relu, then MaxPool with these
};

// Values drawn in float64, held as `t`: the same numbers in both types.
Tensor values(const Shape& s, uint32_t seed, DType t) {
  Tensor d = random_tensor(s, seed, -1, 1, DType::Float64);
  if (t == DType::Float64) return d;
  Tensor f = Tensor::empty(DType::Float32, s);
  for (int64_t i = 0; i < d.numel(); ++i) f.data<float>()[i] = float(d.data<double>()[i]);
  return f;
}

// y = Conv(x, w) with w an initializer (then Relu and MaxPool when the case says).
ir::Model conv_model(const Case& c, DType t) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", ir::TypeInfo::tensor(t, c.x));
  std::string y = g.op("Conv", {x, g.constant("w", values(c.w, 2, t))}, c.attrs);
  if (!c.pool.empty()) y = g.op("MaxPool", {g.op("Relu", {y})}, c.pool);
  g.output(y);
  return m;
}

// The model `onyx grad` makes of it (inputs x and the seed of y, outputs y and w's
// gradient) and feeds for it.
struct Gradient {
  ir::Model model;
  runtime::NamedValues feeds;
};
Gradient conv_gradient(const Case& c, DType t) {
  ir::Model forward = conv_model(c, t);
  Tensor x = values(c.x, 3, t);
  Shape y = run(forward, {{"x", x}}, 1)[0].shape();
  autodiff::GradOptions o;
  o.wrt = {"w"};
  Gradient g{autodiff::build_gradient_model(forward, o), {}};
  g.feeds = {{"x", x}, {g.model.graph->inputs[1].name, values(y, 4, t)}};
  return g;
}

size_t count_op(const ir::Graph& g, const std::string& op) {
  return static_cast<size_t>(std::count_if(g.nodes.begin(), g.nodes.end(),
                                           [&](const ir::Node& n) { return n.op_type == op; }));
}

// w's gradient from `g` with the passes off and on, at 1 and 2 threads, against the truth:
// the standard ops in float64. Every float32 path must be within float32 rounding of it,
// relative to the largest gradient (the sums cancel).
void expect_matches_float64(const Case& c, const Gradient& g) {
  Gradient exact = conv_gradient(c, DType::Float64);
  Tensor want = run(exact.model, exact.feeds, 1, false)[1];
  double largest = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    largest = std::max(largest, std::abs(want.element_as_double(i)));
  double tol = (c.type == DType::Float64 ? 1e-12 : 1e-5) * largest;
  for (int threads : {1, 2}) {
    for (bool optimize : {false, true}) {
      auto got = run(g.model, g.feeds, threads, optimize, 2);  // the second run reuses primitives
      ASSERT_EQ(got.size(), 2u);
      ASSERT_EQ(got[1].shape(), want.shape());
      for (int64_t i = 0; i < want.numel(); ++i)
        ASSERT_NEAR(got[1].element_as_double(i), want.element_as_double(i), tol)
            << c.what << ", threads " << threads << (optimize ? ", fused" : ", standard ops")
            << " at " << i;
    }
  }
}

TEST(FuseConvWeightGrad, AutodiffsWeightGradientBecomesOneNode) {
  const std::vector<Case> cases = {
      {"3x3, pads 1", {4, 8, 10, 10}, {16, 8, 3, 3}, {attr_ints("pads", {1, 1, 1, 1})}},
      {"stride 2, dilation 2, uneven pads",
       {3, 16, 13, 12},
       {16, 16, 3, 3},
       {attr_ints("strides", {2, 2}), attr_ints("dilations", {2, 1}),
        attr_ints("pads", {0, 1, 2, 0})}},
      {"groups", {2, 16, 9, 9}, {32, 4, 3, 3}, {attr_int("group", 4)}},
      {"1-D", {3, 16, 30}, {16, 16, 5}, {attr_ints("strides", {3})}},
      {"3-D", {2, 16, 5, 6, 4}, {16, 16, 3, 3, 3}, {attr_ints("pads", {1, 1, 1, 1, 1, 1})}},
      {"float64", {2, 3, 8, 8}, {4, 3, 3, 3}, {}, DType::Float64},
      {"first layer, one channel",
       {8, 1, 28, 28},
       {32, 1, 3, 3},
       {attr_ints("pads", {1, 1, 1, 1})}},
  };
  for (const Case& c : cases) {
    Gradient g = conv_gradient(c, c.type);
    auto fused = runtime::optimize_graph(g.model.graph, g.model, runtime::PassLevel::Runtime, true);
    EXPECT_EQ(count_op(*fused, "ConvWeightGrad"), 1u) << c.what;
    EXPECT_EQ(count_op(*fused, "Transpose"), 0u) << c.what;
    expect_matches_float64(c, g);
  }
}

// X fed flat ([N, C, H*W]) and reshaped for the Conv: the weight-gradient chain then reads
// the flat tensor, and the fused node must read it with the Conv's spatial sizes.
TEST(FuseConvWeightGrad, FlatInputIsReadWithTheConvsSizes) {
  Case c{"3x3", {2, 4, 6, 5}, {8, 4, 3, 3}, {attr_ints("pads", {1, 1, 1, 1})}};
  Gradient g = conv_gradient(c, DType::Float32);
  ir::Graph& graph = *g.model.graph;
  // x becomes Reshape(x_flat): the graph's input is x_flat.
  graph.inputs[0] = {"x_flat", ir::TypeInfo::tensor(DType::Float32, {2, 4, 30}), ""};
  ir::Node reshape;
  reshape.op_type = "Reshape";
  reshape.inputs = {"x_flat", "x_shape"};
  reshape.outputs = {"x"};
  graph.nodes.insert(graph.nodes.begin(), reshape);
  graph.initializers.push_back(
      {"x_shape", Tensor::from_vector<int64_t>({4}, {2, 4, 6, 5}), "", false});
  runtime::NamedValues feeds = g.feeds;
  feeds[0] = {"x_flat", feeds[0].second.tensor().reshape({2, 4, 30})};
  auto fused = runtime::optimize_graph(g.model.graph, g.model, runtime::PassLevel::Runtime, true);
  ASSERT_EQ(count_op(*fused, "ConvWeightGrad"), 1u);
  auto plain = run(g.model, feeds, 1, false);
  auto fast = run(g.model, feeds, 2, true);
  expect_close(fast[1], plain[1], 1e-5, "w_grad");
}

// A value in the chain that something else reads keeps the chain as it is.
TEST(FuseConvWeightGrad, SharedIntermediatesStay) {
  Case c{"3x3", {2, 4, 6, 6}, {8, 4, 3, 3}, {}};
  Gradient g = conv_gradient(c, DType::Float32);
  const ir::Node* conv = nullptr;
  for (const ir::Node& n : g.model.graph->nodes)
    if (n.op_type == "Conv" && n.inputs[0] != "x") conv = &n;
  ASSERT_NE(conv, nullptr);
  g.model.graph->outputs.push_back({conv->inputs[1], {}, ""});  // dY transposed, also an output
  auto fused = runtime::optimize_graph(g.model.graph, g.model, runtime::PassLevel::Runtime, true);
  EXPECT_EQ(count_op(*fused, "ConvWeightGrad"), 0u);
  auto plain = run(g.model, g.feeds, 1, false);
  auto fast = run(g.model, g.feeds, 2, true);
  for (size_t i = 0; i < plain.size(); ++i) expect_close(fast[i], plain[i], 1e-5, "output");
}

// MaxPool after a Relu: its gradient (a scatter into zeros) and the Relu's (a select on
// y > 0) become one ScatterReluGrad, with and without overlapping windows (the scatter
// then adds), with padding, and in float64.
TEST(FuseScatterReluGrad, MaxPoolAfterReluBecomesOneNode) {
  const std::vector<Case> cases = {
      {"2x2 stride 2",
       {4, 3, 12, 12},
       {8, 3, 3, 3},
       {attr_ints("pads", {1, 1, 1, 1})},
       DType::Float32,
       {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}},
      {"3x3 stride 2, overlapping",
       {2, 3, 11, 11},
       {8, 3, 3, 3},
       {},
       DType::Float32,
       {attr_ints("kernel_shape", {3, 3}), attr_ints("strides", {2, 2})}},
      {"padded pool",
       {2, 3, 9, 9},
       {4, 3, 3, 3},
       {},
       DType::Float32,
       {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2}),
        attr_ints("pads", {1, 1, 1, 1})}},
      {"float64",
       {2, 3, 8, 8},
       {4, 3, 3, 3},
       {},
       DType::Float64,
       {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}},
  };
  for (const Case& c : cases) {
    Gradient g = conv_gradient(c, c.type);
    auto fused = runtime::optimize_graph(g.model.graph, g.model, runtime::PassLevel::Runtime, true);
    EXPECT_EQ(count_op(*fused, "ScatterReluGrad"), 1u) << c.what;
    EXPECT_EQ(count_op(*fused, "ScatterElements"), 0u) << c.what;
    EXPECT_EQ(count_op(*fused, "Where"), 0u) << c.what;
    expect_matches_float64(c, g);
  }
}

}  // namespace
}  // namespace onyx
