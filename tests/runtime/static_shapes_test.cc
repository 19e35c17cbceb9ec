// runtime/static_shapes.h against the runtime itself: every value the rules type gets, when
// the graph runs, exactly the element type and shape they said.
#include <gtest/gtest.h>

#include <limits>

#include "../ops/test_util.h"
#include "onyx/ir/builder.h"
#include "onyx/runtime/session.h"
#include "onyx/runtime/static_shapes.h"

namespace onyx {
namespace {

Tensor int64s(std::vector<int64_t> v) {
  Tensor t = Tensor::empty(DType::Int64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// Every node output becomes a graph output; each one the rules typed must match the run.
void expect_rules_match_the_run(ir::Model& m, const runtime::NamedValues& feeds,
                                size_t expect_typed) {
  ir::Graph& g = *m.graph;
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) g.outputs.push_back({o, {}, ""});
  }
  runtime::StaticTypes types = runtime::static_types(g);
  runtime::SessionOptions so;
  so.optimize = false;
  runtime::Session s(m, so);
  std::vector<Value> out = s.run(feeds);
  size_t typed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = types.find(g.outputs[i].name);
    if (it == types.end()) continue;
    ++typed;
    const std::string& who = g.outputs[i].name;
    ASSERT_TRUE(out[i].is_tensor()) << who;
    EXPECT_EQ(out[i].tensor().dtype(), it->second.dtype) << who;
    EXPECT_EQ(out[i].tensor().shape(), it->second.shape) << who;
  }
  EXPECT_EQ(typed, expect_typed) << "values the rules should have typed";
}

TEST(StaticShapes, RulesAgreeWithTheRuntime) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", ir::TypeInfo::tensor(DType::Float32, Shape{2, 3, 4}));
  std::string v = g.input("v", ir::TypeInfo::tensor(DType::Float32, Shape{4}));
  auto i64 = [&](std::vector<int64_t> vals) { return g.constant("c", int64s(std::move(vals))); };
  std::string t = g.op("Transpose", {x}, {ir::attr("perm", std::vector<int64_t>{2, 0, 1})});
  g.op("Transpose", {x});
  g.op("Add", {x, v});
  g.op("Less", {v, x});
  g.op("Where", {g.op("Greater", {x, v}), x, v});
  g.op("Cast", {x}, {ir::attr("to", int64_t{7})});
  g.op("MatMul", {x, g.constant("w", testing::random_tensor({4, 5}, 1))});
  g.op("MatMul", {v, g.constant("w", testing::random_tensor({2, 4, 3}, 2))});
  g.op("Gemm",
       {g.op("Reshape", {x, i64({6, 4})}), g.constant("b", testing::random_tensor({5, 4}, 3))},
       {ir::attr("transB", int64_t{1})});
  g.op("Reshape", {x, i64({0, -1})});
  g.op("Flatten", {t}, {ir::attr("axis", int64_t{2})});
  std::string u = g.op("Unsqueeze", {x, i64({0, -1})});
  g.op("Squeeze", {u, i64({0})});
  g.op("Squeeze", {u});
  g.op("Shape", {x}, {ir::attr("start", int64_t{-2})});
  g.op("Size", {t});
  g.op("Concat", {x, x}, {ir::attr("axis", int64_t{-1})});
  g.op("Gather", {x, i64({2, 0})}, {ir::attr("axis", int64_t{1})});
  int64_t big = std::numeric_limits<int64_t>::max();
  g.op("Slice", {x, i64({1}), i64({big}), i64({1})});
  g.op("Slice", {x, i64({-1, 3}), i64({-big, 0}), i64({2, 1}), i64({-1, -2})});
  g.op("Slice", {x, i64({0}), i64({-1}), i64({-1}), i64({3})});
  g.op("Relu", {g.op("Softmax", {t})});
  runtime::NamedValues feeds{{"x", testing::random_tensor({2, 3, 4}, 4)},
                             {"v", testing::random_tensor({4}, 5)}};
  expect_rules_match_the_run(m, feeds, 25);  // every node here has a rule
}

// Unknown dimensions stay unknown downstream; nothing is guessed.
TEST(StaticShapes, SymbolicInputsTypeNothing) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  ir::TypeInfo open = ir::TypeInfo::tensor(DType::Float32, Shape{2, 3});
  (*open.shape)[0] = {std::nullopt, "batch", ""};
  std::string x = g.input("x", open);
  g.output(g.op("Shape", {g.op("Relu", {x})}));
  runtime::StaticTypes types = runtime::static_types(*m.graph);
  EXPECT_EQ(types.size(), 0u);
}

}  // namespace
}  // namespace onyx
