// Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor or per-axis scale and
// zero point) and DynamicQuantizeLinear (uint8 with scale and zero point from the data).
#include <cmath>
#include <limits>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// How a per-axis parameter of length C maps onto x: element i uses index (i / inner) % C.
struct AxisMap {
  int64_t inner = 1;
  int64_t count = 1;
};

AxisMap axis_map(const KernelContext& ctx, const Tensor& x, const Tensor& scale,
                 int64_t axis_attr) {
  if (scale.numel() == 1 && scale.rank() <= 1) return {};
  if (scale.rank() != 1) ctx.fail(ctx.input_name(1), " must be a scalar or 1-D");
  int64_t axis = normalize_axis(axis_attr, x.rank());
  if (scale.dim(0) != x.dim(axis)) {
    ctx.fail(ctx.input_name(1), " has ", scale.dim(0), " values, axis ", axis, " of x has ",
             x.dim(axis));
  }
  AxisMap m;
  m.count = scale.dim(0);
  for (int64_t d = axis + 1; d < x.rank(); ++d) m.inner *= x.dim(d);
  return m;
}

template <typename Q>
Q saturate_round(float v) {
  float r = std::nearbyint(v);  // half to even
  r = std::max(r, static_cast<float>(std::numeric_limits<Q>::min()));
  r = std::min(r, static_cast<float>(std::numeric_limits<Q>::max()));
  return static_cast<Q>(r);
}

class QuantizeLinearKernel final : public Kernel {
 public:
  explicit QuantizeLinearKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<QuantizeLinearKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    if (x.dtype() != DType::Float32 && x.dtype() != DType::Int32)
      ctx.fail("x must be float or int32");
    if (scale.dtype() != DType::Float32) ctx.fail(ctx.input_name(1), " must be float");
    DType qt = ctx.has_input(2) ? ctx.input(2).dtype() : DType::UInt8;
    AxisMap m = axis_map(ctx, x, scale, axis_);
    if (ctx.has_input(2) && ctx.input(2).numel() != scale.numel()) {
      ctx.fail(ctx.input_name(2), " must have as many values as the scale");
    }
    Tensor& y = ctx.allocate(0, qt, x.shape());
    auto run = [&](auto qtag) {
      using Q = decltype(qtag);
      const float* s = scale.data<float>();
      const Q* zp = ctx.has_input(2) ? ctx.input(2).data<Q>() : nullptr;
      Q* out = y.data<Q>();
      visit_numeric(x.dtype(), [&](auto xtag) {
        using X = decltype(xtag);
        const X* in = x.data<X>();
        for (int64_t i = 0; i < x.numel(); ++i) {
          int64_t c = (i / m.inner) % m.count;
          float z = zp ? static_cast<float>(zp[c]) : 0.0f;
          out[i] = saturate_round<Q>(std::nearbyint(static_cast<float>(in[i]) / s[c]) + z);
        }
      });
    };
    if (qt == DType::UInt8)
      run(uint8_t{});
    else if (qt == DType::Int8)
      run(int8_t{});
    else if (qt == DType::UInt16)  // 16-bit: opset 21
      run(uint16_t{});
    else if (qt == DType::Int16)
      run(int16_t{});
    else
      ctx.fail("y_zero_point must be uint8, int8, uint16 or int16, got ", dtype_name(qt));
  }

 private:
  int64_t axis_;
};

class DequantizeLinearKernel final : public Kernel {
 public:
  explicit DequantizeLinearKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DequantizeLinearKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    if (scale.dtype() != DType::Float32) ctx.fail(ctx.input_name(1), " must be float");
    DType t = x.dtype();
    if (t != DType::UInt8 && t != DType::Int8 && t != DType::Int32 && t != DType::UInt16 &&
        t != DType::Int16) {
      ctx.fail("x must be uint8, int8, uint16, int16 or int32, got ", dtype_name(t));
    }
    if (ctx.has_input(2) &&
        (ctx.input(2).dtype() != x.dtype() || ctx.input(2).numel() != scale.numel())) {
      ctx.fail(ctx.input_name(2), " must match x's type and the scale's size");
    }
    AxisMap m = axis_map(ctx, x, scale, axis_);
    Tensor& y = ctx.allocate(0, DType::Float32, x.shape());
    visit_integer(x.dtype(), [&](auto tag) {
      using X = decltype(tag);
      const X* in = x.data<X>();
      const X* zp = ctx.has_input(2) ? ctx.input(2).data<X>() : nullptr;
      const float* s = scale.data<float>();
      float* out = y.data<float>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t c = (i / m.inner) % m.count;
        int64_t z = zp ? static_cast<int64_t>(zp[c]) : 0;
        out[i] = static_cast<float>(static_cast<int64_t>(in[i]) - z) * s[c];
      }
    });
  }

 private:
  int64_t axis_;
};

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
  uint8_t zp = scale == 0.0f ? 0 : saturate_round<uint8_t>(-lo / scale);
  Tensor& y = ctx.allocate(0, DType::UInt8, x.shape());
  uint8_t* out = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    out[i] = scale == 0.0f ? zp : saturate_round<uint8_t>(std::nearbyint(in[i] / scale) + zp);
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
