// float exp, sigmoid and erf written so that the compiler vectorises them in elementwise
// loops (branch-free, no libm calls): libm's scalar expf / erff made Sigmoid 57% of
// EfficientNet-B0's time and Erf (GELU) 20% of ConvNeXt's. Accurate to a few float ulps;
// tests/ops/fast_math_test.cc checks them against double-precision libm over their ranges.
#pragma once

#include <bit>
#include <cstdint>

namespace onyx::ops {

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor polynomial to r^7 (error below
// 2e-8 relative on that interval), 2^n built in the exponent bits. Below -87.3 the result
// is 0 (the true value is under 1.2e-38, and e^-inf, a masked softmax entry, is exactly
// 0); above 88.37 it is 3.4e38 instead of inf. Callers that need denormals or inf (the
// Exp op) use std::exp.
inline float exp_f32(float x) {
  float in = x;
  x = x < -87.3f ? -87.3f : (x > 88.37f ? 88.37f : x);
  // n = round(x / ln2) by adding 1.5 * 2^23, where the float's spacing is 1 (floorf would
  // not vectorise without -fno-trapping-math); the sum's low bits hold n.
  float shifted = x * 1.44269504088896341f + 12582912.0f;
  float n = shifted - 12582912.0f;
  // r = x - n ln2, with ln2 split in two so that n * hi is exact.
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (std::bit_cast<int32_t>(shifted) - 0x4B400000 + 127) << 23;
  float e = p * std::bit_cast<float>(bits);
  return in < -87.3f ? 0.0f : e;
}

// 1 / (1 + e^-x); the clamp inside exp_f32 keeps the denominator finite.
inline float sigmoid_f32(float x) {
  return 1.0f / (1.0f + exp_f32(-x));
}

// erf: below |x| = 1 its Maclaurin series (terms to x^21, relative error below 1e-8 there),
// from 1 up Abramowitz and Stegun's 7.1.26 (absolute error below 1.5e-7, relative below
// 2e-7 where erf >= 0.84). Both are computed and one chosen, so the loop stays branch-free.
inline float erf_f32(float x) {
  float a = x < 0 ? -x : x, s = x * x;
  // 2/sqrt(pi) * (-1)^n / (n! (2n + 1)), n = 10 down to 0.
  constexpr float c[] = {1.480719282e-08f, -1.636584469e-07f, 1.646211437e-06f, -1.492565036e-05f,
                         1.205533298e-04f, -8.548327023e-04f, 5.223977625e-03f, -2.686617065e-02f,
                         1.128379167e-01f, -3.761263890e-01f, 1.128379167e+00f};
  float small = c[0];
  for (int k = 1; k < 11; ++k) small = small * s + c[k];
  small *= a;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  float large = 1.0f - q * t * exp_f32(-s);
  float y = a < 1.0f ? small : large;
  return x < 0 ? -y : y;
}

}  // namespace onyx::ops
