// Binary and variadic elementwise ops with NumPy broadcasting: arithmetic, comparison,
// logic, bitwise ops and shifts, Where. BitwiseNot, though unary, lives here beside
// BitwiseAnd/Or/Xor. Opsets before 7 used a `broadcast`/`axis` attribute pair, which is
// handled here by reshaping B.
#include <bit>
#include <cmath>
#include <type_traits>

#include "onyx/ops/elementwise.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct SubOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a - b;
  }
};
struct MulOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a * b;
  }
};
struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == T(0)) return T(0);  // integer division by zero is undefined in C++
      if constexpr (std::is_signed_v<T>) {
        // INT_MIN / -1 overflows (and traps on x86): negate with wrap-around instead.
        using U = std::make_unsigned_t<T>;
        if (b == T(-1)) return static_cast<T>(U(0) - static_cast<U>(a));
      }
      return T(a / b);
    } else {
      return a / b;
    }
  }
};
struct MaxOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a > b ? a : b;
  }
};
struct MinOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a < b ? a : b;
  }
};
struct EqualOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};
struct LessOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessEqOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct GreaterOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterEqOp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a >= b;
  }
};
struct AndOp {
  bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
  bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
  bool operator()(bool a, bool b) const { return a != b; }
};
struct BitAndOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a & b;
  }
};
struct BitOrOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a | b;
  }
};
struct BitXorOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a ^ b;
  }
};
// Integer promotion widens `a` before ~, so the cast back keeps only T's bits.
struct BitNotOp {
  template <typename T>
  T operator()(T a) const {
    return static_cast<T>(~a);
  }
};

// B's shape as broadcasting sees it: for opset < 7 with broadcast=1, B aligns with A at
// `axis` (default: trailing), so append ones after it.
Shape legacy_b_shape(const ir::Node& node, int64_t opset, const Shape& a, const Shape& b) {
  if (opset >= 7 || node.attr_int("broadcast", 0) == 0) return b;
  int64_t axis = node.attr_int("axis", static_cast<int64_t>(a.size() - b.size()));
  if (axis < 0) axis += static_cast<int64_t>(a.size());
  Shape out = b;
  int64_t trailing = static_cast<int64_t>(a.size()) - axis - static_cast<int64_t>(b.size());
  for (int64_t i = 0; i < trailing; ++i) out.push_back(1);
  return out;
}

// Binary op: Out is bool for comparisons, the input type otherwise.
template <typename Op, Types C, bool Compare>
class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(const KernelInfo& info) : node_(info.node), opset_(info.opset) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<BinaryKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    Tensor b = ctx.input(1);
    if (a.dtype() != b.dtype()) {
      ctx.fail("inputs must have the same element type, got ", dtype_name(a.dtype()), " and ",
               dtype_name(b.dtype()));
    }
    if (opset_ < 7) b = b.reshape(legacy_b_shape(node_, opset_, a.shape(), b.shape()));
    Shape out_shape;
    if (!broadcast_shapes(a.shape(), b.shape(), &out_shape)) {
      ctx.fail("shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " do not broadcast");
    }
    Tensor& out = ctx.allocate(0, Compare ? DType::Bool : a.dtype(), out_shape);
    visit_types<C>(a.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (Compare) {
        map_binary<T, T, bool>(a, b, out, ctx.pool(), Op{});
      } else {
        map_binary<T, T, T>(a, b, out, ctx.pool(), Op{});
      }
    });
  }

 private:
  const ir::Node& node_;
  int64_t opset_;
};

// Equal also takes bool and strings.
void equal(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) ctx.fail("inputs must have the same element type");
  Tensor& out = ctx.allocate(0, DType::Bool, broadcast_inputs(ctx, {0, 1}));
  if (a.dtype() == DType::String) {
    map_binary<std::string, std::string, bool>(a, b, out, ctx.pool(), EqualOp{});
    return;
  }
  visit_numeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map_binary<T, T, bool>(a, b, out, ctx.pool(), EqualOp{});
  });
}

// Pow: base and exponent may have different types; the result has the base's type.
void pow_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& out = ctx.allocate(0, a.dtype(), broadcast_inputs(ctx, {0, 1}));
  visit_types<Types::Numeric>(a.dtype(), ctx, [&](auto ta) {
    using A = decltype(ta);
    visit_types<Types::Numeric>(b.dtype(), ctx, [&](auto tb) {
      using B = decltype(tb);
      map_binary<A, B, A>(a, b, out, ctx.pool(), [](auto x, auto y) {
        using CA = decltype(x);
        if constexpr (std::is_integral_v<CA> && std::is_integral_v<decltype(y)>) {
          // Integer power by squaring, as NumPy does; negative exponents give 0 except for 1/-1.
          if constexpr (std::is_signed_v<decltype(y)>) {
            if (y < 0) {
              if (x == 1) return CA(1);
              if constexpr (std::is_signed_v<CA>) {
                if (x == -1) return static_cast<CA>((y & 1) ? -1 : 1);
              }
              return CA(0);
            }
          }
          // In the unsigned type of the same width: overflow wraps as NumPy's does, where
          // signed overflow would be undefined behaviour.
          using U = std::make_unsigned_t<CA>;
          U result = 1, base = static_cast<U>(x);
          auto e = y;
          while (e) {
            if (e & 1) result = static_cast<U>(result * base);
            base = static_cast<U>(base * base);
            e >>= 1;
          }
          return static_cast<CA>(result);
        } else {
          return static_cast<CA>(std::pow(static_cast<double>(x), static_cast<double>(y)));
        }
      });
    });
  });
}

// Mod: fmod=0 follows the divisor's sign (Python), fmod=1 the dividend's (C fmod).
class ModKernel final : public Kernel {
 public:
  explicit ModKernel(const KernelInfo& info) : fmod_(info.node.attr_int("fmod", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<ModKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype()) ctx.fail("inputs must have the same element type");
    if (is_floating(a.dtype()) && !fmod_) ctx.fail("floating point Mod requires fmod=1");
    Tensor& out = ctx.allocate(0, a.dtype(), broadcast_inputs(ctx, {0, 1}));
    bool fm = fmod_;
    visit_types<Types::Numeric>(a.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      map_binary<T, T, T>(a, b, out, ctx.pool(), [fm](auto x, auto y) {
        using C = decltype(x);
        if constexpr (std::is_floating_point_v<C>) {
          return static_cast<C>(std::fmod(x, y));
        } else {
          if (y == 0) return C(0);
          if constexpr (std::is_signed_v<C>) {
            if (y == C(-1)) return C(0);  // INT_MIN % -1 traps on x86; x % -1 is 0
          }
          C r = static_cast<C>(x % y);
          if (!fm && r != 0 && ((r < 0) != (y < 0))) r = static_cast<C>(r + y);
          return r;
        }
      });
    });
  }

 private:
  bool fmod_;
};

class BitShiftKernel final : public Kernel {
 public:
  explicit BitShiftKernel(const KernelInfo& info) {
    std::string dir = info.node.attr_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
      info.fail(ErrorKind::InvalidModel, "direction must be LEFT or RIGHT");
    left_ = dir == "LEFT";
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<BitShiftKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (!is_unsigned_int(a.dtype()) || a.dtype() != b.dtype())
      ctx.fail("inputs must be unsigned integers of one type");
    Tensor& out = ctx.allocate(0, a.dtype(), broadcast_inputs(ctx, {0, 1}));
    bool left = left_;
    visit_types<Types::Integer>(a.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      map_binary<T, T, T>(a, b, out, ctx.pool(), [left](auto x, auto y) {
        using C = decltype(x);
        if (y >= static_cast<C>(sizeof(C) * 8)) return C(0);
        return static_cast<C>(left ? x << y : x >> y);
      });
    });
  }

 private:
  bool left_ = true;
};

// Sum, Max, Min, Mean over any number of broadcasting inputs.
template <typename Op, bool IsMean>
void variadic(KernelContext& ctx) {
  size_t n = ctx.num_inputs();
  if (n == 0) ctx.fail("needs at least one input");
  const Tensor& first = ctx.input(0);
  std::vector<size_t> all(n);
  Shape out_shape = first.shape();
  for (size_t i = 1; i < n; ++i) {
    if (ctx.input(i).dtype() != first.dtype()) ctx.fail("inputs must have the same element type");
    Shape next;
    if (!broadcast_shapes(out_shape, ctx.input(i).shape(), &next)) {
      ctx.fail(ctx.input_name(i), " of shape ", shape_str(ctx.input(i).shape()),
               " does not broadcast with ", shape_str(out_shape));
    }
    out_shape = next;
  }
  Tensor& out = ctx.allocate(0, first.dtype(), out_shape);
  visit_types<IsMean ? Types::Float : Types::Numeric>(first.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    // Broadcast the first input into out, then fold the others in place.
    Tensor zero = Tensor::zeros(first.dtype(), {});
    map_binary<T, T, T>(first, zero, out, ctx.pool(), [](auto x, auto) { return x; });
    for (size_t i = 1; i < n; ++i) map_binary<T, T, T>(out, ctx.input(i), out, ctx.pool(), Op{});
    if constexpr (IsMean) {
      using C = compute_t<T>;
      C scale = C(1) / static_cast<C>(n);
      map_unary<T, T>(out, out, ctx.pool(), [scale](C v) { return v * scale; });
    }
  });
}

// c ? a : b without a branch for plain numbers (GCC branches on a loaded bool even when
// both sides are loaded): a bit mask picks the bits.
template <typename T>
inline T select(bool c, T a, T b) {
  if constexpr (std::is_trivially_copyable_v<T> &&
                (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8)) {
    using U = std::conditional_t<
        sizeof(T) == 1, uint8_t,
        std::conditional_t<sizeof(T) == 2, uint16_t,
                           std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
    U m = static_cast<U>(-static_cast<U>(c));
    U r = static_cast<U>((std::bit_cast<U>(a) & m) | (std::bit_cast<U>(b) & static_cast<U>(~m)));
    return std::bit_cast<T>(r);
  } else {
    return c ? a : b;
  }
}

void where(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != DType::Bool) ctx.fail("condition must be bool");
  if (x.dtype() != y.dtype()) ctx.fail("X and Y must have the same element type");
  Shape out_shape = broadcast_inputs(ctx, {0, 1, 2});
  Tensor& out = ctx.allocate(0, x.dtype(), out_shape);
  auto plan = plan_broadcast<3>({&c.shape(), &x.shape(), &y.shape()}, out_shape);
  visit_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const bool* cp = c.data<bool>();
    const T* xp = x.data<T>();
    const T* yp = y.data<T>();
    T* op = out.data<T>();
    // Both sides are read unconditionally so that the select compiles to a blend: the
    // condition (a ReLU mask in gradients) is unpredictable. Rows whose strides are 0 or 1
    // get loops the compiler can vectorise.
    auto rows = [&]<int64_t S0, int64_t S1, int64_t S2>(
                    int64_t o, const std::array<int64_t, 3>& off, int64_t len) {
      const bool* c0 = cp + off[0];
      const T* x0 = xp + off[1];
      const T* y0 = yp + off[2];
      for (int64_t i = 0; i < len; ++i) op[o + i] = select(c0[i * S0], x0[i * S1], y0[i * S2]);
    };
    for_each_broadcast_row(plan, ctx.pool(),
                           [&](int64_t o, const std::array<int64_t, 3>& off, int64_t len,
                               const std::array<int64_t, 3>& st) {
                             if (st == std::array<int64_t, 3>{1, 1, 1}) {
                               rows.template operator()<1, 1, 1>(o, off, len);
                             } else if (st == std::array<int64_t, 3>{1, 1, 0}) {
                               rows.template operator()<1, 1, 0>(o, off, len);
                             } else if (st == std::array<int64_t, 3>{1, 0, 1}) {
                               rows.template operator()<1, 0, 1>(o, off, len);
                             } else {
                               for (int64_t i = 0; i < len; ++i) {
                                 op[o + i] = select(cp[off[0] + i * st[0]], xp[off[1] + i * st[1]],
                                                    yp[off[2] + i * st[2]]);
                               }
                             }
                           });
  });
}

template <typename Op, Types C, bool Compare = false>
constexpr KernelDef binary(const char* name, int since, int until = kLatest) {
  return {"", name, since, until, &BinaryKernel<Op, C, Compare>::make};
}

constexpr KernelDef kDefs[] = {
    binary<AddOp, Types::Numeric>("Add", 1),
    binary<SubOp, Types::Numeric>("Sub", 1),
    binary<MulOp, Types::Numeric>("Mul", 1),
    binary<DivOp, Types::Numeric>("Div", 1),
    binary<LessOp, Types::Numeric, true>("Less", 1),
    binary<LessEqOp, Types::Numeric, true>("LessOrEqual", 12),
    binary<GreaterOp, Types::Numeric, true>("Greater", 1),
    binary<GreaterEqOp, Types::Numeric, true>("GreaterOrEqual", 12),
    binary<AndOp, Types::Bool, true>("And", 1),
    binary<OrOp, Types::Bool, true>("Or", 1),
    binary<XorOp, Types::Bool, true>("Xor", 1),
    binary<BitAndOp, Types::Integer>("BitwiseAnd", 18),
    binary<BitOrOp, Types::Integer>("BitwiseOr", 18),
    binary<BitXorOp, Types::Integer>("BitwiseXor", 18),
    {"", "BitwiseNot", 18, kLatest, &UnaryKernel<BitNotOp, Types::Integer>::make},
    {"", "Equal", 1, kLatest, &FnKernel<equal>::make},
    {"", "Pow", 1, kLatest, &FnKernel<pow_kernel>::make},
    {"", "Mod", 10, kLatest, &ModKernel::make},
    {"", "BitShift", 11, kLatest, &BitShiftKernel::make},
    {"", "Sum", 1, kLatest, &FnKernel<variadic<AddOp, false>>::make},
    {"", "Max", 1, kLatest, &FnKernel<variadic<MaxOp, false>>::make},
    {"", "Min", 1, kLatest, &FnKernel<variadic<MinOp, false>>::make},
    {"", "Mean", 1, kLatest, &FnKernel<variadic<AddOp, true>>::make},
    {"", "Where", 9, kLatest, &FnKernel<where>::make},
};

}  // namespace

void register_binary_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
