// Shape ops that change only metadata (Reshape, Flatten, Squeeze, Unsqueeze: the result
// shares the input's buffer), ops that read shapes (Shape, Size) and generators
// (ConstantOfShape, Range, EyeLike).
#include <cmath>
#include <limits>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Axes from the attribute (old opsets) or from input `i` (newer ones).
std::vector<int64_t> axes_from(const KernelContext& ctx, const std::vector<int64_t>& attr,
                               bool from_input, size_t i) {
  if (!from_input) return attr;
  if (!ctx.has_input(i)) return {};
  return ctx.input(i).to_int64s();
}

class ReshapeKernel final : public Kernel {
 public:
  explicit ReshapeKernel(const KernelInfo& info)
      : legacy_(info.opset < 5),
        allowzero_(info.node.attr_int("allowzero", 0) != 0),
        legacy_shape_(info.node.attr_ints("shape")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ReshapeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> spec = legacy_ ? legacy_shape_ : ctx.input(1).to_int64s();
    Shape out(spec.size());
    int64_t infer = -1, known = 1;
    for (size_t i = 0; i < spec.size(); ++i) {
      int64_t d = spec[i];
      if (d == -1) {
        if (infer >= 0) ctx.fail("shape ", shape_str(spec), " has more than one -1");
        infer = static_cast<int64_t>(i);
        continue;
      }
      if (d == 0 && !allowzero_) {
        if (static_cast<int64_t>(i) >= x.rank())
          ctx.fail("shape ", shape_str(spec), " copies dimension ", i, " that the input lacks");
        d = x.dim(static_cast<int64_t>(i));
      }
      if (d < 0) ctx.fail("shape ", shape_str(spec), " has an invalid dimension ", d);
      out[i] = d;
      if (__builtin_mul_overflow(known, d, &known)) {
        ctx.fail("shape ", shape_str(spec), " has more elements than int64 can count");
      }
    }
    if (infer >= 0) {
      if (known == 0 || x.numel() % known != 0) {
        ctx.fail("cannot reshape ", shape_str(x.shape()), " to ", shape_str(spec));
      }
      out[infer] = x.numel() / known;
    }
    if (shape_numel(out) != x.numel()) {
      ctx.fail("cannot reshape ", shape_str(x.shape()), " (", x.numel(), " elements) to ",
               shape_str(out));
    }
    ctx.set_output(0, x.reshape(out));
  }

 private:
  bool legacy_, allowzero_;
  std::vector<int64_t> legacy_shape_;
};

class FlattenKernel final : public Kernel {
 public:
  explicit FlattenKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<FlattenKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = axis_ < 0 ? axis_ + x.rank() : axis_;
    if (axis < 0 || axis > x.rank())
      ctx.fail("axis ", axis_, " is out of range for rank ", x.rank());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    int64_t inner = outer == 0 ? 0 : x.numel() / std::max<int64_t>(outer, 1);
    if (outer == 0) {
      inner = 1;
      for (int64_t d = axis; d < x.rank(); ++d) inner *= x.dim(d);
    }
    ctx.set_output(0, x.reshape({outer, inner}));
  }

 private:
  int64_t axis_;
};

class SqueezeKernel final : public Kernel {
 public:
  explicit SqueezeKernel(const KernelInfo& info)
      : from_input_(info.opset >= 13), attr_(info.node.attr_ints("axes")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SqueezeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = axes_from(ctx, attr_, from_input_, 1);
    std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
    if (axes.empty()) {
      for (int64_t d = 0; d < x.rank(); ++d) drop[d] = x.dim(d) == 1;
    }
    for (int64_t a : axes) {
      int64_t ax = normalize_axis(a, x.rank());
      if (x.dim(ax) != 1)
        ctx.fail("cannot squeeze axis ", a, " of size ", x.dim(ax), " in ", shape_str(x.shape()));
      drop[ax] = true;
    }
    Shape out;
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (!drop[d]) out.push_back(x.dim(d));
    }
    ctx.set_output(0, x.reshape(out));
  }

 private:
  bool from_input_;
  std::vector<int64_t> attr_;
};

class UnsqueezeKernel final : public Kernel {
 public:
  explicit UnsqueezeKernel(const KernelInfo& info)
      : from_input_(info.opset >= 13), attr_(info.node.attr_ints("axes")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<UnsqueezeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = axes_from(ctx, attr_, from_input_, 1);
    int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> add(static_cast<size_t>(rank), false);
    for (int64_t a : axes) {
      int64_t ax = normalize_axis(a, rank);
      if (add[ax]) ctx.fail("axis ", a, " is repeated");
      add[ax] = true;
    }
    Shape out;
    int64_t k = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(add[d] ? 1 : x.dim(k++));
    ctx.set_output(0, x.reshape(out));
  }

 private:
  bool from_input_;
  std::vector<int64_t> attr_;
};

class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(const KernelInfo& info)
      : start_(info.node.attr_int("start", 0)), end_(info.node.attr_int("end", INT64_MAX)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ShapeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t r = x.rank();
    auto clamp = [r](int64_t v) { return std::max<int64_t>(0, std::min(r, v < 0 ? v + r : v)); };
    int64_t s = clamp(start_), e = clamp(end_);
    std::vector<int64_t> dims;
    for (int64_t d = s; d < e; ++d) dims.push_back(x.dim(d));
    ctx.set_output(0, Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
  }

 private:
  int64_t start_, end_;
};

void size_kernel(KernelContext& ctx) {
  ctx.set_output(0, Tensor::scalar<int64_t>(ctx.input(0).numel()));
}

class ConstantOfShapeKernel final : public Kernel {
 public:
  explicit ConstantOfShapeKernel(const KernelInfo& info) {
    const ir::Attribute* a = info.node.find_attr("value");
    value_ = a ? a->t : Tensor::scalar<float>(0.0f);
    if (value_.numel() != 1) info.fail(ErrorKind::InvalidModel, "value must hold one element");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConstantOfShapeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    std::vector<int64_t> shape = ctx.input(0).to_int64s();
    for (int64_t d : shape) {
      if (d < 0) ctx.fail(ctx.input_name(0), " has a negative dimension: ", shape_str(shape));
    }
    Tensor& y = ctx.allocate(0, value_.dtype(), shape);
    visit_any(value_.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T v = value_.data<T>()[0];
      T* out = y.data<T>();
      if constexpr (std::is_trivially_copyable_v<T>) {  // big fills (gradients' zeros) split
        ctx.pool().parallel_for(y.numel(), int64_t{1} << 16,
                                [&](int64_t lo, int64_t hi) { std::fill(out + lo, out + hi, v); });
      } else {
        std::fill_n(out, y.numel(), v);
      }
    });
  }

 private:
  Tensor value_;
};

void range_kernel(KernelContext& ctx) {
  const Tensor& start = ctx.input(0);
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.input(i).numel() != 1) ctx.fail(ctx.input_name(i), " must be a scalar");
    if (ctx.input(i).dtype() != start.dtype())
      ctx.fail("start, limit and delta must share one type");
  }
  visit_numeric(start.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("Range does not take bool");
    } else {
      using C = compute_t<T>;
      C s = C(start.data<T>()[0]), l = C(ctx.input(1).data<T>()[0]),
        d = C(ctx.input(2).data<T>()[0]);
      if (d == C(0)) ctx.fail("delta must not be zero");
      int64_t count = 0;
      if constexpr (std::is_integral_v<C>) {
        // Exactly, in 128 bits: a double loses int64's low bits (large starts gave nothing).
        __int128 span = static_cast<__int128>(l) - static_cast<__int128>(s), step = d;
        __int128 n = span / step + ((span % step != 0 && (span < 0) == (step < 0)) ? 1 : 0);
        if (n > std::numeric_limits<int64_t>::max())
          ctx.fail("Range of ", static_cast<int64_t>(s), " to ", static_cast<int64_t>(l), " by ",
                   static_cast<int64_t>(d), " has more than 2^63 values");
        count = n > 0 ? static_cast<int64_t>(n) : 0;
      } else {
        double n =
            std::ceil((static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d));
        if (!(n < 9.2e18)) ctx.fail("Range's count is not finite or too large");
        count = n > 0 ? static_cast<int64_t>(n) : 0;
      }
      Tensor& y = ctx.allocate(0, start.dtype(), {count});
      T* out = y.data<T>();
      C v = s;
      for (int64_t i = 0; i < count; ++i, v = C(v + d)) out[i] = T(v);
    }
  });
}

class EyeLikeKernel final : public Kernel {
 public:
  explicit EyeLikeKernel(const KernelInfo& info) : k_(info.node.attr_int("k", 0)) {
    if (info.node.has_attr("dtype")) {
      DType d;
      if (!dtype_from_int(static_cast<int32_t>(info.node.attr_int("dtype", 1)), &d)) {
        info.fail(ErrorKind::InvalidModel, "dtype is not a valid element type");
      }
      dtype_ = d;
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<EyeLikeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 2) ctx.fail(ctx.input_name(0), " must be 2-D, got ", shape_str(x.shape()));
    DType dt = dtype_ == DType::Undefined ? x.dtype() : dtype_;
    Tensor& y = ctx.allocate(0, dt, x.shape());
    visit_numeric(dt, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      std::fill_n(out, y.numel(), T(0));
      for (int64_t r = 0; r < x.dim(0); ++r) {
        int64_t c = r + k_;
        if (c >= 0 && c < x.dim(1)) out[r * x.dim(1) + c] = T(1);
      }
    });
  }

 private:
  int64_t k_;
  DType dtype_ = DType::Undefined;
};

constexpr KernelDef kDefs[] = {
    {"", "Reshape", 1, kLatest, &ReshapeKernel::make},
    {"", "Flatten", 1, kLatest, &FlattenKernel::make},
    {"", "Squeeze", 1, kLatest, &SqueezeKernel::make},
    {"", "Unsqueeze", 1, kLatest, &UnsqueezeKernel::make},
    {"", "Shape", 1, kLatest, &ShapeKernel::make},
    {"", "Size", 1, kLatest, &FnKernel<size_kernel>::make},
    {"", "ConstantOfShape", 9, kLatest, &ConstantOfShapeKernel::make},
    {"", "Range", 11, kLatest, &FnKernel<range_kernel>::make},
    {"", "EyeLike", 9, kLatest, &EyeLikeKernel::make},
};

}  // namespace

void register_shape_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
