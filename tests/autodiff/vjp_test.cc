// The VJP builder on graphs whose shapes are only partly known.
#include <gtest/gtest.h>

#include <algorithm>

#include "onyx/autodiff/vjp.h"
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

}  // namespace
}  // namespace onyx
