// Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceLogSum, ReduceLogSumExp, ReduceSumSquare. One engine: the reduced axes are moved
// last (a strided copy, skipped when they already are), then each output element folds a
// contiguous row. Floating types accumulate in double.
#include <cmath>
#include <limits>

#include "onyx/ops/reduce_util.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

ReduceLayout reduce_layout(KernelContext& ctx, const Tensor& x, std::vector<int64_t> axes,
                           bool keepdims, bool noop_when_empty) {
  ReduceLayout l;
  int64_t r = x.rank();
  std::vector<bool> red(static_cast<size_t>(r), false);
  if (axes.empty() && !noop_when_empty) {
    std::fill(red.begin(), red.end(), true);
  }
  for (int64_t a : axes) {
    int64_t ax = normalize_axis(a, r);
    if (red[ax]) ctx.fail("axis ", a, " is repeated");
    red[ax] = true;
  }
  std::vector<int64_t> perm, xs = shape_strides(x.shape());
  bool trailing = true, seen_reduced = false;
  for (int64_t d = 0; d < r; ++d) {
    if (red[d]) {
      seen_reduced = true;
      l.rows_len *= x.dim(d);
      if (keepdims) l.out_shape.push_back(1);
    } else {
      if (seen_reduced && x.dim(d) != 1) trailing = false;
      l.outer *= x.dim(d);
      l.out_shape.push_back(x.dim(d));
      perm.push_back(d);
    }
  }
  for (int64_t d = 0; d < r; ++d) {
    if (red[d]) perm.push_back(d);
  }
  if (trailing) {
    l.data = x;
  } else {
    Shape ps;
    std::vector<int64_t> pst;
    for (int64_t d : perm) {
      ps.push_back(x.dim(d));
      pst.push_back(xs[d]);
    }
    l.data = ctx.scratch(x.dtype(), ps);
    strided_copy(x, 0, pst, l.data, &ctx.pool());
  }
  return l;
}

namespace {

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(const KernelInfo& info, Red op, int axes_input_since)
      : op_(op),
        keepdims_(info.node.attr_int("keepdims", 1) != 0),
        noop_(info.node.attr_int("noop_with_empty_axes", 0) != 0),
        axes_from_input_(info.opset >= axes_input_since),
        axes_attr_(info.node.attr_ints("axes")) {}

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = axes_attr_;
    if (axes_from_input_)
      axes = ctx.has_input(1) ? ctx.input(1).to_int64s() : std::vector<int64_t>{};
    if (axes.empty() && noop_ && axes_from_input_) {
      ctx.set_output(0, x);
      return;
    }
    ReduceLayout l = reduce_layout(ctx, x, axes, keepdims_, false);
    Tensor& y = ctx.allocate(0, x.dtype(), l.out_shape);
    if (x.dtype() == DType::Bool && (op_ == Red::Max || op_ == Red::Min)) {
      reduce_bool(ctx, l, y);  // opset 20: max is any, min is all
      return;
    }
    if (x.dtype() == DType::Bool || x.dtype() == DType::String)
      ctx.fail("element type ", dtype_name(x.dtype()), " cannot be reduced");
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) run<T>(ctx, l, y);
    });
  }

 private:
  // Any (Max) or all (Min) of each row; an empty row gives false or true.
  void reduce_bool(KernelContext& ctx, const ReduceLayout& l, Tensor& y) const {
    const bool* in = l.data.data<bool>();
    bool* out = y.data<bool>();
    bool any = op_ == Red::Max;
    int64_t n = l.rows_len;
    ctx.pool().parallel_for(l.outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                            [&](int64_t b, int64_t e) {
                              for (int64_t o = b; o < e; ++o) {
                                const bool* row = in + o * n;
                                bool acc = !any;
                                for (int64_t i = 0; i < n && acc != any; ++i) acc = row[i];
                                out[o] = acc;
                              }
                            });
  }

  template <typename T>
  void run(KernelContext& ctx, const ReduceLayout& l, Tensor& y) const {
    using A = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;
    const T* in = l.data.data<T>();
    T* out = y.data<T>();
    int64_t n = l.rows_len;
    Red op = op_;
    ctx.pool().parallel_for(
        l.outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o) {
            const T* row = in + o * n;
            auto v = [&](int64_t i) { return static_cast<A>(static_cast<compute_t<T>>(row[i])); };
            A acc;
            switch (op) {
              case Red::Max:
              case Red::Min: {
                bool mx = op == Red::Max;
                if (n == 0) {
                  acc = mx ? (std::is_floating_point_v<A> ? -std::numeric_limits<A>::infinity()
                                                          : std::numeric_limits<A>::lowest())
                           : (std::is_floating_point_v<A> ? std::numeric_limits<A>::infinity()
                                                          : std::numeric_limits<A>::max());
                  break;
                }
                acc = v(0);
                for (int64_t i = 1; i < n; ++i) {
                  A t = v(i);
                  if constexpr (std::is_floating_point_v<A>) {
                    if (std::isnan(t)) {
                      acc = t;
                      break;
                    }
                  }
                  acc = mx ? (t > acc ? t : acc) : (t < acc ? t : acc);
                }
                break;
              }
              case Red::Prod:
                acc = 1;
                for (int64_t i = 0; i < n; ++i) acc *= v(i);
                break;
              case Red::LogSumExp: {
                double m = -std::numeric_limits<double>::infinity();
                for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(v(i)));
                double s = 0;
                for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(v(i)) - m);
                acc = static_cast<A>(std::isinf(m) ? m : m + std::log(s));
                break;
              }
              default: {
                A s = 0;
                for (int64_t i = 0; i < n; ++i) {
                  A t = v(i);
                  if (op == Red::L1) t = t < 0 ? A(0) - t : t;
                  if (op == Red::L2 || op == Red::SumSquare) t = t * t;
                  s += t;
                }
                acc = s;
                if (op == Red::Mean)
                  acc = n ? static_cast<A>(static_cast<double>(s) / static_cast<double>(n)) : A(0);
                if (op == Red::L2) acc = static_cast<A>(std::sqrt(static_cast<double>(s)));
                if (op == Red::LogSum) acc = static_cast<A>(std::log(static_cast<double>(s)));
                if (op == Red::Mean && n == 0 && std::is_floating_point_v<A>)
                  acc = static_cast<A>(NAN);
              }
            }
            out[o] = static_cast<T>(static_cast<compute_t<T>>(acc));
          }
        });
  }

  Red op_;
  bool keepdims_, noop_, axes_from_input_;
  std::vector<int64_t> axes_attr_;
};

template <Red Op, int AxesInputSince>
std::unique_ptr<Kernel> make_reduce(const KernelInfo& info) {
  return std::make_unique<ReduceKernel>(info, Op, AxesInputSince);
}

constexpr KernelDef kDefs[] = {
    {"", "ReduceSum", 1, kLatest, &make_reduce<Red::Sum, 13>},
    {"", "ReduceMean", 1, kLatest, &make_reduce<Red::Mean, 18>},
    {"", "ReduceMax", 1, kLatest, &make_reduce<Red::Max, 18>},
    {"", "ReduceMin", 1, kLatest, &make_reduce<Red::Min, 18>},
    {"", "ReduceProd", 1, kLatest, &make_reduce<Red::Prod, 18>},
    {"", "ReduceL1", 1, kLatest, &make_reduce<Red::L1, 18>},
    {"", "ReduceL2", 1, kLatest, &make_reduce<Red::L2, 18>},
    {"", "ReduceLogSum", 1, kLatest, &make_reduce<Red::LogSum, 18>},
    {"", "ReduceLogSumExp", 1, kLatest, &make_reduce<Red::LogSumExp, 18>},
    {"", "ReduceSumSquare", 1, kLatest, &make_reduce<Red::SumSquare, 18>},
};

}  // namespace

void register_reduce_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
