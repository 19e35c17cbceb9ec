// Cast and CastLike between every pair of element types, strings included. Conversions
// that C++ leaves undefined (NaN or out-of-range floats to integers) are defined here:
// NaN becomes 0 and other values saturate, so no input can cause undefined behaviour.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "onyx/core/narrow.h"
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

// Whether strto* stopped at the end of the text (trailing blanks allowed): "3abc" is not 3.
bool consumed(const char* end) {
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
  return *end == '\0';
}

template <typename To>
To from_string_value(const std::string& s, const KernelContext& ctx) {
  const char* p = s.c_str();
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_same_v<To, bool>) {
    double d = std::strtod(p, &end);
    if (end == p || !consumed(end)) ctx.fail("cannot convert '", s, "' to bool");
    return d != 0;
  } else if constexpr (std::is_integral_v<To>) {
    long long v = std::strtoll(p, &end, 10);
    if (end != p && errno != ERANGE && consumed(end)) return convert<To>(v);
    double d = std::strtod(p, &end);  // "100.5" or "1e3": the spec allows truncating
    if (end == p || !consumed(end) || std::isnan(d) || std::isinf(d))
      ctx.fail("cannot convert '", s, "' to ", dtype_name(dtype_of<To>));
    return convert<To>(d);
  } else {
    double d = std::strtod(p, &end);  // accepts inf, nan, exponents
    if (end == p || !consumed(end))
      ctx.fail("cannot convert '", s, "' to ", dtype_name(dtype_of<To>));
    return convert<To>(d);
  }
}

// Casts that involve a narrow type go through the element's value: a float for the narrow
// source (exact, as narrow_values are), a double (or the integer itself) for the wider one.
void cast_narrow(KernelContext& ctx, const Tensor& x, Tensor& y, const NarrowCast& how) {
  int64_t n = x.numel();
  DType from = x.dtype(), to = y.dtype();
  if (is_narrow(from)) {
    const float* value = narrow_values(from);
    const uint8_t* in = x.data<uint8_t>();
    if (is_narrow(to)) {
      uint8_t* out = y.data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) out[i] = narrow_from_double(to, value[in[i]], how);
    } else if (to == DType::String) {
      for (int64_t i = 0; i < n; ++i) y.data<std::string>()[i] = to_string_value(value[in[i]]);
    } else {
      visit_numeric(to, [&](auto ttag) {
        using T = decltype(ttag);
        T* out = y.data<T>();
        for (int64_t i = 0; i < n; ++i) out[i] = convert<T>(value[in[i]]);
      });
    }
    return;
  }
  uint8_t* out = y.data<uint8_t>();
  if (from == DType::String) {
    for (int64_t i = 0; i < n; ++i) {
      out[i] =
          narrow_from_double(to, from_string_value<double>(x.data<std::string>()[i], ctx), how);
    }
    return;
  }
  visit_numeric(from, [&](auto ftag) {
    using F = decltype(ftag);
    const F* in = x.data<F>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<F>) {
        out[i] = is_narrow_int(to) ? narrow_wrap_int(to, static_cast<int64_t>(in[i]))
                                   : narrow_from_double(to, static_cast<double>(in[i]), how);
      } else {
        out[i] = narrow_from_double(to, to_double(in[i]), how);
      }
    }
  });
}

void cast_tensor(KernelContext& ctx, const Tensor& x, DType to, const NarrowCast& how) {
  Tensor& y = ctx.allocate(0, to, x.shape());
  int64_t n = x.numel();
  if (x.dtype() == to) {
    y.copy_from(x);
    return;
  }
  if (is_narrow(x.dtype()) || is_narrow(to)) {
    cast_narrow(ctx, x, y, how);
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

// Cast's and CastLike's saturate (opset 19) and round_mode (opset 24) attributes.
NarrowCast narrow_cast_attrs(const KernelInfo& info) {
  NarrowCast how;
  how.saturate = info.node.attr_int("saturate", 1) != 0;
  std::string mode = info.node.attr_string("round_mode", "up");
  if (mode == "up") {
    how.round = RoundMode::Up;
  } else if (mode == "down") {
    how.round = RoundMode::Down;
  } else if (mode == "nearest") {
    how.round = RoundMode::Nearest;
  } else {
    info.fail(ErrorKind::InvalidModel, "round_mode must be up, down or nearest, not '", mode, "'");
  }
  return how;
}

class CastKernel final : public Kernel {
 public:
  explicit CastKernel(const KernelInfo& info) : how_(narrow_cast_attrs(info)) {
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
  void compute(KernelContext& ctx) override { cast_tensor(ctx, ctx.input(0), to_, how_); }

 private:
  NarrowCast how_;
  DType to_ = DType::Undefined;
};

class CastLikeKernel final : public Kernel {
 public:
  explicit CastLikeKernel(const KernelInfo& info) : how_(narrow_cast_attrs(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CastLikeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    cast_tensor(ctx, ctx.input(0), ctx.input(1).dtype(), how_);
  }

 private:
  NarrowCast how_;
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
    if (x.dtype() == DType::String || dtype_bits(x.dtype()) != dtype_bits(to_)) {
      ctx.fail("cannot bit-cast ", dtype_name(x.dtype()), " to ", dtype_name(to_),
               ": the widths differ");
    }
    Tensor& y = ctx.allocate(0, to_, x.shape());
    if (x.nbytes()) std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
    if (dtype_bits(to_) < 8) {  // sub-byte: keep the element's bits, sign-extend for int4/int2
      uint8_t* b = y.data<uint8_t>();
      uint8_t mask = static_cast<uint8_t>((1u << dtype_bits(to_)) - 1);
      for (int64_t i = 0; i < y.numel(); ++i) {
        b[i] = is_narrow_int(to_) ? narrow_wrap_int(to_, b[i] & mask) : b[i] & mask;
      }
    }
  }

 private:
  DType to_ = DType::Undefined;
};

constexpr KernelDef kDefs[] = {
    {"", "Cast", 1, kLatest, &CastKernel::make},
    {"", "CastLike", 15, kLatest, &CastLikeKernel::make},
    {"", "BitCast", 26, kLatest, &BitCastKernel::make},
};

}  // namespace

void register_cast_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
