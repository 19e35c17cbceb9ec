// Unary math: one functor per op, registered with the element types its spec allows.
#include <cmath>

#include "onyx/ops/elementwise.h"
#include "onyx/ops/fast_math.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

#define ONYX_UNARY(Name, expr) \
  struct Name {                \
    template <typename T>      \
    T operator()(T x) const {  \
      return expr;             \
    }                          \
  };

ONYX_UNARY(AbsOp, (x < T(0) ? T(-x) : x))
ONYX_UNARY(NegOp, T(-x))
ONYX_UNARY(SignOp, T(x > T(0) ? 1 : (x < T(0) ? -1 : 0)))
ONYX_UNARY(ReciprocalOp, T(1) / x)
ONYX_UNARY(SqrtOp, std::sqrt(x))
ONYX_UNARY(ExpOp, std::exp(x))
ONYX_UNARY(LogOp, std::log(x))
ONYX_UNARY(SinOp, std::sin(x))
ONYX_UNARY(CosOp, std::cos(x))
ONYX_UNARY(TanOp, std::tan(x))
ONYX_UNARY(AsinOp, std::asin(x))
ONYX_UNARY(AcosOp, std::acos(x))
ONYX_UNARY(AtanOp, std::atan(x))
ONYX_UNARY(SinhOp, std::sinh(x))
ONYX_UNARY(CoshOp, std::cosh(x))
ONYX_UNARY(AsinhOp, std::asinh(x))
ONYX_UNARY(AcoshOp, std::acosh(x))
ONYX_UNARY(AtanhOp, std::atanh(x))
ONYX_UNARY(TanhOp, std::tanh(x))
// float through the vectorisable erf_f32 (ops/fast_math.h); other types through libm.
ONYX_UNARY(ErfOp, T(std::is_same_v<T, float> ? erf_f32(float(x)) : std::erf(x)))
ONYX_UNARY(FloorOp, std::floor(x))
ONYX_UNARY(CeilOp, std::ceil(x))
ONYX_UNARY(RoundOp, std::nearbyint(x))  // default rounding mode: half to even, as the spec says
ONYX_UNARY(IdentityOp, x)
ONYX_UNARY(NotOp, !x)
#undef ONYX_UNARY

template <typename Op, Types C>
constexpr KernelDef unary(const char* name, int since, int until = kLatest) {
  return {"", name, since, until, &UnaryKernel<Op, C>::make};
}

// IsNaN and IsInf produce bool from floats.
void is_nan(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.allocate(0, DType::Bool, x.shape());
  visit_types<Types::Float>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    map_unary<T, bool>(x, y, ctx.pool(), [](auto v) { return std::isnan(v); });
  });
}

class IsInfKernel final : public Kernel {
 public:
  explicit IsInfKernel(const KernelInfo& info)
      : neg_(info.node.attr_int("detect_negative", 1) != 0),
        pos_(info.node.attr_int("detect_positive", 1) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<IsInfKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.allocate(0, DType::Bool, x.shape());
    visit_types<Types::Float>(x.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      bool neg = neg_, pos = pos_;
      map_unary<T, bool>(x, y, ctx.pool(), [neg, pos](auto v) {
        return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
      });
    });
  }

 private:
  bool neg_, pos_;
};

// Identity passes any value through (tensors of any type, sequences, optionals).
void identity(KernelContext& ctx) {
  ctx.set_output(0, ctx.input_value(0));
}

constexpr KernelDef kDefs[] = {
    unary<AbsOp, Types::Numeric>("Abs", 1),
    unary<NegOp, Types::SignedOrFloat>("Neg", 1),
    unary<SignOp, Types::Numeric>("Sign", 9),
    unary<ReciprocalOp, Types::Float>("Reciprocal", 1),
    unary<SqrtOp, Types::Float>("Sqrt", 1),
    unary<ExpOp, Types::Float>("Exp", 1),
    unary<LogOp, Types::Float>("Log", 1),
    unary<SinOp, Types::Float>("Sin", 7),
    unary<CosOp, Types::Float>("Cos", 7),
    unary<TanOp, Types::Float>("Tan", 7),
    unary<AsinOp, Types::Float>("Asin", 7),
    unary<AcosOp, Types::Float>("Acos", 7),
    unary<AtanOp, Types::Float>("Atan", 7),
    unary<SinhOp, Types::Float>("Sinh", 9),
    unary<CoshOp, Types::Float>("Cosh", 9),
    unary<AsinhOp, Types::Float>("Asinh", 9),
    unary<AcoshOp, Types::Float>("Acosh", 9),
    unary<AtanhOp, Types::Float>("Atanh", 9),
    unary<TanhOp, Types::Float>("Tanh", 1),
    unary<ErfOp, Types::Float>("Erf", 9),
    unary<FloorOp, Types::Float>("Floor", 1),
    unary<CeilOp, Types::Float>("Ceil", 1),
    unary<RoundOp, Types::Float>("Round", 11),
    unary<NotOp, Types::Bool>("Not", 1),
    {"", "IsNaN", 9, kLatest, &FnKernel<is_nan>::make},
    {"", "IsInf", 10, kLatest, &IsInfKernel::make},
    {"", "Identity", 1, kLatest, &FnKernel<identity>::make},
};

}  // namespace

void register_unary_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
