// Indexing: Gather, GatherElements, GatherND, Scatter/ScatterElements, ScatterND, OneHot,
// NonZero. Every index is checked against its axis (negative ones count from the end);
// a bad index is an error naming the input and the value, never an out-of-bounds read.
#include <algorithm>

#include "onyx/ops/reduce_util.h"
#include "onyx/ops/registry.h"
#include "onyx/ops/strided.h"

namespace onyx::ops {

namespace {

int64_t checked_index(const KernelContext& ctx, size_t input, int64_t v, int64_t dim) {
  if (v < -dim || v >= dim) {
    ctx.fail(ctx.input_name(input), " holds index ", v, ", out of range for an axis of size ", dim);
  }
  return v < 0 ? v + dim : v;
}

// A checked index in [-dim, dim) as a position (negative ones count from the end),
// without a branch.
inline int64_t wrap_index(int64_t v, int64_t dim) {
  return v + (dim & (v >> 63));
}

// The int64 values of an index tensor: its own data, or a converted copy in `storage`.
const int64_t* int64_indices(const Tensor& ind, std::vector<int64_t>& storage) {
  if (ind.dtype() == DType::Int64) return ind.data<int64_t>();
  storage = ind.to_int64s();
  return storage.data();
}

// Every one of `count` indices in [-dim, dim): one min/max pass the compiler vectorises;
// only when it finds a bad one does the per-index check run, to name it.
void check_indices(const KernelContext& ctx, size_t input, const int64_t* idx, int64_t count,
                   int64_t dim) {
  int64_t lo = 0, hi = 0;
  for (int64_t k = 0; k < count; ++k) {
    lo = std::min(lo, idx[k]);
    hi = std::max(hi, idx[k]);
  }
  if (count == 0 || (lo >= -dim && hi < dim)) return;
  for (int64_t k = 0; k < count; ++k) checked_index(ctx, input, idx[k], dim);
}

class GatherKernel final : public Kernel {
 public:
  explicit GatherKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<GatherKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    int64_t axis = normalize_axis(axis_, x.rank());
    std::vector<int64_t> idx = ind.to_int64s();
    AxisSplit s = split_at_axis(x, axis);
    for (auto& v : idx) v = checked_index(ctx, 1, v, s.n);
    Shape out(x.shape().begin(), x.shape().begin() + axis);
    out.insert(out.end(), ind.shape().begin(), ind.shape().end());
    out.insert(out.end(), x.shape().begin() + axis + 1, x.shape().end());
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    int64_t m = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t j = 0; j < m; ++j)
        copy_elements(x, (o * s.n + idx[j]) * s.inner, y, (o * m + j) * s.inner, s.inner);
    }
  }

 private:
  int64_t axis_;
};

class GatherElementsKernel final : public Kernel {
 public:
  explicit GatherElementsKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<GatherElementsKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    if (ind.rank() != x.rank())
      ctx.fail(ctx.input_name(1), " must have the rank of the data (", x.rank(), ")");
    int64_t axis = normalize_axis(axis_, x.rank());
    std::vector<int64_t> idx = ind.to_int64s();
    Tensor& y = ctx.allocate(0, x.dtype(), ind.shape());
    auto xs = shape_strides(x.shape());
    std::vector<int64_t> pos(static_cast<size_t>(ind.rank()), 0);
    for (int64_t k = 0; k < ind.numel(); ++k) {
      int64_t off = 0;
      for (int64_t d = 0; d < ind.rank(); ++d) {
        int64_t c = d == axis ? checked_index(ctx, 1, idx[k], x.dim(d)) : pos[d];
        if (d != axis && c >= x.dim(d))
          ctx.fail(ctx.input_name(1), " is larger than the data along axis ", d);
        off += c * xs[d];
      }
      copy_elements(x, off, y, k, 1);
      for (int64_t d = ind.rank(); d-- > 0;) {
        if (++pos[d] < ind.dim(d)) break;
        pos[d] = 0;
      }
    }
  }

 private:
  int64_t axis_;
};

// Element offset into `x` for the index tuple `tuple` of length q (batch prefix given).
class GatherNDKernel final : public Kernel {
 public:
  explicit GatherNDKernel(const KernelInfo& info)
      : batch_dims_(info.node.attr_int("batch_dims", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<GatherNDKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    int64_t b = batch_dims_, q = ind.rank() ? ind.dim(ind.rank() - 1) : 0;
    if (ind.rank() < 1 || b < 0 || b >= std::min(x.rank(), ind.rank()) || q < 1 ||
        b + q > x.rank()) {
      ctx.fail("indices of shape ", shape_str(ind.shape()), " with batch_dims ", b,
               " do not fit data of shape ", shape_str(x.shape()));
    }
    for (int64_t d = 0; d < b; ++d) {
      if (x.dim(d) != ind.dim(d))
        ctx.fail("batch dimension ", d, " differs between data and indices");
    }
    Shape out(ind.shape().begin(), ind.shape().end() - 1);
    out.insert(out.end(), x.shape().begin() + b + q, x.shape().end());
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    int64_t slice = 1, batch = 1;
    for (int64_t d = b + q; d < x.rank(); ++d) slice *= x.dim(d);
    for (int64_t d = 0; d < b; ++d) batch *= x.dim(d);
    auto xs = shape_strides(x.shape());
    std::vector<int64_t> idx = ind.to_int64s();
    int64_t tuples = ind.numel() / q, per_batch = tuples / std::max<int64_t>(batch, 1);
    int64_t batch_stride = b ? xs[b - 1] : 0;
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = (t / std::max<int64_t>(per_batch, 1)) * batch_stride;
      for (int64_t k = 0; k < q; ++k)
        off += checked_index(ctx, 1, idx[t * q + k], x.dim(b + k)) * xs[b + k];
      copy_elements(x, off, y, t * slice, slice);
    }
  }

 private:
  int64_t batch_dims_;
};

enum class Reduction { None, Add, Mul, Max, Min };

Reduction read_reduction(const KernelInfo& info) {
  std::string r = info.node.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  if (r == "max") return Reduction::Max;
  if (r == "min") return Reduction::Min;
  info.fail(ErrorKind::InvalidModel, "reduction '", r, "' is not none, add, mul, max or min");
}

template <typename T>
void combine(T& dst, const T& src, Reduction r) {
  if constexpr (std::is_same_v<T, bool> || !std::is_arithmetic_v<compute_t<T>>) {
    dst = src;  // strings, bools and complex numbers are only replaced
  } else {
    using C = compute_t<T>;
    C a = static_cast<C>(dst), b = static_cast<C>(src);
    switch (r) {
      case Reduction::None:
        dst = src;
        return;
      case Reduction::Add:
        dst = static_cast<T>(static_cast<C>(a + b));
        return;
      case Reduction::Mul:
        dst = static_cast<T>(static_cast<C>(a * b));
        return;
      case Reduction::Max:
        dst = static_cast<T>(a > b ? a : b);
        return;
      case Reduction::Min:
        dst = static_cast<T>(a < b ? a : b);
        return;
    }
  }
}

class ScatterElementsKernel final : public Kernel {
 public:
  explicit ScatterElementsKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 0)), reduction_(read_reduction(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ScatterElementsKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    if (ind.shape() != upd.shape()) ctx.fail("indices and updates must have the same shape");
    if (ind.rank() != x.rank()) ctx.fail(ctx.input_name(1), " must have the rank of the data");
    if (upd.dtype() != x.dtype()) ctx.fail("updates must have the data's element type");
    int64_t axis = normalize_axis(axis_, x.rank());
    // int64 indices are read in place; others converted once.
    std::vector<int64_t> converted;
    const int64_t* idx = int64_indices(ind, converted);
    Shape shape = x.shape();
    Tensor& y = ctx.output_from_input(0, 0);  // x may be gone now: use `shape`, `y`
    auto xs = shape_strides(shape);
    visit_any(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      const T* up = upd.data<T>();
      if (shape.size() == 1) {  // flat scatters: what gradients of gathers and pools emit
        int64_t n = shape[0], count = ind.numel();
        check_indices(ctx, 1, idx, count, n);
        auto scatter = [&](auto op) {
          for (int64_t k = 0; k < count; ++k) op(out[wrap_index(idx[k], n)], up[k]);
        };
        if constexpr (std::is_floating_point_v<T>) {  // the common cases, without a switch
          if (reduction_ == Reduction::Add) return scatter([](T& d, T v) { d += v; });
          if (reduction_ == Reduction::None) return scatter([](T& d, T v) { d = v; });
        }
        scatter([&](T& d, const T& v) { combine(d, v, reduction_); });
        return;
      }
      std::vector<int64_t> pos(static_cast<size_t>(ind.rank()), 0);
      for (int64_t k = 0; k < ind.numel(); ++k) {
        int64_t off = 0;
        for (int64_t d = 0; d < ind.rank(); ++d) {
          int64_t c = d == axis ? checked_index(ctx, 1, idx[k], shape[d]) : pos[d];
          if (c >= shape[d]) ctx.fail("updates are larger than the data along axis ", d);
          off += c * xs[d];
        }
        combine(out[off], up[k], reduction_);
        for (int64_t d = ind.rank(); d-- > 0;) {
          if (++pos[d] < ind.dim(d)) break;
          pos[d] = 0;
        }
      }
    });
  }

 private:
  int64_t axis_;
  Reduction reduction_;
};

// The runtime's ScatterReluGrad (runtime/training_fusion.cc): Y shaped like X, zero except
// at the flat INDICES, where it takes UPDATES (summed over repeats with reduction "add")
// wherever X > 0. The ReLU gradient of a scatter into zeros, in one pass over Y.
class ScatterReluGradKernel final : public Kernel {
 public:
  explicit ScatterReluGradKernel(const KernelInfo& info)
      : add_(info.node.attr_string("reduction", "none") == "add") {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ScatterReluGradKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    if (ind.rank() != 1 || upd.shape() != ind.shape())
      ctx.fail("indices and updates must be 1-D and of one length, got ", shape_str(ind.shape()),
               " and ", shape_str(upd.shape()));
    if (upd.dtype() != x.dtype() || (x.dtype() != DType::Float32 && x.dtype() != DType::Float64))
      ctx.fail("X and updates must both be float32 or float64");
    std::vector<int64_t> converted;
    const int64_t* idx = int64_indices(ind, converted);
    int64_t n = x.numel(), count = ind.numel();
    check_indices(ctx, 1, idx, count, n);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        const T* xs = x.data<T>();
        const T* up = upd.data<T>();
        T* out = y.data<T>();
        bool add = add_;
        // Each thread owns a range of Y: it zeroes it and takes the updates landing there,
        // in index order, so repeated indices combine as they would in one thread.
        int64_t parts = ctx.pool().size();
        ctx.pool().parallel_for(parts, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            int64_t lo = n * t / parts, hi = n * (t + 1) / parts;
            std::fill(out + lo, out + hi, T(0));
            for (int64_t k = 0; k < count; ++k) {
              int64_t p = wrap_index(idx[k], n);
              if (p < lo || p >= hi) continue;
              T v = xs[p] > T(0) ? up[k] : T(0);
              out[p] = add ? out[p] + v : v;
            }
          }
        });
      }
    });
  }

 private:
  bool add_;
};

class ScatterNDKernel final : public Kernel {
 public:
  explicit ScatterNDKernel(const KernelInfo& info) : reduction_(read_reduction(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ScatterNDKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    int64_t q = ind.rank() ? ind.dim(ind.rank() - 1) : 0;
    if (ind.rank() < 1 || q < 1 || q > x.rank())
      ctx.fail("indices of shape ", shape_str(ind.shape()), " do not fit the data");
    Shape want(ind.shape().begin(), ind.shape().end() - 1);
    want.insert(want.end(), x.shape().begin() + q, x.shape().end());
    if (upd.shape() != want)
      ctx.fail("updates must have shape ", shape_str(want), ", got ", shape_str(upd.shape()));
    if (upd.dtype() != x.dtype()) ctx.fail("updates must have the data's element type");
    Shape shape = x.shape();
    Tensor& y = ctx.output_from_input(0, 0);  // x may be gone now: use `shape`, `y`
    int64_t slice = 1;
    for (size_t d = static_cast<size_t>(q); d < shape.size(); ++d) slice *= shape[d];
    auto xs = shape_strides(shape);
    std::vector<int64_t> idx = ind.to_int64s();
    int64_t tuples = ind.numel() / q;
    visit_any(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = 0;
        for (int64_t k = 0; k < q; ++k)
          off += checked_index(ctx, 1, idx[t * q + k], shape[static_cast<size_t>(k)]) * xs[k];
        for (int64_t e = 0; e < slice; ++e)
          combine(y.data<T>()[off + e], upd.data<T>()[t * slice + e], reduction_);
      }
    });
  }

 private:
  Reduction reduction_;
};

class OneHotKernel final : public Kernel {
 public:
  explicit OneHotKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", -1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<OneHotKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& ind = ctx.input(0);
    const Tensor& values = ctx.input(2);
    if (ctx.input(1).numel() != 1) ctx.fail(ctx.input_name(1), " must hold one value");
    double depth_d = ctx.input(1).element_as_double(0);
    if (!(depth_d >= 1)) ctx.fail("depth must be positive, got ", depth_d);
    int64_t depth = static_cast<int64_t>(depth_d);
    if (values.numel() != 2) ctx.fail(ctx.input_name(2), " must hold [off_value, on_value]");
    int64_t rank = ind.rank() + 1;
    int64_t axis = normalize_axis(axis_, rank);
    Shape out = ind.shape();
    out.insert(out.begin() + axis, depth);
    Tensor& y = ctx.allocate(0, values.dtype(), out);
    std::vector<double> idx(static_cast<size_t>(ind.numel()));
    for (int64_t k = 0; k < ind.numel(); ++k) idx[k] = ind.element_as_double(k);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
    visit_any(values.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T off = values.data<T>()[0], on = values.data<T>()[1];
      T* o = y.data<T>();
      for (int64_t a = 0; a < outer; ++a) {
        for (int64_t dpos = 0; dpos < depth; ++dpos) {
          for (int64_t i = 0; i < inner; ++i) {
            int64_t v = static_cast<int64_t>(idx[a * inner + i]);
            if (v < 0) v += depth;  // negative indices count from the end; out of range stays off
            o[(a * depth + dpos) * inner + i] = v == dpos ? on : off;
          }
        }
      }
    });
  }

 private:
  int64_t axis_;
};

void nonzero(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> hits;
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    for (int64_t k = 0; k < x.numel(); ++k) {
      if (C(x.data<T>()[k]) != C(0)) hits.push_back(k);
    }
  });
  int64_t r = std::max<int64_t>(x.rank(), 1), n = static_cast<int64_t>(hits.size());
  Tensor& y = ctx.allocate(0, DType::Int64, {x.rank() == 0 ? 1 : x.rank(), n});
  auto st = shape_strides(x.shape());
  for (int64_t j = 0; j < n; ++j) {
    int64_t rem = hits[j];
    for (int64_t d = 0; d < x.rank(); ++d) {
      y.data<int64_t>()[d * n + j] = rem / st[d];
      rem %= st[d];
    }
    if (x.rank() == 0) y.data<int64_t>()[j] = 0;
  }
  (void)r;
}

constexpr KernelDef kDefs[] = {
    {"", "Gather", 1, kLatest, &GatherKernel::make},
    {"", "GatherElements", 11, kLatest, &GatherElementsKernel::make},
    {"", "GatherND", 11, kLatest, &GatherNDKernel::make},
    {"", "Scatter", 9, 10, &ScatterElementsKernel::make},
    {"", "ScatterElements", 11, kLatest, &ScatterElementsKernel::make},
    {kRuntimeDomain, "ScatterReluGrad", 1, kLatest, &ScatterReluGradKernel::make},
    {"", "ScatterND", 11, kLatest, &ScatterNDKernel::make},
    {"", "OneHot", 9, kLatest, &OneHotKernel::make},
    {"", "NonZero", 9, kLatest, &FnKernel<nonzero>::make},
};

}  // namespace

void register_gather_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
