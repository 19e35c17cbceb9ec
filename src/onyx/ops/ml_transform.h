// The post_transform of the ai.onnx.ml classifiers and regressors, as the ONNX reference
// implementation defines them (PROBIT uses its closed-form approximation of erf^-1, and
// SOFTMAX_ZERO leaves scores of (almost) zero at zero).
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "onyx/ops/kernel.h"

namespace onyx::ops::ml {

// Numbered as TreeEnsemble-5's post_transform attribute.
enum class PostTransform { None = 0, Softmax = 1, Logistic = 2, SoftmaxZero = 3, Probit = 4 };

// The string attribute "post_transform" of the older ops.
inline PostTransform post_transform_named(const KernelInfo& info) {
  std::string s = info.node.attr_string("post_transform", "NONE");
  if (s == "NONE") return PostTransform::None;
  if (s == "SOFTMAX") return PostTransform::Softmax;
  if (s == "LOGISTIC") return PostTransform::Logistic;
  if (s == "SOFTMAX_ZERO") return PostTransform::SoftmaxZero;
  if (s == "PROBIT") return PostTransform::Probit;
  info.fail(ErrorKind::InvalidModel,
            "post_transform must be NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO or PROBIT, not '", s,
            "'");
}

// The int attribute "post_transform" of TreeEnsemble-5.
inline PostTransform post_transform_numbered(const KernelInfo& info) {
  int64_t v = info.node.attr_int("post_transform", 0);
  if (v < 0 || v > 4) info.fail(ErrorKind::InvalidModel, "post_transform must be 0 to 4, not ", v);
  return static_cast<PostTransform>(v);
}

inline double logistic(double v) {
  double e = 1.0 / (1.0 + std::exp(-std::abs(v)));  // exp of a non-positive number: no overflow
  return v < 0 ? 1.0 - e : e;
}

// Winitzki's approximation (a = 0.147), as the reference and onnxruntime compute it.
inline double erf_inv(double x) {
  double sgn = x < 0 ? -1.0 : 1.0;
  x = (1.0 - x) * (1.0 + x);
  if (x == 0) return 0;
  double lg = std::log(x);
  double v = 2.0 / (std::numbers::pi * 0.147) + 0.5 * lg;
  double v2 = 1.0 / 0.147 * lg;
  return sgn * std::sqrt(-v + std::sqrt(v * v - v2));
}

inline double probit(double v) {
  return 1.41421356 * erf_inv(v * 2 - 1);
}

inline void softmax(double* v, int64_t n) {
  if (n <= 0) return;
  double mx = *std::max_element(v, v + n), sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += v[i] = std::exp(v[i] - mx);
  for (int64_t i = 0; i < n; ++i) v[i] /= sum;
}

// As softmax, but a score within 1e-7 of zero stays (nearly) zero, and an all-zero row
// becomes 0.5 everywhere.
inline void softmax_zero(double* v, int64_t n) {
  if (n <= 0) return;
  double mx = *std::max_element(v, v + n), scale = std::exp(-mx), sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = (v[i] > 1e-7 || v[i] < -1e-7) ? std::exp(v[i] - mx) : v[i] * scale;
    sum += v[i];
  }
  for (int64_t i = 0; i < n; ++i) v[i] = sum == 0 ? 0.5 : v[i] / sum;
}

// Applies `t` to one row of n scores in place.
inline void apply(PostTransform t, double* v, int64_t n) {
  switch (t) {
    case PostTransform::None:
      break;
    case PostTransform::Softmax:
      softmax(v, n);
      break;
    case PostTransform::Logistic:
      for (int64_t i = 0; i < n; ++i) v[i] = logistic(v[i]);
      break;
    case PostTransform::SoftmaxZero:
      softmax_zero(v, n);
      break;
    case PostTransform::Probit:
      for (int64_t i = 0; i < n; ++i) v[i] = probit(v[i]);
      break;
  }
}

// Index of the first largest of n scores.
inline int64_t argmax(const double* v, int64_t n) {
  return static_cast<int64_t>(std::max_element(v, v + n) - v);
}

}  // namespace onyx::ops::ml
