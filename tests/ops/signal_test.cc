// DFT past the direct sum's lengths (FFT: radix 2 and Bluestein) against a float64 direct
// reference, forward and inverse, real and complex; and a length the direct sum could not
// finish in reasonable time.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::run_model;
using testing::single_node_model;

// [1, n, 2] complex float64 signal, values from a fixed formula.
Tensor signal(int64_t n, bool complex) {
  std::vector<double> v(static_cast<size_t>(2 * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    v[2 * j] = std::sin(0.3 * static_cast<double>(j)) + 0.01 * static_cast<double>(j % 7);
    if (complex) v[2 * j + 1] = std::cos(0.17 * static_cast<double>(j * j % 101));
  }
  return Tensor::from_vector<double>({1, n, 2}, v);
}

TEST(Signal, DftMatchesTheDirectSumAtEveryLength) {
  for (int64_t n : {65, 100, 127, 128, 1000, 1024}) {
    for (bool inverse : {false, true}) {
      Tensor x = signal(n, true);
      auto y = run_model(single_node_model("DFT", 1, 1, {attr_int("inverse", inverse)}, 17), {x});
      const double* got = y[0].tensor().data<double>();
      const double* in = x.data<double>();
      double worst = 0, scale = 0;
      for (int64_t k = 0; k < n; ++k) {
        std::complex<long double> acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          long double angle = (inverse ? 2.0L : -2.0L) * M_PIl *
                              static_cast<long double>(j * k % n) / static_cast<long double>(n);
          acc += std::complex<long double>(in[2 * j], in[2 * j + 1]) *
                 std::complex<long double>(std::cos(angle), std::sin(angle));
        }
        if (inverse) acc /= static_cast<long double>(n);
        worst = std::max({worst, std::abs(static_cast<double>(acc.real()) - got[2 * k]),
                          std::abs(static_cast<double>(acc.imag()) - got[2 * k + 1])});
        scale = std::max(scale, static_cast<double>(std::abs(acc)));
      }
      EXPECT_LT(worst, 1e-11 * scale) << "n " << n << (inverse ? " inverse" : "");
    }
  }
}

// 4096 ones zero-padded to 2^18: X[0] is 4096, and X[k] is 0 at every multiple of 64.
TEST(Signal, LongDftLengthsAreFast) {
  const int64_t len = 4096, n = int64_t{1} << 18;
  Tensor x = Tensor::from_vector<float>({1, len, 1}, std::vector<float>(len, 1.0f));
  ir::Model m = single_node_model("DFT", 2, 1, {}, 17);
  auto y = run_model(m, {x, Tensor::scalar<int64_t>(n)});
  const Tensor& out = y[0].tensor();
  ASSERT_EQ(out.shape(), (Shape{1, n, 2}));
  const float* v = out.data<float>();
  EXPECT_NEAR(v[0], 4096.0f, 1e-3);
  for (int64_t k : {int64_t{64}, int64_t{640}, n - 64}) {
    EXPECT_NEAR(v[2 * k], 0.0f, 1e-3) << k;
    EXPECT_NEAR(v[2 * k + 1], 0.0f, 1e-3) << k;
  }
}

}  // namespace
}  // namespace onyx
