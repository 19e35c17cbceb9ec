// Cast and CastLike between every pair of element types, strings included. Conversions
// that C++ leaves undefined (NaN or out-of-range floats to integers) are defined here:
// NaN becomes 0 and other values saturate, so no input can cause undefined behaviour.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

template <typename To, typename From>
To convert(From v) {
  using CF = compute_t<From>;
  CF x = static_cast<CF>(v);
  if constexpr (std::is_same_v<To, bool>) {
    return x != CF(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<CF>) {
    if (std::isnan(x)) return To(0);
    if (x <= static_cast<CF>(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    if (x >= static_cast<CF>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(x);
  } else {
    return static_cast<To>(static_cast<compute_t<To>>(x));
  }
}

template <typename From>
std::string to_string_value(From v) {
  if constexpr (std::is_same_v<From, bool>) {
    return v ? "1" : "0";
  } else {
    using C = compute_t<From>;
    C x = static_cast<C>(v);
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return "NaN";
      if (std::isinf(x)) return x > 0 ? "INF" : "-INF";
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest text that round-trips
    return std::string(buf, r.ptr);
  }
}

template <typename To>
To from_string_value(const std::string& s, const KernelContext& ctx) {
  const char* p = s.c_str();
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_same_v<To, bool>) {
    double d = std::strtod(p, &end);
    if (end == p) ctx.fail("cannot convert '", s, "' to bool");
    return d != 0;
  } else if constexpr (std::is_integral_v<To>) {
    long long v = std::strtoll(p, &end, 10);
    if (end == p || errno == ERANGE)
      ctx.fail("cannot convert '", s, "' to ", dtype_name(dtype_of<To>));
    return convert<To>(v);
  } else {
    double d = std::strtod(p, &end);  // accepts inf, nan, exponents
    if (end == p) ctx.fail("cannot convert '", s, "' to ", dtype_name(dtype_of<To>));
    return convert<To>(d);
  }
}

void cast_tensor(KernelContext& ctx, const Tensor& x, DType to) {
  Tensor& y = ctx.allocate(0, to, x.shape());
  int64_t n = x.numel();
  if (x.dtype() == to) {
    y.copy_from(x);
    return;
  }
  if (to == DType::String) {
    visit_numeric(x.dtype(), [&](auto tag) {
      using F = decltype(tag);
      for (int64_t i = 0; i < n; ++i) y.data<std::string>()[i] = to_string_value(x.data<F>()[i]);
    });
    return;
  }
  if (x.dtype() == DType::String) {
    visit_numeric(to, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < n; ++i)
        y.data<T>()[i] = from_string_value<T>(x.data<std::string>()[i], ctx);
    });
    return;
  }
  visit_numeric(x.dtype(), [&](auto ftag) {
    using F = decltype(ftag);
    visit_numeric(to, [&](auto ttag) {
      using T = decltype(ttag);
      const F* in = x.data<F>();
      T* out = y.data<T>();
      ctx.pool().parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = convert<T>(in[i]);
      });
    });
  });
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(const KernelInfo& info) {
    const ir::Attribute* a = info.node.find_attr("to");
    if (!a) info.fail(ErrorKind::InvalidModel, "attribute 'to' is required");
    if (a->type == ir::AttrType::String) {  // opset 1 spelled the type as a string
      static const std::pair<const char*, DType> names[] = {
          {"FLOAT", DType::Float32}, {"DOUBLE", DType::Float64}, {"FLOAT16", DType::Float16},
          {"INT8", DType::Int8},     {"INT16", DType::Int16},    {"INT32", DType::Int32},
          {"INT64", DType::Int64},   {"UINT8", DType::UInt8},    {"UINT16", DType::UInt16},
          {"UINT32", DType::UInt32}, {"UINT64", DType::UInt64},  {"BOOL", DType::Bool},
          {"STRING", DType::String}};
      for (const auto& [name, dt] : names) {
        if (a->s == name) to_ = dt;
      }
    } else if (!dtype_from_int(static_cast<int32_t>(a->i), &to_)) {
      to_ = DType::Undefined;
    }
    if (to_ == DType::Undefined || to_ == DType::Complex64 || to_ == DType::Complex128) {
      info.fail(ErrorKind::Unsupported, "cannot cast to element type ",
                a->type == ir::AttrType::String ? a->s : std::to_string(a->i));
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CastKernel>(i);
  }
  void compute(KernelContext& ctx) override { cast_tensor(ctx, ctx.input(0), to_); }

 private:
  DType to_ = DType::Undefined;
};

// BitCast (opset 26): the same bytes read as another type of the same width (little endian,
// as this machine stores them).
class BitCastKernel final : public Kernel {
 public:
  explicit BitCastKernel(const KernelInfo& info) {
    const ir::Attribute* a = info.node.find_attr("to");
    if (!a || a->type != ir::AttrType::Int)
      info.fail(ErrorKind::InvalidModel, "attribute 'to' is required");
    if (!dtype_from_int(static_cast<int32_t>(a->i), &to_) || to_ == DType::String) {
      info.fail(ErrorKind::Unsupported, "cannot bit-cast to element type ", a->i);
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<BitCastKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() == DType::String || dtype_size(x.dtype()) != dtype_size(to_)) {
      ctx.fail("cannot bit-cast ", dtype_name(x.dtype()), " to ", dtype_name(to_),
               ": the widths differ");
    }
    Tensor& y = ctx.allocate(0, to_, x.shape());
    std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
  }

 private:
  DType to_ = DType::Undefined;
};

void cast_like(KernelContext& ctx) {
  cast_tensor(ctx, ctx.input(0), ctx.input(1).dtype());
}

constexpr KernelDef kDefs[] = {
    {"", "Cast", 1, kLatest, &CastKernel::make},
    {"", "CastLike", 15, kLatest, &FnKernel<cast_like>::make},
    {"", "BitCast", 26, kLatest, &BitCastKernel::make},
};

}  // namespace

void register_cast_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
