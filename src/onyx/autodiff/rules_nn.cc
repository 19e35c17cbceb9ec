// Gradient rules for neural-network layers: normalization, dropout, LRN, rotary
// embeddings and the loss ops.
#include <vector>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// Dropout: the kept elements' gradient, scaled like the forward pass; in inference mode
// (no training_mode, or a constant false) Dropout is the identity.
void dropout_rule(GradContext& g) {
  bool training_input = g.opset() >= 12 && g.has_x(2);
  if (!training_input) return g.set_dx(0, g.dy(0));
  if (auto t = g.constant_value(g.x(2)); t && t->numel() == 1 && t->element_as_double(0) == 0) {
    return g.set_dx(0, g.dy(0));
  }
  std::string x = g.x(0);
  std::string ratio = g.has_x(1) ? g.as_type_of(g.x(1), x) : g.scalar(0.5, x);
  std::string scale = g.div(g.scalar(1, x), g.sub(g.scalar(1, x), ratio));
  std::string mask = g.as_type_of(g.y(1), x);
  std::string kept = g.mul(g.dy(0), g.mul(mask, scale));
  g.set_dx(0, g.op("Where", {g.x(2), kept, g.dy(0)}));
}

// Normalization over `axes` given xhat = (x - mean) * invstd:
// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
std::string normalized_dx(GradContext& g, const std::string& dxhat, const std::string& xhat,
                          const std::string& invstd, const std::vector<int64_t>& axes) {
  std::string m1 = g.reduce("ReduceMean", dxhat, axes, true);
  std::string m2 = g.reduce("ReduceMean", g.mul(dxhat, xhat), axes, true);
  return g.mul(invstd, g.sub(g.sub(dxhat, m1), g.mul(xhat, m2)));
}

struct Stats {
  std::string xhat, invstd;
};

// Recomputes the batch statistics over `axes` (biased variance, as the forward pass).
// epsilon takes the element type of `like` (default: x; a value the rule made has no
// inferred type).
Stats batch_stats(GradContext& g, const std::string& x, const std::vector<int64_t>& axes,
                  float epsilon, const std::string& like = "") {
  std::string mean = g.reduce("ReduceMean", x, axes, true);
  std::string xc = g.sub(x, mean);
  std::string var = g.reduce("ReduceMean", g.mul(xc, xc), axes, true);
  std::string eps = g.scalar(epsilon, like.empty() ? x : like);
  std::string invstd = g.op("Reciprocal", {g.op("Sqrt", {g.add(var, eps)})});
  return {g.mul(xc, invstd), invstd};
}

// BatchNormalization: per channel (axis 1). In training mode (training_mode=1 from opset
// 14; extra outputs before) the statistics are the batch's; otherwise the running ones,
// which are constants.
void batch_norm_rule(GradContext& g) {
  const ir::Node& n = g.node();
  std::string x = g.x(0), scale = g.x(1), dy = g.dy(0);
  auto r = g.rank(x);
  if (!r) g.fail("the rank of the input must be known");
  float eps = n.attr_float("epsilon", 1e-5f);
  bool training = g.opset() >= 14 ? n.attr_int("training_mode", 0) != 0
                                  : n.outputs.size() > 1 && !n.outputs[1].empty();
  std::vector<int64_t> reduce_axes{0}, param_axes = axes_range(1, *r - 1);
  for (int64_t a = 2; a < *r; ++a) reduce_axes.push_back(a);
  auto per_channel = [&](const std::string& v) { return g.unsqueeze(v, param_axes); };
  Stats st;
  if (training) {
    st = batch_stats(g, x, reduce_axes, eps);
  } else {
    std::string var = per_channel(g.x(4));
    st.invstd = g.op("Reciprocal", {g.op("Sqrt", {g.add(var, g.scalar(eps, x))})});
    st.xhat = g.mul(g.sub(x, per_channel(g.x(3))), st.invstd);
  }
  if (g.needs(0)) {
    std::string dxhat = g.mul(dy, per_channel(scale));
    g.set_dx(0, training ? normalized_dx(g, dxhat, st.xhat, st.invstd, reduce_axes)
                         : g.mul(dxhat, st.invstd));
  }
  if (g.needs(1)) g.set_dx(1, g.reduce_sum(g.mul(dy, st.xhat), reduce_axes, false));
  if (g.needs(2)) g.set_dx(2, g.reduce_sum(dy, reduce_axes, false));
}

// InstanceNormalization: statistics per (sample, channel) over the spatial axes.
void instance_norm_rule(GradContext& g) {
  std::string x = g.x(0), dy = g.dy(0);
  auto r = g.rank(x);
  if (!r) g.fail("the rank of the input must be known");
  std::vector<int64_t> spatial = axes_range(2, *r), param_axes = axes_range(1, *r - 1);
  Stats st = batch_stats(g, x, spatial, g.node().attr_float("epsilon", 1e-5f));
  std::string scale = g.unsqueeze(g.x(1), param_axes);
  if (g.needs(0)) g.set_dx(0, normalized_dx(g, g.mul(dy, scale), st.xhat, st.invstd, spatial));
  std::vector<int64_t> outer{0};
  for (int64_t a : spatial) outer.push_back(a);
  if (g.needs(1)) g.set_dx(1, g.reduce_sum(g.mul(dy, st.xhat), outer, false));
  if (g.needs(2)) g.set_dx(2, g.reduce_sum(dy, outer, false));
}

// GroupNormalization: InstanceNormalization's statistics over groups of channels, on X
// seen as [N, G, C/G * spatial]. Scale and bias are per group at opset 18 and per channel
// from 21 (the runtime reads them as the model's opset says); their gradients sum dY (times
// xhat) over the batch and the positions each value covers, with dY as [N, G, -1] or [N, C, -1].
void group_norm_rule(GradContext& g) {
  const ir::Node& n = g.node();
  int64_t groups = n.attr_int("num_groups", 0);
  if (groups < 1) g.fail("num_groups must be positive");
  bool per_group = g.opset() < 21;
  std::string x = g.x(0), grouped = g.ints({0, groups, -1});
  Stats st = batch_stats(g, g.op("Reshape", {x, grouped}), {2}, n.attr_float("epsilon", 1e-5f), x);
  std::string dyp = g.op("Reshape", {g.dy(0), per_group ? grouped : g.ints({0, 0, -1})});
  std::string xhat = per_group ? st.xhat : g.op("Reshape", {st.xhat, g.shape(dyp)});
  if (g.needs(0)) {
    std::string dxhat = g.mul(dyp, g.op("Reshape", {g.x(1), g.ints({-1, 1})}));
    if (!per_group) dxhat = g.op("Reshape", {dxhat, grouped});
    std::string dx = normalized_dx(g, dxhat, st.xhat, st.invstd, {2});
    g.set_dx(0, g.op("Reshape", {dx, g.shape(x)}));
  }
  auto per_param = [&](const std::string& v, size_t i) {
    return g.op("Reshape", {g.reduce_sum(v, {0, 2}, false), g.shape(g.x(i))});
  };
  if (g.needs(1)) g.set_dx(1, per_param(g.mul(dyp, xhat), 1));
  if (g.needs(2)) g.set_dx(2, per_param(dyp, 2));
}

// LayerNormalization (opset 17): statistics over the axes from `axis` on; Scale and B
// broadcast over the leading axes, so their gradients are summed there.
// The normalised axes of LayerNormalization and RMSNormalization: `axis` to the last.
std::vector<int64_t> trailing_axes(GradContext& g) {
  auto r = g.rank(g.x(0));
  if (!r) g.fail("the rank of the input must be known");
  int64_t axis = g.node().attr_int("axis", -1);
  return axes_range(axis < 0 ? axis + *r : axis, *r);
}

void layer_norm_rule(GradContext& g) {
  std::string x = g.x(0), dy = g.dy(0);
  std::vector<int64_t> axes = trailing_axes(g);
  Stats st = batch_stats(g, x, axes, g.node().attr_float("epsilon", 1e-5f));
  if (g.needs(0)) g.set_dx(0, normalized_dx(g, g.mul(dy, g.x(1)), st.xhat, st.invstd, axes));
  if (g.needs(1)) g.set_dx(1, g.reduce_to(g.mul(dy, st.xhat), g.dims(x), g.x(1)));
  if (g.has_x(2) && g.needs(2)) g.set_dx(2, g.reduce_to(dy, g.dims(x), g.x(2)));
}

// RMSNormalization (opset 23): xhat = x r with r = 1 / sqrt(mean(x^2) + eps) over the axes
// from `axis` on, y = xhat scale; with g = dy scale, dx = r (g - xhat mean(g xhat)).
void rms_norm_rule(GradContext& g) {
  std::string x = g.x(0), dy = g.dy(0);
  std::vector<int64_t> axes = trailing_axes(g);
  std::string ms = g.reduce("ReduceMean", g.mul(x, x), axes, true);
  std::string inv =
      g.op("Reciprocal",
           {g.op("Sqrt", {g.add(ms, g.scalar(g.node().attr_float("epsilon", 1e-5f), x))})});
  std::string xhat = g.mul(x, inv);
  if (g.needs(0)) {
    std::string gs = g.mul(dy, g.x(1));
    g.set_dx(
        0, g.mul(inv, g.sub(gs, g.mul(xhat, g.reduce("ReduceMean", g.mul(gs, xhat), axes, true)))));
  }
  if (g.needs(1)) g.set_dx(1, g.reduce_to(g.mul(dy, xhat), g.dims(x), g.x(1)));
}

// RotaryEmbedding (opset 23): each pair (x1, x2) of a head turns by its token's angle to
// (c x1 - s x2, s x1 + c x2) and the rest of the head is copied. A rotation's transpose is
// the rotation by the opposite angle, and which values pair up (halves or interleaved) and
// which are copied does not change, so dX is the op itself on dY with the sine cache
// negated: same position_ids, attributes and layout. The caches and position_ids get no
// gradient (the spec leaves them undifferentiated; they are tables, not weights).
void rotary_embedding_rule(GradContext& g) {
  std::vector<std::string> inputs = g.node().inputs;
  inputs[0] = g.dy(0);
  inputs[2] = g.neg(g.x(2));
  g.set_dx(0, g.op("RotaryEmbedding", inputs, g.node().attributes));
}

// LpNormalization: y = x / n with n = ||x||_p along `axis`; with s = sum(dy y) there,
// dx = (dy - y s) / n for p = 2 and (dy - sign(x) s) / n for p = 1 (0 where n = 0, as y).
void lp_norm_rule(GradContext& g) {
  std::string x = g.x(0), dy = g.dy(0), y = g.y(0);
  int64_t axis = g.node().attr_int("axis", -1), p = g.node().attr_int("p", 2);
  std::string norm =
      p == 1 ? g.reduce("ReduceL1", x, {axis}, true) : g.reduce("ReduceL2", x, {axis}, true);
  std::string s = g.reduce_sum(g.mul(dy, y), {axis}, true);
  std::string dn = p == 1 ? g.op("Sign", {x}) : y;
  std::string zero = g.op("Equal", {norm, g.scalar(0, x)});
  std::string safe = g.op("Where", {zero, g.scalar(1, x), norm});
  g.set_dx(0, g.op("Where", {zero, g.scalar(0, x), g.div(g.sub(dy, g.mul(dn, s)), safe)}));
}

// The negative log-likelihood's gradient with respect to its log-probabilities
// [N, C, d...]: -weight[label] * one_hot(label) * dloss, with ignored labels getting none
// and 'mean' dividing by the total weight of the counted samples.
std::string nll_grad(GradContext& g, const std::string& logp, const std::string& labels,
                     const std::string& weights, const std::string& dloss) {
  const ir::Node& n = g.node();
  const std::string& like = g.x(0);  // for element types: log_prob may be a new value
  std::string reduction = n.attr_string("reduction", "mean");
  std::string depth = g.op("Gather", {g.shape(logp), g.ints({1})});
  std::string labels_safe = labels, counted;
  if (n.has_attr("ignore_index")) {
    auto as_labels = [&](int64_t v) { return g.as_type_of(g.ints({v}), labels, DType::Int64); };
    std::string is_ignored = g.op("Equal", {labels, as_labels(n.attr_int("ignore_index", 0))});
    labels_safe = g.op("Where", {is_ignored, as_labels(0), labels});
    counted = g.as_type_of(g.op("Not", {is_ignored}), like);
  }
  // Per-sample weight, shaped like labels.
  std::string w =
      weights.empty() ? g.fill(g.shape(labels), 1.0, like) : g.op("Gather", {weights, labels_safe});
  if (!counted.empty()) w = g.mul(w, counted);
  std::string per_sample = g.mul(w, dloss);  // dloss: [N, d...] or a scalar
  if (reduction == "mean") per_sample = g.div(per_sample, g.reduce_sum(w, {}, false));
  std::string one_hot_values = g.as_type_of(g.ints({0, -1}), like);  // off, on
  std::string one_hot =
      g.op("OneHot", {labels_safe, depth, one_hot_values}, {attr("axis", int64_t{1})});
  return g.mul(one_hot, g.unsqueeze(per_sample, {1}));
}

void nll_loss_rule(GradContext& g) {
  if (!g.needs(0)) return;
  g.set_dx(0, nll_grad(g, g.x(0), g.x(1), g.has_x(2) ? g.x(2) : "", g.dy(0)));
}

// SoftmaxCrossEntropyLoss: NLL of the log-softmax (output 1), then the LogSoftmax rule
// over axis 1; a gradient arriving at the log_prob output joins in before it.
void softmax_cross_entropy_rule(GradContext& g) {
  if (!g.needs(0)) return;
  std::string logp = g.y(1);
  std::string dlogp = nll_grad(g, logp, g.x(1), g.has_x(2) ? g.x(2) : "", g.dy(0));
  if (g.has_dy(1)) dlogp = g.add(dlogp, g.dy(1));
  std::string sum = g.reduce_sum(dlogp, {1}, true);
  g.set_dx(0, g.sub(dlogp, g.mul(g.op("Exp", {logp}), sum)));
}

// Sums v [N, C, D...] over a window of channels [c - before, c + after] for each c: a
// convolution over the channel axis with a kernel of ones.
std::string channel_window_sum(GradContext& g, const std::string& v, int64_t size, int64_t before,
                               int64_t after) {
  auto r = g.rank(g.x(0));
  if (!r || *r < 2) g.fail("the rank of the input must be known and at least 2");
  std::vector<int64_t> kshape(static_cast<size_t>(*r + 1), 1),
      pads(2 * static_cast<size_t>(*r - 1), 0);
  kshape[2] = size;
  pads[0] = before;
  pads[static_cast<size_t>(*r - 1)] = after;
  std::string u = g.unsqueeze(v, {1});
  std::string c = g.op("Conv", {u, g.fill(g.ints(kshape), 1.0, g.x(0))}, {attr("pads", pads)});
  return g.squeeze(c, {1});
}

// LRN: y = x s^-beta, s = bias + alpha/size * (sum of x^2 over the channel window
// [c - lo, c + hi]). Then dx = dy s^-beta - 2 beta alpha/size x * W'(dy x s^(-beta-1)),
// where W' sums over the transposed window [c - hi, c + lo].
void lrn_rule(GradContext& g) {
  const ir::Node& n = g.node();
  std::string x = g.x(0);
  int64_t size = n.attr_int("size", 0);
  if (size < 1) g.fail("attribute 'size' must be positive");
  double alpha = n.attr_float("alpha", 1e-4f), beta = n.attr_float("beta", 0.75f),
         bias = n.attr_float("bias", 1.0f);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  std::string sum = channel_window_sum(g, g.mul(x, x), size, lo, hi);
  std::string s = g.add(g.scalar(bias, x), g.mul(g.scalar(alpha / size, x), sum));
  std::string direct = g.mul(g.dy(0), g.op("Pow", {s, g.scalar(-beta, x)}));
  std::string u = g.mul(g.mul(g.dy(0), x), g.op("Pow", {s, g.scalar(-beta - 1, x)}));
  std::string back = channel_window_sum(g, u, size, hi, lo);
  g.set_dx(0, g.sub(direct, g.mul(g.scalar(2 * beta * alpha / size, x), g.mul(x, back))));
}

constexpr GradDef kDefs[] = {
    {"", "LRN", 1, kLatestOpset, lrn_rule},
    {"", "Dropout", 1, kLatestOpset, dropout_rule},
    {"", "BatchNormalization", 9, kLatestOpset, batch_norm_rule},
    {"", "InstanceNormalization", 6, kLatestOpset, instance_norm_rule},
    {"", "GroupNormalization", 18, kLatestOpset, group_norm_rule},
    {"", "LayerNormalization", 17, kLatestOpset, layer_norm_rule},
    {"", "RMSNormalization", 23, kLatestOpset, rms_norm_rule},
    {"", "RotaryEmbedding", 23, kLatestOpset, rotary_embedding_rule},
    {"", "LpNormalization", 1, kLatestOpset, lp_norm_rule},
    {"", "NegativeLogLikelihoodLoss", 13, kLatestOpset, nll_loss_rule},
    {"", "SoftmaxCrossEntropyLoss", 13, kLatestOpset, softmax_cross_entropy_rule},
};

}  // namespace

std::span<const GradDef> nn_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
