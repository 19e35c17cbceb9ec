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
                           bool keepdims, bool noop_when_empty, bool rearrange) {
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
  l.reduced = red;
  if (trailing || !rearrange) {
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

// The reductions that add up one term per element.
bool sums_terms(Red op) {
  return op == Red::Sum || op == Red::Mean || op == Red::L1 || op == Red::L2 || op == Red::LogSum ||
         op == Red::SumSquare;
}

// x's dimensions with size-1 ones dropped and neighbours of the same kind (reduced or
// kept) merged, outermost first; each group knows its size and its stride in x.
struct DimGroup {
  int64_t size = 1, stride = 1;
  bool reduced = false;
};

std::vector<DimGroup> dim_groups(const Shape& shape, const std::vector<bool>& reduced) {
  std::vector<DimGroup> g;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!g.empty() && g.back().reduced == reduced[d]) {
      g.back().size *= shape[d];
    } else {
      g.push_back({shape[d], 1, reduced[d]});
    }
  }
  for (size_t i = g.size(); i-- > 0;)
    g[i].stride = i + 1 < g.size() ? g[i + 1].stride * g[i + 1].size : 1;
  return g;
}

// The positions of some groups in row-major order, and each one's offset in x: seek to a
// position once, then step, instead of a table of every offset.
class GroupWalk {
 public:
  explicit GroupWalk(std::vector<DimGroup> groups) : g_(std::move(groups)), idx_(g_.size(), 0) {}
  int64_t count() const {
    int64_t n = 1;
    for (const DimGroup& d : g_) n *= d.size;
    return n;
  }
  void seek(int64_t i) {  // i < count() (a walk over no positions is never read)
    offset_ = 0;
    for (size_t d = g_.size(); d-- > 0;) {
      if (g_[d].size == 0) return;
      idx_[d] = i % g_[d].size;
      i /= g_[d].size;
      offset_ += idx_[d] * g_[d].stride;
    }
  }
  void next() {
    for (size_t d = g_.size(); d-- > 0;) {
      offset_ += g_[d].stride;
      if (++idx_[d] < g_[d].size) return;
      offset_ -= g_[d].size * g_[d].stride;
      idx_[d] = 0;
    }
  }
  int64_t offset() const { return offset_; }

 private:
  std::vector<DimGroup> g_;
  std::vector<int64_t> idx_;
  int64_t offset_ = 0;
};

// Sums of terms (the term is x, |x| or x*x) in double, read in x's own memory order
// instead of moving the reduced axes last first: the layout of a bias gradient (sum over
// all axes but one) or a batch sum (over axis 0) costs one pass over x this way. With
// the innermost group reduced, each output adds up contiguous runs, in eight lanes; with
// it kept, each output row adds whole rows of x, in x's order.
template <typename T>
class TermSums {
 public:
  TermSums(const Tensor& x, const std::vector<bool>& reduced, Red op) : x_(x.data<T>()), op_(op) {
    std::vector<DimGroup> g = dim_groups(x.shape(), reduced);
    if (!g.empty()) {
      inner_ = g.back();
      g.pop_back();
    }
    std::vector<DimGroup> kept, red;
    for (const DimGroup& d : g) (d.reduced ? red : kept).push_back(d);
    kept_ = GroupWalk(std::move(kept));
    red_ = GroupWalk(std::move(red));
  }

  // Outputs in [b, e) of the rows-of-x order (outputs are x's kept positions in order).
  void run(int64_t b, int64_t e, double* acc) const {
    // The term is chosen outside the loops: a branch on op_ inside them stops GCC from
    // vectorising them.
    switch (op_) {
      case Red::L1:
        return run<Red::L1>(b, e, acc);
      case Red::L2:
      case Red::SumSquare:
        return run<Red::SumSquare>(b, e, acc);
      default:
        return run<Red::Sum>(b, e, acc);
    }
  }

  int64_t outputs() const { return kept_.count() * (inner_.reduced ? 1 : inner_.size); }
  int64_t terms_per_output() const { return red_.count() * (inner_.reduced ? inner_.size : 1); }

 private:
  template <Red Term>
  static double term(T v) {
    double d = static_cast<double>(v);
    if constexpr (Term == Red::L1) return d < 0 ? -d : d;
    if constexpr (Term == Red::SumSquare) return d * d;
    return d;
  }

  template <Red Term>
  void run(int64_t b, int64_t e, double* acc) const {
    GroupWalk kept = kept_, red = red_;  // this call's own positions
    int64_t reductions = red.count();
    if (inner_.reduced) {
      kept.seek(b);
      for (int64_t o = b; o < e; ++o, kept.next()) {
        double s = 0;
        red.seek(0);
        for (int64_t r = 0; r < reductions; ++r, red.next())
          s += run_sum<Term>(x_ + kept.offset() + red.offset(), inner_.size);
        acc[o] = s;
      }
      return;
    }
    // Innermost kept: output o is kept position o / K, lane o % K.
    int64_t k = inner_.size;
    kept.seek(b / k);
    for (int64_t o = b; o < e; kept.next()) {
      int64_t lane = o % k, len = std::min(e - o, k - lane);
      double* out = acc + o;
      std::fill(out, out + len, 0.0);
      red.seek(0);
      for (int64_t r = 0; r < reductions; ++r, red.next()) {
        const T* in = x_ + kept.offset() + red.offset() + lane;
        for (int64_t i = 0; i < len; ++i) out[i] += term<Term>(in[i]);
      }
      o += len;
    }
  }

  template <Red Term>
  static double run_sum(const T* in, int64_t n) {
    double lane[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) lane[j] += term<Term>(in[i + j]);
    double s =
        ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; i < n; ++i) s += term<Term>(in[i]);
    return s;
  }

  const T* x_;
  Red op_;
  DimGroup inner_{1, 1, true};
  GroupWalk kept_{{}}, red_{{}};
};

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
    bool in_place = sums_terms(op_) && (x.dtype() == DType::Float32 || x.dtype() == DType::Float64);
    ReduceLayout l = reduce_layout(ctx, x, axes, keepdims_, false, !in_place);
    Tensor& y = ctx.allocate(0, x.dtype(), l.out_shape);
    if (in_place) {
      if (x.dtype() == DType::Float32) {
        run_term_sums<float>(ctx, x, l, y);
      } else {
        run_term_sums<double>(ctx, x, l, y);
      }
      return;
    }
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
  void run_term_sums(KernelContext& ctx, const Tensor& x, const ReduceLayout& l, Tensor& y) const {
    TermSums<T> sums(x, l.reduced, op_);
    int64_t n = sums.outputs(), terms = sums.terms_per_output();
    Tensor acc = ctx.scratch(DType::Float64, {n});
    double* a = acc.data<double>();
    ctx.pool().parallel_for(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(terms, 1)),
                            [&](int64_t b, int64_t e) { sums.run(b, e, a); });
    T* out = y.data<T>();
    for (int64_t o = 0; o < n; ++o) {
      double s = a[o];
      if (op_ == Red::Mean) s = terms ? s / static_cast<double>(terms) : NAN;
      if (op_ == Red::L2) s = std::sqrt(s);
      if (op_ == Red::LogSum) s = std::log(s);
      out[o] = static_cast<T>(s);
    }
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
