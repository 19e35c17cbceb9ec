// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
// (the rows are everything from axis on); from 13 they act along the one axis.
#include <cmath>
#include <limits>

#include "onyx/ops/fast_math.h"
#include "onyx/ops/reduce_util.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

enum class Kind { Softmax, LogSoftmax, Hardmax };

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(const KernelInfo& info, Kind kind)
      : kind_(kind),
        coerce_2d_(info.opset < 13),
        axis_(info.node.attr_int("axis", info.opset < 13 ? 1 : -1)) {}
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) ctx.fail(ctx.input_name(0), " must have rank 1 or more");
    int64_t axis = normalize_axis(axis_, x.rank());
    AxisSplit s = split_at_axis(x, axis);
    if (coerce_2d_) {
      s.n *= s.inner;
      s.inner = 1;
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = compute_t<T>;  // double for float64, float for the others
      const T* in = x.data<T>();
      T* out = y.data<T>();
      Kind kind = kind_;
      ctx.pool().parallel_for(
          s.outer * s.inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(s.n, 1)),
          [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
              int64_t o = k / s.inner, i = k % s.inner;
              const T* row = in + o * s.n * s.inner + i;
              T* orow = out + o * s.n * s.inner + i;
              auto at = [&](int64_t j) { return static_cast<A>(row[j * s.inner]); };
              if (kind == Kind::Hardmax) {
                int64_t best = 0;
                for (int64_t j = 1; j < s.n; ++j) {
                  if (at(j) > at(best)) best = j;
                }
                for (int64_t j = 0; j < s.n; ++j)
                  orow[j * s.inner] = static_cast<T>(j == best ? A(1) : A(0));
                continue;
              }
              if constexpr (std::is_same_v<T, float>) {
                if (kind == Kind::Softmax && s.inner == 1) {
                  softmax_row(row, orow, s.n);
                  continue;
                }
              }
              A m = -std::numeric_limits<A>::infinity();
              for (int64_t j = 0; j < s.n; ++j) m = std::max(m, at(j));
              double sum = 0;
              for (int64_t j = 0; j < s.n; ++j) sum += std::exp(static_cast<double>(at(j) - m));
              if (kind == Kind::Softmax) {
                A inv = static_cast<A>(1.0 / sum);
                for (int64_t j = 0; j < s.n; ++j)
                  orow[j * s.inner] = static_cast<T>(std::exp(at(j) - m) * inv);
              } else {
                A lse = m + static_cast<A>(std::log(sum));
                for (int64_t j = 0; j < s.n; ++j) orow[j * s.inner] = static_cast<T>(at(j) - lse);
              }
            }
          });
    });
  }

 private:
  // A contiguous float row, vectorised: the maximum and the sum in 8 independent lanes
  // (a fixed order), exp by exp_f32 (ops/fast_math.h), the exponentials stored once and
  // scaled in place.
  static void softmax_row(const float* x, float* y, int64_t n) {
    float ml[8];
    std::fill_n(ml, 8, -std::numeric_limits<float>::infinity());
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      for (int l = 0; l < 8; ++l) ml[l] = ml[l] < x[j + l] ? x[j + l] : ml[l];
    }
    float m = -std::numeric_limits<float>::infinity();
    for (; j < n; ++j) m = std::max(m, x[j]);
    for (float v : ml) m = std::max(m, v);
    double sl[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (j = 0; j + 8 <= n; j += 8) {
      for (int l = 0; l < 8; ++l) {
        y[j + l] = exp_f32(x[j + l] - m);
        sl[l] += y[j + l];
      }
    }
    double sum = 0;
    for (; j < n; ++j) {
      y[j] = exp_f32(x[j] - m);
      sum += y[j];
    }
    for (double v : sl) sum += v;
    float inv = static_cast<float>(1.0 / sum);
    for (j = 0; j < n; ++j) y[j] *= inv;
  }

  Kind kind_;
  bool coerce_2d_;
  int64_t axis_;
};

template <Kind K>
std::unique_ptr<Kernel> make_softmax(const KernelInfo& info) {
  return std::make_unique<SoftmaxKernel>(info, K);
}

constexpr KernelDef kDefs[] = {
    {"", "Softmax", 1, kLatest, &make_softmax<Kind::Softmax>},
    {"", "LogSoftmax", 1, kLatest, &make_softmax<Kind::LogSoftmax>},
    {"", "Hardmax", 1, kLatest, &make_softmax<Kind::Hardmax>},
};

}  // namespace

void register_softmax_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
