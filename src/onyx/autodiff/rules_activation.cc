// Gradient rules for activations (SwiGLU with them) and the softmax family.
#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// dy where `cond`, else `otherwise` (a value the rule computed, or 0).
std::string select(GradContext& g, const std::string& cond, const std::string& otherwise) {
  return g.op("Where", {cond, g.dy(0), otherwise});
}

std::string positive(GradContext& g) {
  return g.op("Greater", {g.x(0), g.scalar(0, g.x(0))});
}

// y > 0 exactly where x > 0; testing y leaves x to Relu alone, so the runtime can fuse the
// Relu into the Conv that makes x (training graphs too).
void relu_rule(GradContext& g) {
  std::string y = g.y(0);
  g.set_dx(0, select(g, g.op("Greater", {y, g.scalar(0, y)}), g.scalar(0, y)));
}

void leaky_relu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 0.01f);
  g.set_dx(0, select(g, positive(g), g.mul(g.dy(0), g.scalar(alpha, g.x(0)))));
}

void prelu_rule(GradContext& g) {
  std::string x = g.x(0), slope = g.x(1), pos = positive(g), zero = g.scalar(0, x);
  if (g.needs(0)) g.set_dx(0, select(g, pos, g.mul(g.dy(0), slope)));
  if (g.needs(1)) {
    g.set_dx_broadcast(1, g.op("Where", {pos, zero, g.mul(g.dy(0), x)}));
  }
}

void sigmoid_rule(GradContext& g) {
  std::string y = g.y(0);
  g.set_dx(0, g.mul(g.dy(0), g.mul(y, g.sub(g.scalar(1, y), y))));
}

void tanh_rule(GradContext& g) {
  std::string y = g.y(0);
  g.set_dx(0, g.mul(g.dy(0), g.sub(g.scalar(1, y), g.mul(y, y))));
}

// Elu: y = alpha (e^x - 1) for x <= 0, so dy/dx = y + alpha there.
void elu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.0f);
  g.set_dx(0, select(g, positive(g), g.mul(g.dy(0), g.add(g.y(0), g.scalar(alpha, g.x(0))))));
}

// Selu: y = gamma alpha (e^x - 1) for x <= 0, so dy/dx = y + gamma alpha there.
void selu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.67326319217681884765625f);
  float gamma = g.node().attr_float("gamma", 1.05070102214813232421875f);
  std::string x = g.x(0);
  std::string neg = g.mul(g.dy(0), g.add(g.y(0), g.scalar(double(gamma) * alpha, x)));
  g.set_dx(0, g.op("Where", {positive(g), g.mul(g.dy(0), g.scalar(gamma, x)), neg}));
}

// Celu: y = alpha (e^(x/alpha) - 1) for x <= 0, so dy/dx = y / alpha + 1 there.
void celu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.0f);
  std::string x = g.x(0);
  std::string d = g.add(g.div(g.y(0), g.scalar(alpha, x)), g.scalar(1, x));
  g.set_dx(0, select(g, positive(g), g.mul(g.dy(0), d)));
}

void softplus_rule(GradContext& g) {
  g.set_dx(0, g.mul(g.dy(0), g.op("Sigmoid", {g.x(0)})));
}

// Mish: y = x t with t = tanh(softplus(x)), so dy/dx = t + x (1 - t^2) sigmoid(x).
void mish_rule(GradContext& g) {
  std::string x = g.x(0), t = g.op("Tanh", {g.op("Softplus", {x})});
  std::string dt = g.mul(g.sub(g.scalar(1, x), g.mul(t, t)), g.op("Sigmoid", {x}));
  g.set_dx(0, g.mul(g.dy(0), g.add(t, g.mul(x, dt))));
}

// Gelu: exact, d/dx x Phi(x) = Phi(x) + x phi(x); tanh form, with t = tanh(u),
// u = c (x + 0.044715 x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2).
void gelu_rule(GradContext& g) {
  std::string x = g.x(0), d;
  if (g.node().attr_string("approximate", "none") == "tanh") {
    const double c = 0.7978845608028654, k = 0.044715;
    std::string x2 = g.mul(x, x);
    std::string u = g.mul(g.scalar(c, x), g.add(x, g.mul(g.scalar(k, x), g.mul(x2, x))));
    std::string t = g.op("Tanh", {u});
    std::string du = g.mul(g.scalar(c, x), g.add(g.scalar(1, x), g.mul(g.scalar(3 * k, x), x2)));
    std::string half_x = g.mul(g.scalar(0.5, x), x);
    d = g.add(g.mul(g.scalar(0.5, x), g.add(g.scalar(1, x), t)),
              g.mul(half_x, g.mul(g.sub(g.scalar(1, x), g.mul(t, t)), du)));
  } else {
    std::string cdf =
        g.mul(g.scalar(0.5, x),
              g.add(g.scalar(1, x), g.op("Erf", {g.mul(x, g.scalar(0.7071067811865476, x))})));
    std::string pdf = g.mul(g.scalar(0.3989422804014327, x),
                            g.op("Exp", {g.mul(g.scalar(-0.5, x), g.mul(x, x))}));  // 1/sqrt(2 pi)
    d = g.add(cdf, g.mul(x, pdf));
  }
  g.set_dx(0, g.mul(g.dy(0), d));
}

// Swish: y = x s with s = sigmoid(alpha x): dy/dx = s + alpha x s (1 - s).
std::string swish_slope(GradContext& g, const std::string& x, const std::string& s, float alpha) {
  std::string ds = g.mul(g.mul(g.scalar(alpha, x), x), g.mul(s, g.sub(g.scalar(1, x), s)));
  return g.add(s, ds);
}

std::string swish_sigmoid(GradContext& g, const std::string& x, float alpha) {
  return g.op("Sigmoid", {g.mul(x, g.scalar(alpha, x))});
}

void swish_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.0f);
  std::string x = g.x(0);
  g.set_dx(0, g.mul(g.dy(0), swish_slope(g, x, swish_sigmoid(g, x, alpha), alpha)));
}

// SwiGLU (opset 28): y = Swish_alpha(a) b, elementwise (no broadcasting), so
// da = dy b Swish'(a) and db = dy Swish(a) = dy a s.
void swiglu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.0f);
  std::string a = g.x(0), b = g.x(1), dy = g.dy(0), s = swish_sigmoid(g, a, alpha);
  if (g.needs(0)) g.set_dx(0, g.mul(dy, g.mul(b, swish_slope(g, a, s, alpha))));
  if (g.needs(1)) g.set_dx(1, g.mul(dy, g.mul(a, s)));
}

void softsign_rule(GradContext& g) {  // 1 / (1 + |x|)^2
  std::string x = g.x(0);
  std::string d = g.add(g.scalar(1, x), g.op("Abs", {x}));
  g.set_dx(0, g.div(g.dy(0), g.mul(d, d)));
}

// HardSigmoid: alpha where 0 < alpha x + beta < 1, else 0.
void hard_sigmoid_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 0.2f), beta = g.node().attr_float("beta", 0.5f);
  std::string x = g.x(0);
  std::string t = g.add(g.mul(x, g.scalar(alpha, x)), g.scalar(beta, x));
  std::string inside =
      g.op("And", {g.op("Greater", {t, g.scalar(0, x)}), g.op("Less", {t, g.scalar(1, x)})});
  g.set_dx(0, g.op("Where", {inside, g.mul(g.dy(0), g.scalar(alpha, x)), g.scalar(0, x)}));
}

void hard_swish_rule(GradContext& g) {  // y = x * hardsigmoid(x; 1/6, 1/2)
  std::string x = g.x(0);
  std::string lo = g.op("Less", {x, g.scalar(-3, x)}), hi = g.op("Greater", {x, g.scalar(3, x)});
  std::string mid = g.add(g.div(x, g.scalar(3, x)), g.scalar(0.5, x));
  std::string d = g.op("Where", {lo, g.scalar(0, x), g.op("Where", {hi, g.scalar(1, x), mid})});
  g.set_dx(0, g.mul(g.dy(0), d));
}

// Softmax over `axis` (opset 13 on) or over the 2-D coercion [prod(d<axis), prod(d>=axis)]
// (before 13): the 2-D form is Flatten + the same rule over axis 1 + Reshape back.
template <bool kLog>
void softmax_family_rule(GradContext& g) {
  bool coerced = g.opset() < 13;
  int64_t axis = g.node().attr_int("axis", coerced ? 1 : -1);
  std::string y = g.y(0), dy = g.dy(0);
  if (coerced) {
    y = g.op("Flatten", {y}, {attr("axis", axis)});
    dy = g.op("Flatten", {dy}, {attr("axis", axis)});
    axis = 1;
  }
  std::string dx;
  if (kLog) {  // dx = dy - softmax * sum(dy)
    dx = g.sub(dy, g.mul(g.op("Exp", {y}), g.reduce_sum(dy, {axis}, true)));
  } else {  // dx = y * (dy - sum(dy * y))
    std::string dyy = g.mul(dy, y);
    dx = g.mul(y, g.sub(dy, g.reduce_sum(dyy, {axis}, true)));
  }
  if (coerced) dx = g.op("Reshape", {dx, g.shape(g.x(0))});
  g.set_dx(0, dx);
}

void thresholded_relu_rule(GradContext& g) {
  float alpha = g.node().attr_float("alpha", 1.0f);
  std::string x = g.x(0);
  g.set_dx(0, select(g, g.op("Greater", {x, g.scalar(alpha, x)}), g.scalar(0, x)));
}

// Shrink: slope 1 outside [-lambd, lambd], 0 inside.
void shrink_rule(GradContext& g) {
  float lambd = g.node().attr_float("lambd", 0.5f);
  std::string x = g.x(0);
  std::string outside = g.op("Greater", {g.op("Abs", {x}), g.scalar(lambd, x)});
  g.set_dx(0, select(g, outside, g.scalar(0, x)));
}

constexpr GradDef kDefs[] = {
    {"", "Relu", 1, kLatestOpset, relu_rule},
    {"", "LeakyRelu", 1, kLatestOpset, leaky_relu_rule},
    {"", "PRelu", 7, kLatestOpset, prelu_rule},
    {"", "Sigmoid", 1, kLatestOpset, sigmoid_rule},
    {"", "Tanh", 1, kLatestOpset, tanh_rule},
    {"", "Elu", 1, kLatestOpset, elu_rule},
    {"", "Selu", 1, kLatestOpset, selu_rule},
    {"", "Celu", 12, kLatestOpset, celu_rule},
    {"", "Softplus", 1, kLatestOpset, softplus_rule},
    {"", "Mish", 18, kLatestOpset, mish_rule},
    {"", "Softsign", 1, kLatestOpset, softsign_rule},
    {"", "HardSigmoid", 1, kLatestOpset, hard_sigmoid_rule},
    {"", "HardSwish", 14, kLatestOpset, hard_swish_rule},
    {"", "Gelu", 20, kLatestOpset, gelu_rule},
    {"", "Swish", 24, kLatestOpset, swish_rule},
    {"", "SwiGLU", 28, kLatestOpset, swiglu_rule},
    {"", "ThresholdedRelu", 10, kLatestOpset, thresholded_relu_rule},
    {"", "Shrink", 9, kLatestOpset, shrink_rule},
    {"", "Hardmax", 1, kLatestOpset, no_gradient},  // piecewise constant
    {"", "Softmax", 1, kLatestOpset, softmax_family_rule<false>},
    {"", "LogSoftmax", 1, kLatestOpset, softmax_family_rule<true>},
};

}  // namespace

std::span<const GradDef> activation_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
