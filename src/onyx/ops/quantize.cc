// Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor, per-axis or blocked
// scale and zero point, to and from every integer and narrow float type of opset 25) and
// DynamicQuantizeLinear (uint8 with scale and zero point from the data).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "onyx/core/narrow.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Which scale (and zero point) element i of x uses: one for the tensor, one per index of
// `axis` (a 1-D scale), or one per block of `block_size` along `axis` (a scale of x's rank,
// opset 21).
class ScaleIndex {
 public:
  ScaleIndex(const KernelContext& ctx, const Tensor& x, const Tensor& scale, int64_t axis_attr,
             int64_t block) {
    if (scale.numel() == 1 && scale.rank() <= 1 && block == 0) return;
    int64_t axis = normalize_axis(axis_attr, x.rank());
    axis_len_ = x.dim(axis);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner_ *= x.dim(d);
    if (block == 0) {
      if (scale.rank() != 1 || scale.dim(0) != axis_len_) {
        ctx.fail(ctx.input_name(1), " has shape ", shape_str(scale.shape()),
                 "; per-axis quantization along axis ", axis, " needs [", axis_len_,
                 "] (or block_size for blocked quantization)");
      }
      kind_ = Kind::Axis;
      return;
    }
    if (block < 0) ctx.fail("block_size must be positive, got ", block);
    bool fits = scale.rank() == x.rank();
    for (int64_t d = 0; fits && d < x.rank(); ++d) {
      fits = d == axis ? scale.dim(d) == (x.dim(d) + block - 1) / block : scale.dim(d) == x.dim(d);
    }
    if (!fits) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(scale.shape()), "; blocks of ", block,
               " along axis ", axis, " of x ", shape_str(x.shape()), " need ",
               axis_len_ == 0 ? 0 : (axis_len_ + block - 1) / block,
               " there and x's size elsewhere");
    }
    kind_ = Kind::Block;
    block_ = block;
    blocks_ = scale.dim(axis);
  }
  int64_t operator()(int64_t i) const {
    switch (kind_) {
      case Kind::Tensor:
        return 0;
      case Kind::Axis:
        return (i / inner_) % axis_len_;
      case Kind::Block: {
        int64_t in = i % inner_, a = (i / inner_) % axis_len_, outer = i / (inner_ * axis_len_);
        return (outer * blocks_ + a / block_) * inner_ + in;
      }
    }
    return 0;
  }

 private:
  enum class Kind { Tensor, Axis, Block } kind_ = Kind::Tensor;
  int64_t inner_ = 1, axis_len_ = 1, block_ = 1, blocks_ = 1;
};

// Every element of t as a double (narrow types by their value): the parameters and inputs of
// these kernels come in many types, and double holds each exactly.
std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  if (is_narrow(t.dtype())) {
    const float* v = narrow_values(t.dtype());
    const uint8_t* p = t.data<uint8_t>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = v[p[i]];
    return out;
  }
  visit_numeric(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = to_double(p[i]);
  });
  return out;
}

// v rounded to the precision of type t, for the division QuantizeLinear does "in the
// scale's type".
double round_to(DType t, double v) {
  switch (t) {
    case DType::Float16:
      return static_cast<float>(Float16(static_cast<float>(v)));
    case DType::BFloat16:
      return static_cast<float>(BFloat16(static_cast<float>(v)));
    case DType::Float64:
      return v;
    default:
      return static_cast<float>(v);
  }
}

DType dtype_attr(const KernelInfo& info, const char* name) {
  int64_t v = info.node.attr_int(name, 0);
  DType t = DType::Undefined;
  if (v != 0 && !dtype_from_int(static_cast<int32_t>(v), &t)) {
    info.fail(ErrorKind::InvalidModel, "attribute '", name, "' is not an element type: ", v);
  }
  return t;
}

bool is_quantized_type(DType t) {
  return t == DType::UInt8 || t == DType::Int8 || t == DType::UInt16 || t == DType::Int16 ||
         (is_narrow(t) && t != DType::Float8E8M0);
}

class QuantizeLinearKernel final : public Kernel {
 public:
  explicit QuantizeLinearKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 1)),
        block_(info.node.attr_int("block_size", 0)),
        output_(dtype_attr(info, "output_dtype")),
        precision_(dtype_attr(info, "precision")) {
    how_.saturate = info.node.attr_int("saturate", 1) != 0;
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<QuantizeLinearKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    if (!is_floating(x.dtype()) && x.dtype() != DType::Int32)
      ctx.fail("x must be float, float16, bfloat16 or int32, got ", dtype_name(x.dtype()));
    if (!is_floating(scale.dtype()) && scale.dtype() != DType::Int32 &&
        scale.dtype() != DType::Float8E8M0) {
      ctx.fail(ctx.input_name(1), " must be a float type, got ", dtype_name(scale.dtype()));
    }
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    DType qt = zp ? zp->dtype() : output_ != DType::Undefined ? output_ : DType::UInt8;
    if (zp && output_ != DType::Undefined && output_ != qt) {
      ctx.fail("output_dtype is ", dtype_name(output_), " but ", ctx.input_name(2), " is ",
               dtype_name(qt));
    }
    if (!is_quantized_type(qt)) ctx.fail("cannot quantize to ", dtype_name(qt));
    if (zp && zp->shape() != scale.shape() && !(zp->numel() == 1 && scale.numel() == 1)) {
      ctx.fail(ctx.input_name(2), " has shape ", shape_str(zp->shape()), ", the scale ",
               shape_str(scale.shape()));
    }
    ScaleIndex at(ctx, x, scale, axis_, block_);
    DType precision = precision_ != DType::Undefined ? precision_ : scale.dtype();
    std::vector<double> s = values_of(scale), xs = values_of(x);
    std::vector<double> z = zp ? values_of(*zp) : std::vector<double>(s.size(), 0.0);
    Tensor& y = ctx.allocate(0, qt, x.shape());
    int64_t n = x.numel();
    auto quotient = [&](int64_t i) { return round_to(precision, xs[i] / s[at(i)]); };
    if (is_narrow_float(qt)) {
      uint8_t* out = y.data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) out[i] = narrow_from_double(qt, quotient(i) + z[at(i)], how_);
      return;
    }
    double lo, hi;
    if (is_narrow(qt)) {
      lo = narrow_int_min(qt);
      hi = narrow_int_max(qt);
    } else {
      visit_integer(qt, [&](auto tag) {
        using Q = decltype(tag);
        lo = static_cast<double>(std::numeric_limits<Q>::lowest());
        hi = static_cast<double>(std::numeric_limits<Q>::max());
      });
    }
    auto level = [&](int64_t i) {  // half to even, then the zero point, then saturation
      return std::clamp(std::nearbyint(quotient(i)) + z[at(i)], lo, hi);
    };
    if (is_narrow(qt)) {  // int4 and the like, stored as their value in a byte
      int8_t* out = reinterpret_cast<int8_t*>(y.data<uint8_t>());
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(level(i));
      return;
    }
    visit_integer(qt, [&](auto tag) {
      using Q = decltype(tag);
      Q* out = y.data<Q>();
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Q>(level(i));
    });
  }

 private:
  int64_t axis_, block_;
  DType output_, precision_;
  NarrowCast how_;
};

class DequantizeLinearKernel final : public Kernel {
 public:
  explicit DequantizeLinearKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 1)),
        block_(info.node.attr_int("block_size", 0)),
        output_(dtype_attr(info, "output_dtype")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DequantizeLinearKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    if (!is_quantized_type(x.dtype()) && x.dtype() != DType::Int32)
      ctx.fail("cannot dequantize ", dtype_name(x.dtype()));
    if (!is_floating(scale.dtype()) && scale.dtype() != DType::Float8E8M0)
      ctx.fail(ctx.input_name(1), " must be a float type, got ", dtype_name(scale.dtype()));
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (zp && (zp->dtype() != x.dtype() || zp->numel() != scale.numel())) {
      ctx.fail(ctx.input_name(2), " must match x's type (", dtype_name(x.dtype()),
               ") and the scale's size (", scale.numel(), ")");
    }
    DType out = output_ != DType::Undefined          ? output_
                : scale.dtype() == DType::Float8E8M0 ? DType::Float32
                                                     : scale.dtype();
    if (!is_floating(out) || out == DType::Float64)
      ctx.fail("the output must be float, float16 or bfloat16, not ", dtype_name(out));
    ScaleIndex at(ctx, x, scale, axis_, block_);
    std::vector<double> s = values_of(scale), xs = values_of(x);
    std::vector<double> z = zp ? values_of(*zp) : std::vector<double>(s.size(), 0.0);
    Tensor& y = ctx.allocate(0, out, x.shape());
    visit_float(out, [&](auto tag) {
      using T = decltype(tag);
      T* o = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t c = at(i);
        o[i] = from_double<T>((xs[i] - z[c]) * s[c]);
      }
    });
  }

 private:
  int64_t axis_, block_;
  DType output_;
};

uint8_t saturate_round_u8(float v) {
  return static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));  // half to even
}

void dynamic_quantize_linear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32) ctx.fail("x must be float");
  const float* in = x.data<float>();
  float lo = 0.0f, hi = 0.0f;  // the range always includes zero
  for (int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, in[i]);
    hi = std::max(hi, in[i]);
  }
  float scale = (hi - lo) / 255.0f;
  uint8_t zp = scale == 0.0f ? 0 : saturate_round_u8(-lo / scale);
  Tensor& y = ctx.allocate(0, DType::UInt8, x.shape());
  uint8_t* out = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    out[i] = scale == 0.0f ? zp : saturate_round_u8(std::nearbyint(in[i] / scale) + zp);
  }
  ctx.allocate(1, DType::Float32, {}).data<float>()[0] = scale;
  ctx.allocate(2, DType::UInt8, {}).data<uint8_t>()[0] = zp;
}

constexpr KernelDef kDefs[] = {
    {"", "QuantizeLinear", 10, kLatest, &QuantizeLinearKernel::make},
    {"", "DequantizeLinear", 10, kLatest, &DequantizeLinearKernel::make},
    {"", "DynamicQuantizeLinear", 11, kLatest, &FnKernel<dynamic_quantize_linear>::make},
};

}  // namespace

void register_quantize_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
