// Reductions read in place (sums of terms over float and double) against a reference that
// folds each output's elements one by one, over axis patterns that exercise each case of
// the engine: innermost axis reduced or kept, reduced axes split by kept ones, size-1
// axes, empty reductions and all axes.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::random_tensor;
using testing::run_model;
using testing::single_node_model;

// The reference: for every output position, the terms of its elements in double.
std::vector<double> reference(const std::string& op, const Tensor& x,
                              const std::vector<int64_t>& axes) {
  const Shape& s = x.shape();
  std::vector<bool> red(s.size(), axes.empty());
  for (int64_t a : axes) red[static_cast<size_t>(a)] = true;
  int64_t outputs = 1, terms = 1;
  for (size_t d = 0; d < s.size(); ++d) (red[d] ? terms : outputs) *= s[d];
  std::vector<double> sum(static_cast<size_t>(outputs), 0.0);
  std::vector<int64_t> idx(s.size(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0;
    for (size_t d = 0; d < s.size(); ++d)
      if (!red[d]) o = o * s[d] + idx[d];
    double v = x.element_as_double(i);
    if (op == "ReduceL1") v = std::fabs(v);
    if (op == "ReduceL2" || op == "ReduceSumSquare") v = v * v;
    sum[static_cast<size_t>(o)] += v;
    for (size_t d = s.size(); d-- > 0;) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
  for (double& v : sum) {
    if (op == "ReduceMean") v = terms ? v / static_cast<double>(terms) : NAN;
    if (op == "ReduceL2") v = std::sqrt(v);
    if (op == "ReduceLogSum") v = std::log(v);
  }
  return sum;
}

struct Case {
  Shape shape;
  std::vector<int64_t> axes;
};

TEST(Reduce, SumsInPlaceMatchElementByElement) {
  const std::vector<Case> cases = {
      {{64, 16, 7, 7}, {0, 2, 3}},  // a convolution's bias gradient: inner reduced
      {{300, 37}, {0}},             // a batch sum: inner kept
      {{5, 6, 7, 8}, {1, 3}},       // reduced and kept interleaved
      {{5, 6, 7, 8}, {0, 2}},
      {{3, 1, 4, 1, 9}, {1, 2}},  // size-1 axes among them
      {{2, 3, 4}, {}},            // all axes
      {{4, 0, 3}, {1}},           // empty reduction: Sum 0, Mean NaN
      {{1000}, {0}},
  };
  for (DType t : {DType::Float32, DType::Float64}) {
    for (const char* op :
         {"ReduceSum", "ReduceMean", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum"}) {
      for (const Case& c : cases) {
        // ReduceLogSum takes positive values (the log of a sum of signed ones may be NaN).
        double lo = std::string(op) == "ReduceLogSum" ? 0.1 : -1;
        Tensor x = random_tensor(c.shape, 7, lo, 1, t);
        std::vector<int64_t> axes = c.axes;
        // ReduceSum takes axes as an input from opset 13, the others from 18.
        ir::Model m = single_node_model(op, 2, 1, {attr_int("keepdims", 0)}, 18);
        Tensor at = Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes);
        std::vector<double> want = reference(op, x, axes);
        for (int threads : {1, 2}) {
          Tensor y = run_model(m, {x, at}, threads)[0].tensor();
          ASSERT_EQ(y.numel(), static_cast<int64_t>(want.size())) << op;
          double tol = t == DType::Float32 ? 1e-5 : 1e-12;
          for (int64_t i = 0; i < y.numel(); ++i) {
            double w = want[static_cast<size_t>(i)], g = y.element_as_double(i);
            if (!std::isfinite(w)) {  // NaN (an empty Mean) or -inf (an empty LogSum)
              EXPECT_EQ(std::isnan(g), std::isnan(w)) << op << " output " << i;
              if (!std::isnan(w)) {
                EXPECT_EQ(g, w) << op << " output " << i;
              }
              continue;
            }
            EXPECT_NEAR(g, w, tol * std::max(1.0, std::fabs(w)))
                << op << " " << dtype_name(t) << " " << shape_str(c.shape) << " output " << i
                << " threads " << threads;
          }
        }
      }
    }
  }
}

TEST(Reduce, KeepdimsShapeInPlace) {
  Tensor x = random_tensor({4, 5, 6}, 3);
  ir::Model m = single_node_model("ReduceSum", 2, 1, {attr_int("keepdims", 1)}, 13);
  Tensor axes = Tensor::from_vector<int64_t>({2}, {0, 2});
  Tensor y = run_model(m, {x, axes})[0].tensor();
  EXPECT_EQ(y.shape(), (Shape{1, 5, 1}));
  std::vector<double> want = reference("ReduceSum", x, {0, 2});
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(y.element_as_double(i), want[i], 1e-5);
}

}  // namespace
}  // namespace onyx
