// Gradient rules for the reductions, CumSum and CumProd. Each reduction's gradient is a
// function of x, the result y and dy with the reduced axes restored as size 1 (yk, dyk),
// broadcast back over x.
#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

struct Reduced {
  bool identity = false;                     // empty axes with noop_with_empty_axes: y is x
  std::string yk, dyk;                       // y and dy with reduced axes kept as size 1
  std::optional<std::vector<int64_t>> axes;  // empty: all; nullopt: the run-time input
  std::string axes_name;
};

Reduced restore_axes(GradContext& g) {
  const ir::Node& n = g.node();
  bool keepdims = n.attr_int("keepdims", 1) != 0;
  bool axes_input = n.op_type == "ReduceSum" ? g.opset() >= 13 : g.opset() >= 18;
  Reduced r;
  auto& axes = r.axes;
  auto& axes_name = r.axes_name;
  if (!axes_input) {
    axes = n.attr_ints("axes");
  } else if (!g.has_x(1)) {
    axes = std::vector<int64_t>{};
  } else if (auto t = g.constant_value(g.x(1))) {
    axes = t->to_int64s();
  } else {
    axes_name = g.x(1);
  }
  if (axes && axes->empty() && axes_input && n.attr_int("noop_with_empty_axes", 0)) {
    r.identity = true;
    return r;
  }
  std::string y = g.y(0), dy = g.dy(0);
  // Reducing over every axis without keepdims leaves a scalar, which broadcasts as is.
  if (keepdims || (axes && axes->empty())) {
    r.yk = y;
    r.dyk = dy;
  } else if (axes) {
    r.yk = g.unsqueeze(y, *axes);
    r.dyk = g.unsqueeze(dy, *axes);
  } else {
    if (g.opset() < 13) g.fail("axes must be constant");
    r.yk = g.op("Unsqueeze", {y, axes_name});
    r.dyk = g.op("Unsqueeze", {dy, axes_name});
  }
  return r;
}

std::string expand_like_x(GradContext& g, const std::string& v) {
  return g.op("Expand", {v, g.shape(g.x(0))});
}

void reduce_sum_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  g.set_dx(0, expand_like_x(g, r.dyk));
}

void reduce_mean_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  std::string x = g.x(0);
  // count = size(x) / size(y), in x's element type
  auto to_x = [&](const std::string& v) { return g.as_type_of(v, x); };
  std::string count = g.div(to_x(g.op("Size", {x})), to_x(g.op("Size", {g.y(0)})));
  g.set_dx(0, g.div(expand_like_x(g, r.dyk), count));
}

// Max and Min: shared evenly among the elements equal to the result (torch.amax/amin).
void reduce_extremum_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  std::string x = g.x(0);
  std::string mask = g.as_type_of(g.op("Equal", {x, r.yk}), x);
  // The count of ties over the same axes.
  std::string count = r.axes
                          ? g.reduce_sum(mask, *r.axes, true)
                          : g.op("ReduceSum", {mask, r.axes_name}, {attr("keepdims", int64_t{1})});
  g.set_dx(0, g.mul(mask, g.div(r.dyk, count)));
}

// The forward reduction again, over the same axes but keeping them, applied to `v`.
std::string rereduce(GradContext& g, const std::string& v) {
  std::vector<std::string> inputs = g.node().inputs;
  inputs[0] = v;
  std::vector<ir::Attribute> attrs = g.node().attributes;
  std::erase_if(attrs, [](const ir::Attribute& a) { return a.name == "keepdims"; });
  attrs.push_back(attr("keepdims", int64_t{1}));
  return g.op(g.node().op_type, inputs, attrs);
}

// ReduceProd: the gradient of x_i is the product of the other elements of its group.
// Without zeros that is y / x_i; with exactly one zero, the product of the nonzeros for
// the zero and 0 for the rest; with more zeros, 0 everywhere. The zero count comes from
// the same reduction: the product of (2 where x is 0, else 1) is 2^zeros.
void reduce_prod_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  std::string x = g.x(0), one = g.scalar(1, x), zero = g.scalar(0, x);
  std::string is_zero = g.op("Equal", {x, zero});
  std::string nonzero = g.op("Where", {is_zero, one, x});
  std::string rest = rereduce(g, nonzero);  // product of the nonzeros
  std::string zeros = rereduce(g, g.op("Where", {is_zero, g.scalar(2, x), one}));
  std::string none = g.op("Equal", {zeros, one}), single = g.op("Equal", {zeros, g.scalar(2, x)});
  std::string with_one = g.op("Where", {g.op("And", {single, is_zero}), rest, zero});
  g.set_dx(0, g.mul(r.dyk, g.op("Where", {none, g.div(rest, nonzero), with_one})));
}

void reduce_l1_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  g.set_dx(0, g.mul(r.dyk, g.op("Sign", {g.x(0)})));
}

void reduce_l2_rule(GradContext& g) {  // x / y, and 0 where the norm is 0 (as PyTorch)
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  std::string x = g.x(0), zero = g.scalar(0, x);
  std::string q = g.op("Where", {g.op("Equal", {r.yk, zero}), zero, g.div(x, r.yk)});
  g.set_dx(0, g.mul(r.dyk, q));
}

void reduce_sum_square_rule(GradContext& g) {
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  std::string x = g.x(0);
  g.set_dx(0, g.mul(r.dyk, g.mul(x, g.scalar(2, x))));
}

void reduce_log_sum_exp_rule(GradContext& g) {  // softmax of x over the axes
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  g.set_dx(0, g.mul(r.dyk, g.op("Exp", {g.sub(g.x(0), r.yk)})));
}

void reduce_log_sum_rule(GradContext& g) {  // 1 / sum(x)
  Reduced r = restore_axes(g);
  if (r.identity) return g.set_dx(0, g.dy(0));
  g.set_dx(0, expand_like_x(g, g.div(r.dyk, g.op("Exp", {r.yk}))));
}

// CumSum: each input element feeds every later (earlier, when reversed) output.
void cumsum_rule(GradContext& g) {
  const ir::Node& n = g.node();
  int64_t reverse = n.attr_int("reverse", 0), exclusive = n.attr_int("exclusive", 0);
  g.set_dx(0, g.op("CumSum", {g.dy(0), g.x(1)},
                   {attr("exclusive", exclusive), attr("reverse", 1 - reverse)}));
}

// CumProd: y_k is the product of x over k's range (j <= k; j < k when exclusive; j >= k or
// j > k when reversed), so dx_j sums dy_k times that product without x_j over the k whose
// range holds j. x may hold zeros, so nothing is divided by x_j: the products without x_j
// are the CumProd (same attributes) of x with x_j set to 1, for every j at once along a new
// axis j before the scan axis: [.., n, n, ..], quadratic in the axis length.
void cumprod_rule(GradContext& g) {
  const ir::Node& n = g.node();
  int64_t reverse = n.attr_int("reverse", 0), exclusive = n.attr_int("exclusive", 0);
  std::string x = g.x(0);
  auto r = g.rank(x);
  auto at = g.constant_value(g.x(1));
  if (!r || !at || at->numel() != 1) g.fail("the input's rank and the axis must be known");
  int64_t axis = at->to_int64s()[0];
  if (axis < -*r || axis >= *r) g.fail("axis ", axis, " is out of range for rank ", *r);
  if (axis < 0) axis += *r;
  auto index = [&](int64_t v) { return g.constant(Tensor::scalar<int64_t>(v)); };
  std::string len = g.op("Gather", {g.shape(x), index(axis)});
  std::string i = g.op("Range", {index(0), len, index(1)});
  std::string j = g.unsqueeze(i, {1}), k = g.unsqueeze(i, {0});
  // [n, n] masks over (j, k), then 1s for the axes after the scan axis.
  std::vector<int64_t> inner = axes_range(2, *r + 1 - axis);
  auto spread = [&](const std::string& v) { return inner.empty() ? v : g.unsqueeze(v, inner); };
  const char* holds =
      reverse ? (exclusive ? "Greater" : "GreaterOrEqual") : (exclusive ? "Less" : "LessOrEqual");
  std::string in_range = spread(g.op(holds, {j, k}));
  std::string without =
      g.op("Where", {spread(g.op("Equal", {j, k})), g.scalar(1, x), g.unsqueeze(x, {axis})});
  std::string prods = g.op("CumProd", {without, index(axis + 1)},
                           {attr("exclusive", exclusive), attr("reverse", reverse)});
  std::string terms =
      g.mul(g.op("Where", {in_range, prods, g.scalar(0, x)}), g.unsqueeze(g.dy(0), {axis}));
  g.set_dx(0, g.reduce_sum(terms, {axis + 1}, false));
}

constexpr GradDef kDefs[] = {
    {"", "ReduceSum", 1, kLatestOpset, reduce_sum_rule},
    {"", "ReduceMean", 1, kLatestOpset, reduce_mean_rule},
    {"", "ReduceMax", 1, kLatestOpset, reduce_extremum_rule},
    {"", "ReduceMin", 1, kLatestOpset, reduce_extremum_rule},
    {"", "ReduceProd", 1, kLatestOpset, reduce_prod_rule},
    {"", "ReduceL1", 1, kLatestOpset, reduce_l1_rule},
    {"", "ReduceL2", 1, kLatestOpset, reduce_l2_rule},
    {"", "ReduceSumSquare", 1, kLatestOpset, reduce_sum_square_rule},
    {"", "ReduceLogSumExp", 1, kLatestOpset, reduce_log_sum_exp_rule},
    {"", "ReduceLogSum", 1, kLatestOpset, reduce_log_sum_rule},
    {"", "CumSum", 11, kLatestOpset, cumsum_rule},
    {"", "CumProd", 26, kLatestOpset, cumprod_rule},
};

}  // namespace

std::span<const GradDef> reduce_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
