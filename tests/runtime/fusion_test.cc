// The transformer fusions (runtime/fusion.h): GELU's Erf form, LayerNormalization written
// out, MatMul + bias + activation. Each becomes one node where it should, stays where it
// must, and the fused graph computes what the unfused one does.
#include <gtest/gtest.h>

#include "../ops/test_util.h"
#include "onyx/ir/builder.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/fusion.h"
#include "onyx/runtime/passes.h"
#include "run_util.h"

namespace onyx {
namespace {

using testing::expect_close;
using testing::run;

ir::TypeInfo float_of(const Shape& s) {
  return ir::TypeInfo::tensor(DType::Float32, s);
}

// 0.5 * x * (1 + Erf(x / sqrt(2))), as PyTorch exports nn.GELU.
std::string gelu_erf(ir::GraphBuilder& g, const std::string& x) {
  std::string e = g.op("Erf", {g.op("Div", {x, g.scalar(1.4142135381698608, DType::Float32)})});
  std::string a = g.op("Add", {e, g.scalar(1, DType::Float32)});
  return g.op("Mul", {g.op("Mul", {x, a}), g.scalar(0.5, DType::Float32)});
}

void expect_same_results(const ir::Model& m, const runtime::NamedValues& feeds, double tol) {
  auto plain = run(m, feeds, 1, false);
  auto fast = run(m, feeds, 2, true);
  ASSERT_EQ(plain.size(), fast.size());
  for (size_t i = 0; i < plain.size(); ++i)
    expect_close(fast[i], plain[i], tol, "output " + std::to_string(i));
}

TEST(FuseGelu, ErfFormBecomesOneGelu) {
  for (int64_t opset : {17, 20}) {
    ir::Model m;
    m.set_opset("", opset);
    ir::GraphBuilder g(*m.graph);
    std::string x = g.input("x", float_of({3, 50}));
    g.output(gelu_erf(g, x));
    runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
    auto r = runtime::fuse_gelu(m.graph, ctx);
    ASSERT_EQ(r->nodes.size(), 1u) << opset;
    EXPECT_EQ(r->nodes[0].op_type, "Gelu");
    EXPECT_EQ(r->nodes[0].domain, opset >= 20 ? "" : ops::kRuntimeDomain);
    runtime::PassContext standard(m, runtime::PassLevel::Standard);
    EXPECT_EQ(runtime::fuse_gelu(m.graph, standard) == m.graph, opset < 20)
        << "below opset 20 Gelu is not a standard op";
    expect_same_results(m, {{"x", testing::random_tensor({3, 50}, 1, -5, 5)}}, 1e-6);
  }
}

TEST(FuseGelu, OtherConstantsAndSharedValuesStay) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({4}));
  // Not a GELU: divides by 2, not sqrt(2).
  std::string e = g.op("Erf", {g.op("Div", {x, g.scalar(2, DType::Float32)})});
  std::string a = g.op("Add", {e, g.scalar(1, DType::Float32)});
  g.output(g.op("Mul", {g.op("Mul", {x, a}), g.scalar(0.5, DType::Float32)}));
  // A GELU whose Erf is also read elsewhere.
  std::string e2 = g.op("Erf", {g.op("Div", {x, g.scalar(1.4142135381698608, DType::Float32)})});
  std::string a2 = g.op("Add", {e2, g.scalar(1, DType::Float32)});
  g.output(g.op("Mul", {g.op("Mul", {x, a2}), g.scalar(0.5, DType::Float32)}));
  g.output(e2);
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  EXPECT_EQ(runtime::fuse_gelu(m.graph, ctx), m.graph);
}

// LayerNormalization as PyTorch writes it below opset 17.
std::string layer_norm_written_out(ir::GraphBuilder& g, const std::string& x, int64_t axis,
                                   int64_t d) {
  std::vector<ir::Attribute> axes{ir::attr("axes", std::vector<int64_t>{axis})};
  std::string mean = g.op("ReduceMean", {x}, axes);
  std::string diff = g.op("Sub", {x, mean});
  std::string var = g.op("ReduceMean", {g.op("Pow", {diff, g.scalar(2, DType::Float32)})}, axes);
  std::string den = g.op("Sqrt", {g.op("Add", {var, g.scalar(1e-5, DType::Float32)})});
  std::string norm = g.op("Div", {diff, den});
  std::string scaled = g.op("Mul", {norm, g.constant("gamma", testing::random_tensor({d}, 2))});
  return g.op("Add", {scaled, g.constant("beta", testing::random_tensor({d}, 3))});
}

TEST(FuseLayerNorm, WrittenOutFormBecomesOneNode) {
  for (int64_t opset : {13, 17}) {
    ir::Model m;
    m.set_opset("", opset);
    ir::GraphBuilder g(*m.graph);
    std::string x = g.input("x", float_of({2, 5, 16}));
    g.output(layer_norm_written_out(g, x, -1, 16));
    runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
    auto r = runtime::fuse_layer_norm(m.graph, ctx);
    ASSERT_EQ(r->nodes.size(), 1u) << opset;
    EXPECT_EQ(r->nodes[0].op_type, "LayerNormalization");
    EXPECT_EQ(r->nodes[0].domain, opset >= 17 ? "" : ops::kRuntimeDomain);
    EXPECT_EQ(r->nodes[0].inputs.size(), 3u);
    EXPECT_FLOAT_EQ(r->nodes[0].attr_float("epsilon", 0), 1e-5f);
    expect_same_results(m, {{"x", testing::random_tensor({2, 5, 16}, 4, -3, 3)}}, 1e-5);
  }
}

TEST(FuseLayerNorm, OtherAxesStay) {
  ir::Model m;
  m.set_opset("", 13);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 16}));
  std::string t = g.op("Transpose", {x});
  g.output(layer_norm_written_out(g, t, 0, 2));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  EXPECT_EQ(runtime::fuse_layer_norm(m.graph, ctx), m.graph);
}

TEST(FuseMatMulBias, BiasAndActivationJoinTheGemm) {
  struct Case {
    const char* what;
    Shape a;
    bool bias;
    std::string act;  // "", "Relu", "Gelu" (the Erf form, fused first)
  };
  for (const Case& c :
       {Case{"3-D A, bias, Relu", {2, 5, 8}, true, "Relu"}, Case{"2-D A, bias", {7, 8}, true, ""},
        Case{"1-D A, bias, GELU", {8}, true, "Gelu"}, Case{"no bias, Relu", {3, 8}, false, "Relu"},
        Case{"big enough to split, GELU", {96, 8}, true, "Gelu"}}) {
    ir::Model m;
    m.set_opset("", 17);
    ir::GraphBuilder g(*m.graph);
    std::string x = g.input("x", float_of(c.a));
    int64_t n = c.a.size() == 2 && c.a[0] == 96 ? 4096 : 6;
    std::string y = g.op("MatMul", {x, g.constant("w", testing::random_tensor({8, n}, 5))});
    if (c.bias) y = g.op("Add", {g.constant("b", testing::random_tensor({n}, 6)), y});
    if (c.act == "Relu") y = g.op("Relu", {y});
    if (c.act == "Gelu") y = gelu_erf(g, y);
    g.output(y);
    auto r = runtime::optimize_graph(m.graph, m, runtime::PassLevel::Runtime);
    ASSERT_EQ(r->nodes.size(), 1u) << c.what;
    EXPECT_EQ(r->nodes[0].op_type, "MatMulBias") << c.what;
    EXPECT_EQ(r->nodes[0].attr_string("activation", ""), c.act) << c.what;
    expect_same_results(m, {{"x", testing::random_tensor(c.a, 7, -2, 2)}}, 1e-6);
  }
}

// PyTorch's Linear exports as Gemm(transB=1) with a 1-D C; the Relu after it joins.
TEST(FuseMatMulBias, GemmWithAnActivationJoinsToo) {
  for (bool trans_b : {false, true}) {
    ir::Model m;
    m.set_opset("", 17);
    ir::GraphBuilder g(*m.graph);
    std::string x = g.input("x", float_of({5, 12}));
    Shape ws = trans_b ? Shape{7, 12} : Shape{12, 7};
    std::vector<ir::Attribute> attrs{ir::attr("transB", int64_t{trans_b ? 1 : 0})};
    std::string y = g.op("Gemm",
                         {x, g.constant("w", testing::random_tensor(ws, 1)),
                          g.constant("b", testing::random_tensor({7}, 2))},
                         attrs);
    g.output(g.op("Relu", {y}));
    // Alone, or scaled, a Gemm stays.
    std::string lone = g.op("Gemm", {x, g.constant("w", testing::random_tensor(ws, 3))}, attrs);
    attrs.push_back(ir::attr("alpha", 0.5f));
    std::string scaled = g.op("Gemm", {x, g.constant("w", testing::random_tensor(ws, 4))}, attrs);
    g.output(lone);
    g.output(g.op("Relu", {scaled}));
    auto r = runtime::fuse_matmul_bias(m.graph);
    int fused = 0, gemms = 0;
    for (const auto& n : r->nodes) {
      fused += n.op_type == "MatMulBias";
      gemms += n.op_type == "Gemm";
    }
    EXPECT_EQ(fused, 1) << trans_b;
    EXPECT_EQ(gemms, 2) << trans_b;
    expect_same_results(m, {{"x", testing::random_tensor({5, 12}, 5)}}, 1e-6);
  }
}

// A fused Gemm still requires a 2-D A, as Gemm does.
TEST(FuseMatMulBias, FusedGemmRefusesOtherRanks) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32));
  std::string y = g.op("Gemm", {x, g.constant("w", testing::random_tensor({4, 3}, 1))});
  g.output(g.op("Relu", {y}));
  runtime::Session s(m);
  EXPECT_THROW(s.run({{"x", testing::random_tensor({2, 2, 4}, 2)}}), Error);
  EXPECT_EQ(s.run({{"x", testing::random_tensor({2, 4}, 2)}})[0].tensor().shape(), (Shape{2, 3}));
}

TEST(FuseMatMulBias, FedWeightsAndSharedProductsStay) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 8}));
  std::string w = g.input("w", float_of({8, 4}));
  g.output(g.op("Relu", {g.op("MatMul", {x, w})}));  // weights fed: not a constant
  std::string p = g.op("MatMul", {x, g.constant("w2", testing::random_tensor({8, 4}, 1))});
  g.output(g.op("Add", {p, g.constant("b", testing::random_tensor({4}, 2))}));
  g.output(p);  // the product itself is wanted too
  // A bias that broadcasts over rows instead of columns.
  std::string q = g.op("MatMul", {x, g.constant("w3", testing::random_tensor({8, 2}, 3))});
  g.output(g.op("Add", {q, g.constant("rows", testing::random_tensor({2, 1}, 4))}));
  EXPECT_EQ(runtime::fuse_matmul_bias(m.graph), m.graph);
}

}  // namespace
}  // namespace onyx
