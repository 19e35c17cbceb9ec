// The VJP builder on graphs whose shapes are only partly known.
#include <gtest/gtest.h>

#include <algorithm>

#include "onyx/autodiff/vjp.h"
#include "onyx/ir/builder.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

ir::TypeInfo float_of(std::vector<ir::Dim> dims) {
  return ir::TypeInfo::tensor(DType::Float32, std::move(dims));
}

// y = Add(x, b) with symbolic leading dimensions `xn` and `bn`.
ir::Model add_model(const std::string& xn, const std::string& bn) {
  ir::Model m;
  m.set_opset("", 17);
  ir::Graph& g = *m.graph;
  g.inputs.push_back({"x", float_of({{std::nullopt, xn, ""}, {3, "", ""}}), ""});
  g.inputs.push_back({"b", float_of({{std::nullopt, bn, ""}, {3, "", ""}}), ""});
  ir::Node n;
  n.name = "add";
  n.op_type = "Add";
  n.inputs = {"x", "b"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  g.outputs.push_back({"y", {}, ""});
  return m;
}

std::vector<Value> run_grad(const ir::Model& grad, const Tensor& x, const Tensor& b) {
  runtime::Session s(grad);
  Tensor seed = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  return s.run({{"x", x}, {"b", b}, {"y_grad", seed}});
}

// Two different symbols: b's leading size may be 1 at run time, so its gradient must be
// summed over that axis then, and only then.
TEST(Vjp, DifferentSymbolsMayBroadcast) {
  autodiff::GradOptions o;
  o.wrt = {"x", "b"};
  ir::Model grad = autodiff::build_gradient_model(add_model("N", "M"), o);
  Tensor x = Tensor::zeros(DType::Float32, {2, 3});
  auto out = run_grad(grad, x, Tensor::zeros(DType::Float32, {1, 3}));
  EXPECT_EQ(out[2].tensor().shape(), (Shape{1, 3}));
  EXPECT_EQ(out[2].tensor().to_vector<float>(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(out[1].tensor().to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  out = run_grad(grad, x, Tensor::zeros(DType::Float32, {2, 3}));
  EXPECT_EQ(out[2].tensor().to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// The same symbol on both sides: the sizes are equal, no reduction is emitted at all.
TEST(Vjp, SameSymbolNeedsNoReduction) {
  autodiff::GradOptions o;
  o.wrt = {"b"};
  ir::Model grad = autodiff::build_gradient_model(add_model("N", "N"), o);
  for (const auto& n : grad.graph->nodes) EXPECT_NE(n.op_type, "ReduceSum");
  auto out =
      run_grad(grad, Tensor::zeros(DType::Float32, {2, 3}), Tensor::zeros(DType::Float32, {2, 3}));
  EXPECT_EQ(out[1].tensor().to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// A Loop whose trip count is a graph input `trips`, carrying `carried` (float x, or an int64
// counter), next to y = x * x.
ir::Model loop_model(bool carry_x) {
  ir::Model m;
  m.set_opset("", 17);
  ir::Graph& g = *m.graph;
  ir::GraphBuilder b(g);
  b.input("x", ir::TypeInfo::tensor(DType::Float32, Shape{3}));
  b.input("trips", ir::TypeInfo::tensor(DType::Int64, Shape{}));
  auto body = std::make_shared<ir::Graph>();
  body->name = "body";
  ir::GraphBuilder bb(*body);
  bb.input("i", ir::TypeInfo::tensor(DType::Int64, Shape{}));
  bb.input("cond", ir::TypeInfo::tensor(DType::Bool, Shape{}));
  DType t = carry_x ? DType::Float32 : DType::Int64;
  std::string s = bb.input("s", ir::TypeInfo::tensor(t, carry_x ? Shape{3} : Shape{}));
  bb.output("cond", ir::TypeInfo::tensor(DType::Bool, Shape{}));
  bb.output(bb.op("Add", {s, s}), ir::TypeInfo::tensor(t));
  std::string init = carry_x ? "x" : b.constant("one", Tensor::scalar<int64_t>(1));
  std::string out = b.add("Loop", {"trips", "", init}, {ir::attr("body", body)})[0];
  g.nodes.back().name = "loop";
  g.outputs.push_back({out, {}, ""});
  g.outputs.push_back({b.op("Mul", {"x", "x"}), {}, ""});
  return m;
}

// A Loop that cannot be unrolled (its trip count is fed at run time) is differentiated by
// a backward Loop over its recorded iterations: x doubled `trips` times has gradient 2^trips.
TEST(Vjp, LoopOfRunTimeLengthGetsABackwardLoop) {
  autodiff::GradOptions o;
  o.wrt = {"x"};
  ir::Model grad = autodiff::build_gradient_model(loop_model(true), o);
  auto loops = std::count_if(grad.graph->nodes.begin(), grad.graph->nodes.end(),
                             [](const ir::Node& n) { return n.op_type == "Loop"; });
  EXPECT_EQ(loops, 2);
  runtime::Session s(grad);
  Tensor x = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor ones = Tensor::from_vector<float>({3}, {1, 1, 1});
  Tensor zeros = Tensor::from_vector<float>({3}, {0, 0, 0});
  for (int64_t trips : {0, 1, 4}) {
    auto out = s.run({{"x", x},
                      {"trips", Tensor::scalar<int64_t>(trips)},
                      {"Loop_out0_grad", ones},
                      {"Mul_out0_grad", zeros}});
    float scale = static_cast<float>(1 << trips);
    EXPECT_EQ(out[0].tensor().to_vector<float>(),
              (std::vector<float>{scale, 2 * scale, 3 * scale}));
    EXPECT_EQ(out.back().tensor().to_vector<float>(), (std::vector<float>{scale, scale, scale}))
        << trips << " iterations";
  }
}

// ... and left alone when it is not: here it only doubles an int64.
TEST(Vjp, LoopOffThePathStays) {
  autodiff::GradOptions o;
  o.wrt = {"x"};
  ir::Model grad = autodiff::build_gradient_model(loop_model(false), o);
  runtime::Session s(grad);
  Tensor x = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor seed = Tensor::from_vector<float>({3}, {1, 1, 2});
  auto out = s.run({{"x", x}, {"trips", Tensor::scalar<int64_t>(4)}, {"Mul_out0_grad", seed}});
  EXPECT_EQ(out[0].tensor().to_vector<int64_t>(), std::vector<int64_t>{16});  // 1 doubled 4 times
  EXPECT_EQ(out.back().tensor().to_vector<float>(), (std::vector<float>{2, 4, 12}));
}

}  // namespace
}  // namespace onyx
