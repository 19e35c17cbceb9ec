// ArgMax, ArgMin, TopK and CumSum: ops that walk one axis of an [outer, n, inner] view.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "onyx/ops/reduce_util.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class ArgKernel final : public Kernel {
 public:
  ArgKernel(const KernelInfo& info, bool max)
      : max_(max),
        axis_(info.node.attr_int("axis", 0)),
        keepdims_(info.node.attr_int("keepdims", 1) != 0),
        last_(info.node.attr_int("select_last_index", 0) != 0) {}
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, std::max<int64_t>(x.rank(), 1));
    AxisSplit s = split_at_axis(x, axis);
    if (s.n == 0) ctx.fail("cannot take ", max_ ? "ArgMax" : "ArgMin", " over an empty axis");
    Shape out = x.shape();
    if (keepdims_)
      out[axis] = 1;
    else
      out.erase(out.begin() + axis);
    Tensor& y = ctx.allocate(0, DType::Int64, out);
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      const T* in = x.data<T>();
      int64_t* o = y.data<int64_t>();
      for (int64_t a = 0; a < s.outer; ++a) {
        for (int64_t i = 0; i < s.inner; ++i) {
          const T* row = in + a * s.n * s.inner + i;
          int64_t best = 0;
          C bv = C(row[0]);
          for (int64_t j = 1; j < s.n; ++j) {
            C v = C(row[j * s.inner]);
            bool better = max_ ? (last_ ? v >= bv : v > bv) : (last_ ? v <= bv : v < bv);
            if (better) {
              best = j;
              bv = v;
            }
          }
          o[a * s.inner + i] = best;
        }
      }
    });
  }

 private:
  bool max_;
  int64_t axis_;
  bool keepdims_, last_;
};

std::unique_ptr<Kernel> make_argmax(const KernelInfo& i) {
  return std::make_unique<ArgKernel>(i, true);
}
std::unique_ptr<Kernel> make_argmin(const KernelInfo& i) {
  return std::make_unique<ArgKernel>(i, false);
}

class TopKKernel final : public Kernel {
 public:
  explicit TopKKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", -1)),
        largest_(info.node.attr_int("largest", 1) != 0),
        legacy_k_(info.opset < 10 ? info.node.attr_int("k", -1) : -1) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TopKKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, x.rank());
    int64_t k = legacy_k_;
    if (k < 0) {
      const Tensor& kt = ctx.input(1);
      if (kt.numel() != 1) ctx.fail(ctx.input_name(1), " must hold one value");
      k = kt.to_int64s()[0];
    }
    AxisSplit s = split_at_axis(x, axis);
    if (k < 0 || k > s.n) ctx.fail("k = ", k, " is outside [0, ", s.n, "] for axis ", axis);
    Shape out = x.shape();
    out[axis] = k;
    Tensor& vals = ctx.allocate(0, x.dtype(), out);
    Tensor& idx = ctx.allocate(1, DType::Int64, out);
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      const T* in = x.data<T>();
      std::vector<int64_t> order(static_cast<size_t>(s.n));
      for (int64_t a = 0; a < s.outer; ++a) {
        for (int64_t i = 0; i < s.inner; ++i) {
          const T* row = in + a * s.n * s.inner + i;
          std::iota(order.begin(), order.end(), 0);
          // Ties keep the smaller index first, as the spec requires.
          auto cmp = [&](int64_t p, int64_t q) {
            C vp = C(row[p * s.inner]), vq = C(row[q * s.inner]);
            if (vp != vq) return largest_ ? vp > vq : vp < vq;
            return p < q;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
          for (int64_t j = 0; j < k; ++j) {
            int64_t at = (a * k + j) * s.inner + i;
            vals.data<T>()[at] = row[order[j] * s.inner];
            idx.data<int64_t>()[at] = order[j];
          }
        }
      }
    });
  }

 private:
  int64_t axis_;
  bool largest_;
  int64_t legacy_k_;
};

class CumSumKernel final : public Kernel {
 public:
  explicit CumSumKernel(const KernelInfo& info)
      : exclusive_(info.node.attr_int("exclusive", 0) != 0),
        reverse_(info.node.attr_int("reverse", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CumSumKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& at = ctx.input(1);
    if (at.numel() != 1) ctx.fail(ctx.input_name(1), " must be a scalar");
    int64_t axis = normalize_axis(at.to_int64s()[0], x.rank());
    AxisSplit s = split_at_axis(x, axis);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t a = 0; a < s.outer; ++a) {
        for (int64_t i = 0; i < s.inner; ++i) {
          C acc = C(0);
          for (int64_t step = 0; step < s.n; ++step) {
            int64_t j = reverse_ ? s.n - 1 - step : step;
            int64_t pos = (a * s.n + j) * s.inner + i;
            C v = C(in[pos]);
            if (exclusive_) {
              out[pos] = T(acc);
              acc = C(acc + v);
            } else {
              acc = C(acc + v);
              out[pos] = T(acc);
            }
          }
        }
      }
    });
  }

 private:
  bool exclusive_, reverse_;
};

constexpr KernelDef kDefs[] = {
    {"", "ArgMax", 1, kLatest, &make_argmax},
    {"", "ArgMin", 1, kLatest, &make_argmin},
    {"", "TopK", 1, kLatest, &TopKKernel::make},
    {"", "CumSum", 11, kLatest, &CumSumKernel::make},
};

}  // namespace

void register_argreduce_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
