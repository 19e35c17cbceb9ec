// ArgMax, ArgMin, TopK, CumSum and CumProd: ops that walk one axis of an [outer, n, inner]
// view.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "onyx/ops/elementwise.h"
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

// CumSum and CumProd: one scan along an axis, parameterised by the operation and its
// identity. Integers accumulate in the unsigned type their promotion gives, so overflow
// wraps (as NumPy's does) instead of being undefined; 16-bit floats accumulate in float.
template <typename T, bool Integral = std::is_integral_v<T>>
struct ScanType {
  using type = compute_t<T>;
};
template <typename T>
struct ScanType<T, true> {
  using type = std::make_unsigned_t<decltype(+T{})>;
};
template <typename T>
using scan_t = typename ScanType<T>::type;

struct SumScan {
  template <typename A>
  static A identity() {
    return A(0);
  }
  template <typename A>
  A operator()(A acc, A v) const {
    return A(acc + v);
  }
};
struct ProdScan {
  template <typename A>
  static A identity() {
    return A(1);
  }
  template <typename A>
  A operator()(A acc, A v) const {
    return A(acc * v);
  }
};

template <typename Op>
class ScanKernel final : public Kernel {
 public:
  explicit ScanKernel(const KernelInfo& info)
      : exclusive_(info.node.attr_int("exclusive", 0) != 0),
        reverse_(info.node.attr_int("reverse", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ScanKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& at = ctx.input(1);
    if ((at.dtype() != DType::Int32 && at.dtype() != DType::Int64) || at.numel() != 1) {
      ctx.fail(ctx.input_name(1), " must be one int32 or int64 value, got ", dtype_name(at.dtype()),
               " of shape ", shape_str(at.shape()));
    }
    int64_t axis = normalize_axis(at.to_int64s()[0], x.rank());
    AxisSplit s = split_at_axis(x, axis);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    if (y.numel() == 0) return;
    visit_types<Types::Numeric>(x.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      using A = scan_t<T>;
      const T* in = x.data<T>();
      T* out = y.data<T>();
      // Slabs ([n, inner] blocks) are independent; each is scanned a row at a time so the
      // innermost loop runs over contiguous elements.
      int64_t slab = s.n * s.inner;
      auto run = [&](int64_t b, int64_t e) {
        std::vector<A> acc(static_cast<size_t>(s.inner));
        for (int64_t a = b; a < e; ++a) scan_slab(in + a * slab, out + a * slab, s, acc);
      };
      ctx.pool().parallel_for(s.outer, std::max<int64_t>(1, kElementwiseGrain / slab), run);
    });
  }

 private:
  template <typename T, typename A>
  void scan_slab(const T* in, T* out, const AxisSplit& s, std::vector<A>& acc) const {
    std::fill(acc.begin(), acc.end(), Op::template identity<A>());
    Op op;
    for (int64_t step = 0; step < s.n; ++step) {
      int64_t j = reverse_ ? s.n - 1 - step : step;
      const T* xr = in + j * s.inner;
      T* yr = out + j * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) {
        A v = static_cast<A>(xr[i]);
        if (exclusive_) {
          yr[i] = static_cast<T>(acc[i]);
          acc[i] = op(acc[i], v);
        } else {
          acc[i] = op(acc[i], v);
          yr[i] = static_cast<T>(acc[i]);
        }
      }
    }
  }

  bool exclusive_, reverse_;
};

constexpr KernelDef kDefs[] = {
    {"", "ArgMax", 1, kLatest, &make_argmax},
    {"", "ArgMin", 1, kLatest, &make_argmin},
    {"", "TopK", 1, kLatest, &TopKKernel::make},
    {"", "CumSum", 11, kLatest, &ScanKernel<SumScan>::make},
    {"", "CumProd", 26, kLatest, &ScanKernel<ProdScan>::make},
};

}  // namespace

void register_argreduce_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
