// float32 Conv on oneDNN primitives (ops/conv_dnnl.h) and the blocked-layout pass
// (runtime/layout.h): the same numbers as onyx's own float64 convolution, and whole graphs
// the same with the pass as without it.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/test_util.h"
#include "onyx/ir/builder.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/fusion.h"
#include "onyx/runtime/layout.h"
#include "onyx/runtime/session.h"
#include "run_util.h"

namespace onyx {
namespace {

struct ConvCase {
  const char* what;
  Shape x, w;  // X [N, C, spatial...], W [M, C / group, kernel...]
  int64_t group = 1;
  std::vector<int64_t> strides, pads, dilations;
  std::string auto_pad = "NOTSET";
  std::string activation;  // after the Conv: "", "Relu", "Clip" (folded in), "SiLU" (Swish)
};

std::vector<ConvCase> conv_cases() {
  return {
      {"3x3 same", {1, 16, 9, 9}, {32, 16, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {}, "NOTSET", "Relu"},
      {"channels not a block multiple",
       {1, 5, 7, 8},
       {24, 5, 3, 3},
       1,
       {1, 1},
       {1, 1, 1, 1},
       {},
       "NOTSET",
       ""},
      {"first layer 7x7/2",
       {1, 3, 23, 23},
       {20, 3, 7, 7},
       1,
       {2, 2},
       {3, 3, 3, 3},
       {},
       "NOTSET",
       ""},
      {"asymmetric pads, stride 2",
       {2, 17, 10, 9},
       {19, 17, 3, 2},
       1,
       {2, 1},
       {0, 1, 2, 0},
       {},
       "NOTSET",
       ""},
      {"dilated", {1, 32, 12, 12}, {16, 32, 3, 3}, 1, {1, 1}, {2, 2, 2, 2}, {2, 2}, "NOTSET", ""},
      {"pointwise", {3, 48, 6, 5}, {40, 48, 1, 1}, 1, {}, {}, {}, "NOTSET", "Clip"},
      {"pointwise stride 2", {1, 64, 8, 8}, {32, 64, 1, 1}, 1, {2, 2}, {}, {}, "NOTSET", ""},
      {"depthwise", {1, 48, 11, 11}, {48, 1, 3, 3}, 48, {1, 1}, {1, 1, 1, 1}, {}, "NOTSET", "Clip"},
      {"depthwise stride 2",
       {2, 40, 12, 12},
       {40, 1, 3, 3},
       40,
       {2, 2},
       {1, 1, 1, 1},
       {},
       "NOTSET",
       ""},
      {"grouped, 16 per group",
       {1, 64, 6, 6},
       {32, 16, 3, 3},
       4,
       {1, 1},
       {1, 1, 1, 1},
       {},
       "NOTSET",
       ""},
      {"grouped, 8 per group",
       {1, 32, 6, 6},
       {32, 8, 3, 3},
       4,
       {1, 1},
       {1, 1, 1, 1},
       {},
       "NOTSET",
       ""},
      {"grouped, 3 per group",
       {1, 6, 5, 5},
       {4, 3, 3, 3},
       2,
       {1, 1},
       {0, 0, 0, 0},
       {},
       "NOTSET",
       ""},
      {"SAME_UPPER", {1, 16, 7, 7}, {16, 16, 4, 4}, 1, {2, 2}, {}, {}, "SAME_UPPER", ""},
      {"1-d", {2, 16, 20}, {24, 16, 5}, 1, {2}, {2, 1}, {}, "NOTSET", ""},
      {"3-d",
       {1, 16, 5, 6, 7},
       {16, 16, 3, 3, 3},
       1,
       {1, 1, 1},
       {1, 1, 1, 1, 1, 1},
       {},
       "NOTSET",
       ""},
  };
}

Tensor as_double(const Tensor& t) {
  Tensor d = Tensor::empty(DType::Float64, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) d.data<double>()[i] = t.data<float>()[i];
  return d;
}

// A Conv (then the activation) with W and B as initializers (`constant_weights`, so that
// the layout pass blocks it) or as inputs, in element type `t`.
ir::Model conv_model(const ConvCase& c, const Tensor& w, const Tensor& b, bool constant_weights) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", ir::TypeInfo::tensor(w.dtype()));
  std::string wn =
      constant_weights ? g.constant("w", w) : g.input("w", ir::TypeInfo::tensor(w.dtype()));
  std::string bn =
      constant_weights ? g.constant("b", b) : g.input("b", ir::TypeInfo::tensor(w.dtype()));
  std::vector<ir::Attribute> attrs{ir::attr("group", c.group), ir::attr("auto_pad", c.auto_pad)};
  if (!c.strides.empty()) attrs.push_back(ir::attr("strides", c.strides));
  if (!c.pads.empty()) attrs.push_back(ir::attr("pads", c.pads));
  if (!c.dilations.empty()) attrs.push_back(ir::attr("dilations", c.dilations));
  std::string y = g.op("Conv", {x, wn, bn}, attrs);
  if (c.activation == "Relu") y = g.op("Relu", {y});
  if (c.activation == "SiLU") y = g.op("Mul", {y, g.op("Sigmoid", {y})});
  if (c.activation == "Clip") {
    y = g.op("Clip", {y, g.scalar(-0.25, w.dtype()), g.scalar(0.5, w.dtype())});
  }
  g.output(y);
  return m;
}

using testing::expect_close;
using testing::run;

// Every case on oneDNN's kernels (float32; W an input, and W an initializer so that the
// runtime keeps Y blocked) against onyx's own loops in float64, at 1 and 2 threads.
TEST(OneDnnConv, MatchesTheFloat64Convolution) {
  uint32_t seed = 1;
  for (const ConvCase& c : conv_cases()) {
    Tensor x = testing::random_tensor(c.x, seed++);
    Tensor w = testing::random_tensor(c.w, seed++);
    Tensor b = testing::random_tensor({c.w[0]}, seed++);
    Tensor want = run(conv_model(c, as_double(w), as_double(b), false),
                      {{"x", as_double(x)}, {"w", as_double(w)}, {"b", as_double(b)}}, 1)[0];
    for (int threads : {1, 2}) {
      std::string what = std::string(c.what) + ", " + std::to_string(threads) + " thread(s)";
      expect_close(run(conv_model(c, w, b, false), {{"x", x}, {"w", w}, {"b", b}}, threads)[0],
                   want, 1e-5, what + ", weights fed");
      expect_close(run(conv_model(c, w, b, true), {{"x", x}}, threads, true, 2)[0], want, 1e-5,
                   what + ", constant weights");
    }
  }
}

// One session, W fed with another kernel size and channel count on the second run: the
// primitive prepared for the first shapes must not serve the second.
TEST(OneDnnConv, FedWeightsMayChangeShapeBetweenRuns) {
  ConvCase c{"fed", {1, 16, 9, 9}, {16, 16, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {}, "NOTSET", ""};
  ir::Model m =
      conv_model(c, testing::random_tensor(c.w, 1), testing::random_tensor({16}, 2), false);
  runtime::Session s(m);
  Tensor x = testing::random_tensor(c.x, 3);
  for (Shape w_shape : {Shape{16, 16, 3, 3}, Shape{32, 16, 3, 3}, Shape{16, 16, 1, 1}}) {
    Tensor w = testing::random_tensor(w_shape, 4), b = testing::random_tensor({w_shape[0]}, 5);
    Tensor got = s.run({{"x", x}, {"w", w}, {"b", b}})[0].tensor();
    // The reference: the same model in float64 (pads 1: 9x9 out for 3x3, 11x11 for 1x1).
    Tensor want = run(conv_model(c, as_double(w), as_double(b), false),
                      {{"x", as_double(x)}, {"w", as_double(w)}, {"b", as_double(b)}}, 1)[0];
    expect_close(got, want, 1e-5, shape_str(w_shape));
  }
}

// Conv -> Relu -> Conv -> Add (residual) -> depthwise Conv -> Mul by a one-channel map
// (must not stay blocked: its channels differ) -> GlobalAveragePool, with an intermediate
// value also a graph output.
ir::Model residual_model() {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  auto w = [&](Shape s, uint32_t seed) {
    return g.constant("w", testing::random_tensor(s, seed, -0.3, 0.3));
  };
  std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32));
  std::vector<ir::Attribute> same{ir::attr("pads", std::vector<int64_t>{1, 1, 1, 1})};
  std::string a = g.op("Relu", {g.op("Conv", {x, w({24, 3, 3, 3}, 1)}, same)});
  std::string c = g.op("Conv", {a, w({24, 24, 3, 3}, 2)}, same);
  std::string r = g.op("Add", {c, a});
  std::vector<ir::Attribute> dw = same;
  dw.push_back(ir::attr("group", int64_t{24}));
  std::string d = g.op("Conv", {r, w({24, 1, 3, 3}, 3)}, dw);
  std::string mask = g.op("Sigmoid", {g.op("Conv", {d, w({1, 24, 1, 1}, 4)})});
  std::string gated = g.op("Mul", {d, mask});
  g.output(g.op("GlobalAveragePool", {gated}));
  g.output(r);
  return m;
}

TEST(BlockedLayout, RewritesConvChainsAndKeepsResults) {
  ir::Model m = residual_model();
  auto rewritten = runtime::block_conv_layouts(m.graph);
  int blocked_convs = 0, back = 0;
  for (const auto& n : rewritten->nodes) {
    if (n.domain != ops::kRuntimeDomain) continue;
    blocked_convs += n.op_type == "Conv";
    back += n.op_type == "FromBlocked";
  }
  EXPECT_EQ(blocked_convs, 4);
  // Back to plain: r (a graph output), d (for the Mul with the one-channel mask) and the
  // mask itself (Sigmoid keeps it blocked; the Mul's other input has other channels).
  EXPECT_EQ(back, 3);
  for (const auto& n : rewritten->nodes) {
    EXPECT_NE(n.op_type, "Add") << "the residual Add is folded into the Conv before it";
  }
  Tensor x = testing::random_tensor({1, 3, 12, 12}, 9);
  for (int threads : {1, 2}) {
    auto plain = run(m, {{"x", x}}, threads, false);
    auto fast = run(m, {{"x", x}}, threads, true, 2);
    ASSERT_EQ(fast.size(), 2u);
    expect_close(fast[0], plain[0], 1e-5, "pooled");
    expect_close(fast[1], plain[1], 1e-5, "residual");
  }
}

// Pools, a channel Concat and an inference BatchNormalization read blocked Convs: each the same as
// without the pass, for 1-, 2- and 3-D images.
TEST(BlockedLayout, PoolsAndConcatMatchThePlainOps) {
  using V = std::vector<int64_t>;
  for (int64_t spatial : {1, 2, 3}) {
    ir::Model m;
    m.set_opset("", 17);
    ir::GraphBuilder g(*m.graph);
    Shape xs{2, 3}, ws16{16, 3}, ws5{5, 3};
    for (int64_t d = 0; d < spatial; ++d) {
      xs.push_back(spatial == 3 ? 6 : 11 - d);
      ws16.push_back(3);
      ws5.push_back(1);
    }
    auto k = [&](int64_t v) { return V(static_cast<size_t>(spatial), v); };
    auto pads = [&](int64_t lo, int64_t hi) {
      V p = k(lo);
      V e = k(hi);
      p.insert(p.end(), e.begin(), e.end());
      return p;
    };
    std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32));
    std::string a = g.op("Conv", {x, g.constant("w", testing::random_tensor(ws16, 1))},
                         {ir::attr("pads", pads(1, 1))});
    std::string b = g.op("Conv", {x, g.constant("w", testing::random_tensor(ws5, 2))});
    std::vector<std::string> outs{
        g.op("MaxPool", {a},
             {ir::attr("kernel_shape", k(3)), ir::attr("strides", k(2)),
              ir::attr("ceil_mode", int64_t{1}), ir::attr("pads", pads(1, 0))}),
        g.op("MaxPool", {a}, {ir::attr("kernel_shape", k(2)), ir::attr("dilations", k(2))}),
        g.op("AveragePool", {a},
             {ir::attr("kernel_shape", k(3)), ir::attr("strides", k(2)),
              ir::attr("pads", pads(1, 1)), ir::attr("count_include_pad", int64_t{1})}),
        g.op("AveragePool", {a},
             {ir::attr("kernel_shape", k(2)), ir::attr("strides", k(2)),
              ir::attr("ceil_mode", int64_t{1}), ir::attr("pads", pads(0, 1))}),
        g.op("GlobalAveragePool", {a}),
        g.op("GlobalMaxPool", {b}),
        g.op("Concat", {a, b}, {ir::attr("axis", -1 - spatial)}),
        g.op("BatchNormalization",
             {b, g.constant("scale", testing::random_tensor({5}, 4)),
              g.constant("bias", testing::random_tensor({5}, 5)),
              g.constant("mean", testing::random_tensor({5}, 6)),
              g.constant("var", testing::random_tensor({5}, 7, 0.5, 2))},
             {ir::attr("epsilon", 1e-3f)}),
    };
    for (const auto& o : outs) g.output(o);
    int runtime_ops = 0;
    auto blocked = runtime::block_conv_layouts(m.graph);  // (a temporary would die first)
    for (const auto& n : blocked->nodes) {
      runtime_ops += n.domain == ops::kRuntimeDomain && n.op_type != "FromBlocked";
    }
    EXPECT_EQ(runtime_ops, 9) << spatial << "-D: both Convs, all six pools and the BatchNorm";
    Tensor in = testing::random_tensor(xs, 3);
    for (int threads : {1, 2}) {
      auto plain = run(m, {{"x", in}}, threads, false);
      auto fast = run(m, {{"x", in}}, threads, true);
      ASSERT_EQ(fast.size(), outs.size());
      for (size_t i = 0; i < outs.size(); ++i) {
        expect_close(fast[i], plain[i], 1e-5,
                     std::to_string(spatial) + "-D output " + std::to_string(i));
      }
    }
  }
}

// Residual Adds folded into the Conv before them (oneDNN's sum post-op), with the Relu
// after them: a residual of the Conv's shape, and one that broadcasts (a pooled [N, C, 1,
// 1] map), whose Add takes the kernel's own path.
TEST(BlockedLayout, ResidualAddsFoldIntoConvs) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  auto w = [&](Shape s, uint32_t seed) {
    return g.constant("w", testing::random_tensor(s, seed, -0.3, 0.3));
  };
  std::vector<ir::Attribute> same{ir::attr("pads", std::vector<int64_t>{1, 1, 1, 1})};
  std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32));
  std::string a = g.op("Conv", {x, w({32, 8, 3, 3}, 1), w({32}, 2)}, same);
  std::string r1 = g.op("Relu", {g.op("Add", {g.op("Conv", {a, w({32, 32, 3, 3}, 3)}, same), a})});
  std::string pooled = g.op("GlobalAveragePool", {r1});
  std::string r2 = g.op("Relu", {g.op("Add", {pooled, g.op("Conv", {r1, w({32, 32, 1, 1}, 4)})})});
  g.output(r2);
  auto rewritten = runtime::block_conv_layouts(m.graph);
  int adds = 0, relus = 0;
  for (const auto& n : rewritten->nodes) {
    adds += n.op_type == "Add";
    relus += n.op_type == "Relu";
  }
  EXPECT_EQ(adds, 0);
  EXPECT_EQ(relus, 0);
  Tensor in = testing::random_tensor({2, 8, 9, 7}, 5);
  for (int threads : {1, 2}) {
    auto plain = run(m, {{"x", in}}, threads, false);
    auto fast = run(m, {{"x", in}}, threads, true, 2);
    expect_close(fast[0], plain[0], 1e-5, "residual network, " + std::to_string(threads));
  }
}

// Mul(x, Sigmoid(x)) becomes the runtime's Swish (and stays blocked after a Conv); a
// Sigmoid that something else reads too stays as it is.
TEST(Fusion, SiluBecomesOneSwish) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32));
  std::string c = g.op("Conv", {x, g.constant("w", testing::random_tensor({16, 3, 3, 3}, 1))});
  std::string silu = g.op("Mul", {c, g.op("Sigmoid", {c})});
  std::string s2 = g.op("Sigmoid", {silu});
  std::string kept = g.op("Mul", {s2, silu});
  g.output(kept);
  g.output(s2);
  auto fused = runtime::fuse_swish(m.graph);
  int swish = 0, sigmoid = 0;
  for (const auto& n : fused->nodes) {
    swish += n.op_type == "Swish" && n.domain == ops::kRuntimeDomain;
    sigmoid += n.op_type == "Sigmoid";
  }
  EXPECT_EQ(swish, 1);
  EXPECT_EQ(sigmoid, 1) << "the second Sigmoid is also a graph output";
  Tensor in = testing::random_tensor({2, 3, 8, 8}, 2, -3, 3);
  auto plain = run(m, {{"x", in}}, 1, false);
  auto fast = run(m, {{"x", in}}, 2, true);
  expect_close(fast[0], plain[0], 1e-6, "product");
  expect_close(fast[1], plain[1], 1e-6, "sigmoid");
}

// A graph without an eligible Conv is returned as it is.
TEST(BlockedLayout, LeavesOtherGraphsAlone) {
  ConvCase c{"fed weights", {1, 16, 5, 5}, {16, 16, 3, 3}, 1, {}, {}, {}, "NOTSET", ""};
  ir::Model m =
      conv_model(c, testing::random_tensor(c.w, 1), testing::random_tensor({16}, 2), false);
  EXPECT_EQ(runtime::block_conv_layouts(m.graph), m.graph);
}

}  // namespace
}  // namespace onyx
