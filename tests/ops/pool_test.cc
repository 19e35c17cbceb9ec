// MaxPool's 2x2 stride-2 path for float32 against the general loops (which float64 takes),
// on values with many ties and NaNs, odd sizes, with and without Indices.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_ints;
using testing::run_model;
using testing::single_node_model;

TEST(MaxPool, TwoByTwoPathMatchesTheGeneralLoops) {
  for (const Shape& shape : {Shape{2, 3, 8, 8}, Shape{1, 2, 7, 9}, Shape{3, 1, 2, 2}}) {
    Tensor d = testing::random_tensor(shape, 5, 0, 4, DType::Float64);
    Tensor f = Tensor::empty(DType::Float32, shape);
    for (int64_t i = 0; i < d.numel(); ++i) {
      // Four levels, so that windows tie often; a NaN now and then.
      double v = std::floor(d.data<double>()[i]);
      if (i % 37 == 5) v = NAN;
      d.data<double>()[i] = v;
      f.data<float>()[i] = float(v);
    }
    ir::Model m = single_node_model(
        "MaxPool", 1, 2, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
    for (int threads : {1, 2}) {
      auto want = run_model(m, {d}, threads);
      auto got = run_model(m, {f}, threads);
      ASSERT_EQ(got[0].tensor().shape(), want[0].tensor().shape());
      for (int64_t i = 0; i < want[0].tensor().numel(); ++i) {
        double w = want[0].tensor().element_as_double(i), g = got[0].tensor().element_as_double(i);
        EXPECT_TRUE(std::isnan(w) ? std::isnan(g) : g == w) << shape_str(shape) << " at " << i;
        EXPECT_EQ(got[1].tensor().data<int64_t>()[i], want[1].tensor().data<int64_t>()[i])
            << shape_str(shape) << " index at " << i;
      }
      ir::Model values_only = single_node_model(
          "MaxPool", 1, 1, {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
      // Without Indices, the values of the general loops for float64 too (NaNs never win).
      Tensor yd = run_model(values_only, {d}, threads)[0].tensor();
      Tensor y = run_model(values_only, {f}, threads)[0].tensor();
      for (int64_t i = 0; i < y.numel(); ++i)
        EXPECT_EQ(y.element_as_double(i), yd.element_as_double(i))
            << shape_str(shape) << " at " << i;
    }
  }
}

}  // namespace
}  // namespace onyx
