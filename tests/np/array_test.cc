// The lazy array API: values computed on demand, NumPy semantics, grad/value_and_grad
// against derivatives known in closed form, jit tracing once per signature.
#include "onyx/np/array.h"

#include <gtest/gtest.h>

#include <sstream>

#include "onyx/np/expr.h"
#include "onyx/np/grad.h"

namespace onyx {
namespace {

using np::Array;

void expect_values(const Array& a, std::vector<float> want, float tol = 1e-6f) {
  std::vector<float> got = a.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << i;
}

TEST(NpArray, LazyUntilAsked) {
  Array x = np::array({1, 2, 3, 4}, {2, 2});
  Array y = (x.matmul(x) + 1.0f).relu().sum();
  EXPECT_FALSE(y.expr()->value.defined()) << "nothing is computed while building";
  EXPECT_FLOAT_EQ(y.item(), 58);  // [[7,10],[15,22]] + 1, summed
  EXPECT_TRUE(y.expr()->value.defined()) << "and the value is kept";
  std::ostringstream s;
  s << x.transpose();
  EXPECT_EQ(s.str(), "[[1, 3], [2, 4]]");
  EXPECT_NE(x.matmul(x).to_dot().find("MatMul"), std::string::npos);
}

TEST(NpArray, NumPySemantics) {
  Array a = np::array({1, 2, 3, 4, 5, 6}, {2, 3});
  Array row = np::array({10, 20, 30}, {3});
  expect_values(a + row, {11, 22, 33, 14, 25, 36});  // broadcasting
  expect_values(a * 2.0f - 1.0f, {1, 3, 5, 7, 9, 11});
  expect_values(a.sum({1}), {6, 15});
  expect_values(a.mean({0}, true), {2.5, 3.5, 4.5});
  EXPECT_EQ(a.mean({0}, true).shape(), (Shape{1, 3}));
  expect_values(a.max(), {6});
  EXPECT_FLOAT_EQ((a * 10.0f).at({1, 2}), 60);
  EXPECT_FLOAT_EQ(a.at({-1, 0}), 4);
  EXPECT_THROW(a.at({2, 0}), Error);
  expect_values(a.reshape({3, 2}).slice(0, 1, 3), {3, 4, 5, 6});
  expect_values(np::where(a > 3.0f, a, np::zeros({2, 3})), {0, 0, 0, 4, 5, 6});
  expect_values(a.softmax().sum({1}), {1, 1}, 1e-6f);
  expect_values((a == 2.0f).astype(DType::Float32), {0, 1, 0, 0, 0, 0});
  expect_values(np::array({4, 9}, {2}).sqrt(), {2, 3});
  EXPECT_THROW(np::array({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(a.matmul(a).value(), Error);  // [2,3] x [2,3]
}

TEST(NpGrad, ClosedFormDerivatives) {
  // d/dw sum(3 w^2) = 6 w
  auto f = [](const std::vector<Array>& p) { return (p[0] * p[0] * 3.0f).sum(); };
  Array w = np::array({1, -2, 0.5}, {3});
  expect_values(np::grad(f)({w})[0], {6, -12, 3});
  // d/da sum(a*b) = b, d/db = a; and the value in the same run.
  auto g = [](const std::vector<Array>& p) { return (p[0] * p[1]).sum(); };
  Array a = np::array({1, 2}, {2}), b = np::array({3, 4}, {2});
  auto [value, grads] = np::value_and_grad(g)({a, b});
  EXPECT_FLOAT_EQ(value.item(), 11);
  expect_values(grads[0], {3, 4});
  expect_values(grads[1], {1, 2});
  // Through matmul, broadcasting and a reduction: loss = mean((x w - y)^2).
  Array x = np::array({1, 2, 3, 4}, {2, 2}), y = np::array({1, 0}, {2, 1});
  auto loss = [&](const std::vector<Array>& p) {
    Array r = x.matmul(p[0]) - y;
    return (r * r).mean();
  };
  Array w0 = np::array({0.5, -0.5}, {2, 1});
  // r = [-0.5-1, -0.5-0] = [-1.5, -0.5]; dL/dw = 2/2 * x^T r = [1*-1.5+3*-0.5, 2*-1.5+4*-0.5]
  expect_values(np::grad(loss)({w0})[0], {-3, -5});
  auto non_scalar = [](const std::vector<Array>& p) { return p[0] * 2.0f; };
  EXPECT_THROW(np::grad(non_scalar)({w}), Error);
}

TEST(NpJit, TracesOncePerSignature) {
  int traces = 0;
  auto f = [&](const std::vector<Array>& p) {
    ++traces;
    return (p[0] * 2.0f + 1.0f).relu();
  };
  np::Function fast = np::jit(f);
  expect_values(fast({np::array({-1, 1}, {2})}), {0, 3});
  expect_values(fast({np::array({-3, 4}, {2})}), {0, 9});
  EXPECT_EQ(traces, 1) << "same shape: the plan is reused";
  expect_values(fast({np::array({1, 2, 3}, {3})}), {3, 5, 7});
  EXPECT_EQ(traces, 2) << "new shape: traced again";
  // Asking for a value while tracing is a clear error.
  auto peek = [](const std::vector<Array>& p) {
    p[0].value();
    return p[0];
  };
  try {
    np::jit(peek)({np::array({1}, {1})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("traced function"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace onyx
