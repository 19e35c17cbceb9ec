// The vectorisable float functions of ops/fast_math.h against double-precision libm, on
// every float of dense grids over their ranges, and at the ends (infinities, NaN).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "onyx/ops/fast_math.h"
#include "test_util.h"

namespace onyx {
namespace {

template <typename F, typename R>
double worst_relative(double lo, double hi, double step, F f, R ref, double floor = 1e-30) {
  double worst = 0;
  for (double v = lo; v <= hi; v += step) {
    float x = static_cast<float>(v);
    double want = ref(static_cast<double>(x));
    if (std::abs(want) < floor) continue;
    worst = std::max(worst, std::abs(f(x) - want) / std::abs(want));
  }
  return worst;
}

TEST(FastMath, ExpWithinAFewUlps) {
  // Over the unclamped range: float's ulp is 1.2e-7 relative at most.
  double worst =
      worst_relative(-87.0, 88.3, 3e-4, ops::exp_f32, [](double x) { return std::exp(x); });
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(ops::exp_f32(0.0f), 1.0f);
  // Far below, 0 (e^-inf exactly: masked softmax entries); far above, finite; NaN stays NaN.
  EXPECT_EQ(ops::exp_f32(-1000.0f), 0.0f);
  EXPECT_EQ(ops::exp_f32(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isfinite(ops::exp_f32(1000.0f)));
  EXPECT_TRUE(std::isnan(ops::exp_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST(FastMath, SigmoidWithinAFewUlps) {
  double worst = worst_relative(
      -80.0, 80.0, 2e-4, ops::sigmoid_f32, [](double x) { return 1.0 / (1.0 + std::exp(-x)); },
      1e-30);
  EXPECT_LT(worst, 3e-7);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ops::sigmoid_f32(inf), 1.0f);
  EXPECT_LT(ops::sigmoid_f32(-inf), 1e-37f);
  EXPECT_GE(ops::sigmoid_f32(-inf), 0.0f);
  EXPECT_TRUE(std::isnan(ops::sigmoid_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST(FastMath, ErfWithinAFewUlps) {
  // Relative error everywhere, the tiny arguments near 0 included (a fit with only an
  // absolute bound would fail there).
  double worst =
      worst_relative(-6.0, 6.0, 1e-5, ops::erf_f32, [](double x) { return std::erf(x); });
  EXPECT_LT(worst, 4e-7);
  double tiny =
      worst_relative(-1e-3, 1e-3, 1e-8, ops::erf_f32, [](double x) { return std::erf(x); });
  EXPECT_LT(tiny, 2e-7);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ops::erf_f32(inf), 1.0f);
  EXPECT_EQ(ops::erf_f32(-inf), -1.0f);
  EXPECT_EQ(ops::erf_f32(0.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ops::erf_f32(std::numeric_limits<float>::quiet_NaN())));
}

// Softmax over contiguous float rows takes the vectorised path: against a double
// reference, with rows shorter and longer than the 8 lanes, and -inf (masked) entries
// exactly 0.
TEST(FastMath, SoftmaxRowsMatchDoubleAndMaskToZero) {
  for (int64_t n : {3, 8, 13, 197}) {
    Tensor x = testing::random_tensor({4, n}, static_cast<uint32_t>(n), -20, 20);
    x.data<float>()[1] = -std::numeric_limits<float>::infinity();  // row 0, entry 1
    Tensor y = testing::run_model(testing::single_node_model("Softmax", 1, 1), {x})[0].tensor();
    for (int64_t r = 0; r < 4; ++r) {
      const float* row = x.data<float>() + r * n;
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; ++j) m = std::max(m, double(row[j]));
      // x - max is a float difference in the kernel (as it was before the fast path): the
      // reference rounds it the same way, then works in double.
      auto shifted = [&](int64_t j) { return double(row[j] - static_cast<float>(m)); };
      for (int64_t j = 0; j < n; ++j) sum += std::exp(shifted(j));
      for (int64_t j = 0; j < n; ++j) {
        double want = std::exp(shifted(j)) / sum;
        EXPECT_NEAR(y.data<float>()[r * n + j], want, 1e-6 * want + 1e-30)
            << n << " " << r << " " << j;
      }
    }
    EXPECT_EQ(y.data<float>()[1], 0.0f) << "a -inf logit gives exactly 0";
  }
}

}  // namespace
}  // namespace onyx
