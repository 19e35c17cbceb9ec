// Gradient rules for elementwise arithmetic and math: broadcasting binaries, unary math
// (trigonometric and hyperbolic included), Mod, Min/Max/Sum/Mean, Where, Clip, Cast,
// Identity.
#include <cmath>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

void add_rule(GradContext& g) {
  g.set_dx_broadcast(0, g.dy(0));
  g.set_dx_broadcast(1, g.dy(0));
}

void sub_rule(GradContext& g) {
  g.set_dx_broadcast(0, g.dy(0));
  if (g.needs(1)) g.set_dx_broadcast(1, g.neg(g.dy(0)));
}

void mul_rule(GradContext& g) {
  if (g.needs(0)) g.set_dx_broadcast(0, g.mul(g.dy(0), g.x(1)));
  if (g.needs(1)) g.set_dx_broadcast(1, g.mul(g.dy(0), g.x(0)));
}

void div_rule(GradContext& g) {
  if (g.needs(0)) g.set_dx_broadcast(0, g.div(g.dy(0), g.x(1)));
  // d(a/b)/db = -a/b^2 = -y/b
  if (g.needs(1)) g.set_dx_broadcast(1, g.neg(g.mul(g.dy(0), g.div(g.y(0), g.x(1)))));
}

void pow_rule(GradContext& g) {
  std::string a = g.x(0), b = g.x(1);
  // The exponent may have another element type (Pow-12 and later); compute in the base's.
  if (g.dtype(b) != g.dtype(a) && g.dtype(a) != DType::Undefined) {
    b = g.as_type_of(b, a);
  }
  if (g.needs(0)) {
    std::string p = g.op("Pow", {a, g.sub(b, g.scalar(1, a))});
    g.set_dx_broadcast(0, g.mul(g.dy(0), g.mul(b, p)));
  }
  if (g.needs(1)) {
    // y * log(a); where a is 0 PyTorch takes the limit 0 (for b >= 0) rather than NaN.
    std::string zero = g.scalar(0, a);
    std::string t = g.mul(g.y(0), g.op("Log", {a}));
    t = g.op("Where", {g.op("Equal", {a, zero}), zero, t});
    g.set_dx_broadcast(1, g.mul(g.dy(0), t));
  }
}

void neg_rule(GradContext& g) {
  g.set_dx(0, g.neg(g.dy(0)));
}
void identity_rule(GradContext& g) {
  g.set_dx(0, g.dy(0));
}
void abs_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.op("Sign", {g.x(0)})));
}
void reciprocal_rule(GradContext& g) {
  g.set_dx(0, g.neg(g.mul(g.dy(0), g.mul(g.y(0), g.y(0)))));
}
void sqrt_rule(GradContext& g) {
  g.set_dx(0, g.div(g.dy(0), g.mul(g.y(0), g.scalar(2, g.x(0)))));
}
void exp_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.y(0)));
}
void log_rule(GradContext& g) {
  g.set_dx(0, g.div(g.dy(0), g.x(0)));
}
void sin_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.op("Cos", {g.x(0)})));
}
void cos_rule(GradContext& g) {
  g.set_dx(0, g.neg(g.mul(g.dy(0), g.op("Sin", {g.x(0)}))));
}
void tan_rule(GradContext& g) {  // 1 + y^2
  g.set_dx(0, g.mul(g.dy(0), g.add(g.scalar(1, g.x(0)), g.mul(g.y(0), g.y(0)))));
}

void erf_rule(GradContext& g) {  // 2/sqrt(pi) * exp(-x^2)
  std::string x = g.x(0);
  std::string e = g.op("Exp", {g.neg(g.mul(x, x))});
  g.set_dx(0, g.mul(g.dy(0), g.mul(e, g.scalar(2.0 / std::sqrt(M_PI), x))));
}

// 1 / sqrt(v): the derivatives of the inverse trigonometric and hyperbolic functions.
std::string rsqrt(GradContext& g, const std::string& v) {
  return g.op("Reciprocal", {g.op("Sqrt", {v})});
}
std::string squared(GradContext& g) {
  return g.mul(g.x(0), g.x(0));
}
void asin_rule(GradContext& g) {  // 1 / sqrt(1 - x^2)
  g.set_dx(0, g.mul(g.dy(0), rsqrt(g, g.sub(g.scalar(1, g.x(0)), squared(g)))));
}
void acos_rule(GradContext& g) {  // -1 / sqrt(1 - x^2)
  g.set_dx(0, g.neg(g.mul(g.dy(0), rsqrt(g, g.sub(g.scalar(1, g.x(0)), squared(g))))));
}
void atan_rule(GradContext& g) {  // 1 / (1 + x^2)
  g.set_dx(0, g.div(g.dy(0), g.add(g.scalar(1, g.x(0)), squared(g))));
}
void sinh_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.op("Cosh", {g.x(0)})));
}
void cosh_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.op("Sinh", {g.x(0)})));
}
void asinh_rule(GradContext& g) {  // 1 / sqrt(x^2 + 1)
  g.set_dx(0, g.mul(g.dy(0), rsqrt(g, g.add(squared(g), g.scalar(1, g.x(0))))));
}
void acosh_rule(GradContext& g) {  // 1 / sqrt(x^2 - 1)
  g.set_dx(0, g.mul(g.dy(0), rsqrt(g, g.sub(squared(g), g.scalar(1, g.x(0))))));
}
void atanh_rule(GradContext& g) {  // 1 / (1 - x^2)
  g.set_dx(0, g.div(g.dy(0), g.sub(g.scalar(1, g.x(0)), squared(g))));
}

// Mod with fmod=1 (required for floats): a - b * trunc(a / b), so da = 1 and
// db = -trunc(a / b), trunc being sign * floor(abs).
void mod_rule(GradContext& g) {
  if (g.needs(0)) g.set_dx_broadcast(0, g.dy(0));
  if (g.needs(1)) {
    std::string q = g.div(g.x(0), g.x(1));
    std::string t = g.mul(g.op("Sign", {q}), g.op("Floor", {g.op("Abs", {q})}));
    g.set_dx_broadcast(1, g.neg(g.mul(g.dy(0), t)));
  }
}

// Min and Max: the gradient goes to the inputs equal to the result, shared evenly among
// ties (for two inputs this is PyTorch's maximum/minimum: half each on a tie).
void minmax_rule(GradContext& g) {
  size_t n = g.num_inputs();
  if (n == 1) return g.set_dx(0, g.dy(0));
  std::vector<std::string> masks(n);
  std::string count;
  for (size_t i = 0; i < n; ++i) {
    masks[i] = g.as_type_of(g.op("Equal", {g.x(i), g.y(0)}), g.y(0));
    count = count.empty() ? masks[i] : g.add(count, masks[i]);
  }
  std::string share = g.div(g.dy(0), count);
  for (size_t i = 0; i < n; ++i) {
    if (g.needs(i)) g.set_dx_broadcast(i, g.mul(share, masks[i]));
  }
}

void sum_rule(GradContext& g) {
  for (size_t i = 0; i < g.num_inputs(); ++i) g.set_dx_broadcast(i, g.dy(0));
}

void mean_rule(GradContext& g) {
  std::string d = g.div(g.dy(0), g.scalar(static_cast<double>(g.num_inputs()), g.y(0)));
  for (size_t i = 0; i < g.num_inputs(); ++i) g.set_dx_broadcast(i, d);
}

void where_rule(GradContext& g) {
  std::string zero = g.scalar(0, g.y(0));
  if (g.needs(1)) g.set_dx_broadcast(1, g.op("Where", {g.x(0), g.dy(0), zero}));
  if (g.needs(2)) g.set_dx_broadcast(2, g.op("Where", {g.x(0), zero, g.dy(0)}));
}

// Clip: the gradient passes where min <= x <= max (PyTorch's clamp); the bounds are
// attributes before opset 11 and optional inputs after.
void clip_rule(GradContext& g) {
  std::string x = g.x(0);
  std::string lo, hi;
  if (g.opset() < 11) {
    const ir::Node& n = g.node();
    if (n.has_attr("min")) lo = g.scalar(n.attr_float("min", 0), x);
    if (n.has_attr("max")) hi = g.scalar(n.attr_float("max", 0), x);
  } else {
    if (g.has_x(1)) lo = g.x(1);
    if (g.has_x(2)) hi = g.x(2);
  }
  std::string mask;
  if (!lo.empty()) mask = g.op("Not", {g.op("Less", {x, lo})});
  if (!hi.empty()) {
    std::string m = g.op("Not", {g.op("Greater", {x, hi})});
    mask = mask.empty() ? m : g.op("And", {mask, m});
  }
  if (mask.empty()) return g.set_dx(0, g.dy(0));
  if (g.opset() < 9) {  // no Where yet: multiply by the mask
    return g.set_dx(0, g.mul(g.dy(0), g.as_type_of(mask, x)));
  }
  g.set_dx(0, g.op("Where", {mask, g.dy(0), g.scalar(0, x)}));
}

void cast_rule(GradContext& g) {
  DType from = g.dtype(g.x(0));
  if (!is_floating(from)) return;  // integer inputs get no gradient
  g.set_dx(0, g.op("Cast", {g.dy(0)}, {attr("to", static_cast<int64_t>(from))}));
}

void castlike_rule(GradContext& g) {
  if (g.needs(0)) g.set_dx(0, g.op("CastLike", {g.dy(0), g.x(0)}));
}

constexpr GradDef kDefs[] = {
    {"", "Add", 7, kLatestOpset, add_rule},
    {"", "Sub", 7, kLatestOpset, sub_rule},
    {"", "Mul", 7, kLatestOpset, mul_rule},
    {"", "Div", 7, kLatestOpset, div_rule},
    {"", "Pow", 7, kLatestOpset, pow_rule},
    {"", "Neg", 1, kLatestOpset, neg_rule},
    {"", "Abs", 1, kLatestOpset, abs_rule},
    {"", "Reciprocal", 1, kLatestOpset, reciprocal_rule},
    {"", "Sqrt", 1, kLatestOpset, sqrt_rule},
    {"", "Exp", 1, kLatestOpset, exp_rule},
    {"", "Log", 1, kLatestOpset, log_rule},
    {"", "Sin", 1, kLatestOpset, sin_rule},
    {"", "Cos", 1, kLatestOpset, cos_rule},
    {"", "Tan", 1, kLatestOpset, tan_rule},
    {"", "Erf", 1, kLatestOpset, erf_rule},
    {"", "Asin", 7, kLatestOpset, asin_rule},
    {"", "Acos", 7, kLatestOpset, acos_rule},
    {"", "Atan", 7, kLatestOpset, atan_rule},
    {"", "Sinh", 9, kLatestOpset, sinh_rule},
    {"", "Cosh", 9, kLatestOpset, cosh_rule},
    {"", "Asinh", 9, kLatestOpset, asinh_rule},
    {"", "Acosh", 9, kLatestOpset, acosh_rule},
    {"", "Atanh", 9, kLatestOpset, atanh_rule},
    {"", "Mod", 10, kLatestOpset, mod_rule},
    {"", "Min", 1, kLatestOpset, minmax_rule},
    {"", "Max", 1, kLatestOpset, minmax_rule},
    {"", "Sum", 1, kLatestOpset, sum_rule},
    {"", "Mean", 1, kLatestOpset, mean_rule},
    {"", "Where", 9, kLatestOpset, where_rule},
    {"", "Clip", 1, kLatestOpset, clip_rule},
    {"", "Cast", 1, kLatestOpset, cast_rule},
    {"", "CastLike", 15, kLatestOpset, castlike_rule},
    {"", "Identity", 1, kLatestOpset, identity_rule},
    // Piecewise constant: zero gradient almost everywhere, as in PyTorch.
    {"", "Sign", 9, kLatestOpset, no_gradient},
    {"", "Floor", 1, kLatestOpset, no_gradient},
    {"", "Ceil", 1, kLatestOpset, no_gradient},
    {"", "Round", 11, kLatestOpset, no_gradient},
    // Float outputs that do not depend smoothly on float inputs (shapes, random draws).
    {"", "EyeLike", 9, kLatestOpset, no_gradient},
    {"", "Range", 11, kLatestOpset, no_gradient},
    {"", "RandomNormalLike", 1, kLatestOpset, no_gradient},
    {"", "RandomUniformLike", 1, kLatestOpset, no_gradient},
    {"", "Bernoulli", 15, kLatestOpset, no_gradient},
};

}  // namespace

std::span<const GradDef> elementwise_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
