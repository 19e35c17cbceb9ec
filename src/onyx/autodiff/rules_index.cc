// Gradient rules for ops that rearrange, pick or overwrite elements: DepthToSpace,
// SpaceToDepth, Compress, ReverseSequence, GatherND, TopK, MaxUnpool, Trilu,
// ScatterElements, ScatterND, Scatter, TensorScatter and OneHot.
#include <algorithm>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// Each output element comes from exactly one input element.
void permutation_rule(GradContext& g) {
  selection_rule(g, true);
}

// GatherND may pick an element several times.
void gather_nd_rule(GradContext& g) {
  selection_rule(g, false);
}

// TopK: the values came from Indices along the axis.
void top_k_rule(GradContext& g) {
  int64_t axis = g.node().attr_int("axis", -1);
  std::string from = g.op("GatherElements", {g.index_grid(g.x(0)), g.y(1)}, {attr("axis", axis)});
  g.set_dx(0, g.scatter_add_flat(from, g.dy(0), g.x(0), /*unique_indices=*/true));
}

// MaxUnpool puts x[i] at flat position indices[i] of the output: x[i] gets that
// position's gradient.
void max_unpool_rule(GradContext& g) {
  if (!g.has_x(1)) g.fail("the indices input is required");
  std::string flat = g.op("Reshape", {g.dy(0), g.ints({-1})});
  g.set_dx(0, g.op("Gather", {flat, g.x(1)}));
}

// Trilu keeps a triangle and zeroes the rest: the gradient is kept where x was.
void trilu_rule(GradContext& g) {
  std::vector<std::string> inputs = g.node().inputs;
  inputs[0] = g.dy(0);
  g.set_dx(0, g.op("Trilu", inputs, g.node().attributes));
}

// ScatterElements and ScatterND write updates over data. Without reduction the
// overwritten data elements get no gradient and each update gets its target's; with
// reduction "add" data passes dy through whole. Other reductions are not supported.
template <bool kNd>
void scatter_rule(GradContext& g) {
  std::string reduction = g.node().attr_string("reduction", "none");
  if (reduction != "none" && reduction != "add") {
    g.fail("reduction '", reduction, "' is not supported");
  }
  const char* gather = kNd ? "GatherND" : "GatherElements";
  std::vector<ir::Attribute> axis;
  if (!kNd) axis.push_back(attr("axis", g.node().attr_int("axis", 0)));
  if (g.needs(0)) {
    if (reduction == "add") {
      g.set_dx(0, g.dy(0));
    } else {
      std::string zeros = g.zeros_like(g.x(2));
      g.set_dx(0, g.op(kNd ? "ScatterND" : "ScatterElements", {g.dy(0), g.x(1), zeros}, axis));
    }
  }
  if (g.needs(2)) g.set_dx(2, g.op(gather, {g.dy(0), g.x(1)}, axis));
}

// Scatter, ScatterElements' name at opsets 9 and 10, before GatherElements existed: the
// updates' gradient picks dy at the indices through a one-hot of them along the axis
// (OneHot, Mul, ReduceSum), after slicing dy to the indices' extent on the other axes.
void legacy_scatter_rule(GradContext& g) {
  auto data = g.dims(g.x(0));
  auto idx = g.dims(g.x(1));
  if (!data || !idx || data->size() != idx->size()) {
    g.fail("the shapes of data and indices must be known");
  }
  int64_t r = static_cast<int64_t>(data->size()), axis = g.node().attr_int("axis", 0);
  if (axis < -r || axis >= r) g.fail("axis ", axis, " is out of range for rank ", r);
  if (axis < 0) axis += r;
  std::vector<ir::Attribute> axis_attr{attr("axis", axis)};
  if (g.needs(0)) {
    std::string zeros = g.zeros_like(g.x(2));
    g.set_dx(0, g.op("Scatter", {g.dy(0), g.x(1), zeros}, axis_attr));
  }
  if (!g.needs(2)) return;
  int64_t depth = (*data)[static_cast<size_t>(axis)];
  std::vector<int64_t> ends = *idx;
  ends[static_cast<size_t>(axis)] = depth;
  if (depth < 0 || std::any_of(ends.begin(), ends.end(), [](int64_t d) { return d < 0; })) {
    g.fail("the shapes of data and indices must be known statically");
  }
  std::vector<int64_t> starts(ends.size(), 0), axes = axes_range(0, r);
  std::string dy = g.opset() >= 10
                       ? g.op("Slice", {g.dy(0), g.ints(starts), g.ints(ends), g.ints(axes)})
                       : g.op("Slice", {g.dy(0)},
                              {attr("starts", starts), attr("ends", ends), attr("axes", axes)});
  std::string hot = g.one_hot(g.x(1), g.constant(Tensor::scalar<int64_t>(depth)), axis + 1,
                              g.dy(0));  // [..., idx_axis, depth, ...]
  std::string picked = g.mul(hot, g.unsqueeze(dy, {axis}));
  g.set_dx(2, g.reduce_sum(picked, {axis + 1}, false));
}

// TensorScatter (opset 24): present = past_cache with `update` written along `axis` at
// positions w[b] + s (modulo the axis length when circular), w being write_indices (zeros
// when absent). past_cache's gradient is dY with those positions zeroed: TensorScatter itself
// writing zeros. update's is dY read at them: GatherElements with the positions spread over
// update's shape. write_indices are integers.
void tensor_scatter_rule(GradContext& g) {
  const ir::Node& n = g.node();
  std::string dy = g.dy(0), update = g.x(1);
  if (g.needs(0)) {
    std::vector<std::string> inputs = n.inputs;
    inputs[0] = dy;
    inputs[1] = g.zeros_like(update);
    g.set_dx(0, g.op("TensorScatter", inputs, n.attributes));
  }
  if (!g.needs(1)) return;
  auto r = g.rank(g.x(0));
  if (!r) g.fail("the rank of past_cache must be known");
  int64_t axis = n.attr_int("axis", -2);
  if (axis < -*r || axis >= *r) g.fail("axis ", axis, " is out of range for rank ", *r);
  if (axis < 0) axis += *r;
  auto index = [&](int64_t v) { return g.constant(Tensor::scalar<int64_t>(v)); };
  std::string pos =
      g.op("Range", {index(0), g.op("Gather", {g.shape(update), index(axis)}), index(1)});
  // Along the axis, 1s after it; the leading axes broadcast.
  if (axis + 1 < *r) pos = g.unsqueeze(pos, axes_range(1, *r - axis));
  if (g.has_x(2)) pos = g.add(pos, g.unsqueeze(g.x(2), axes_range(1, *r)));
  if (n.attr_string("mode", "linear") == "circular") {
    pos = g.op("Mod", {pos, g.op("Gather", {g.shape(g.x(0)), g.ints({axis})})});
  }
  pos = g.op("Expand", {pos, g.shape(update)});
  g.set_dx(1, g.op("GatherElements", {dy, pos}, {attr("axis", axis)}));
}

// OneHot writes values[1] where an index points and values[0] elsewhere: each gets the
// sum of dY over its positions.
void one_hot_rule(GradContext& g) {
  if (!g.needs(2)) return;
  std::string hot = g.one_hot(g.x(0), g.x(1), g.node().attr_int("axis", -1), g.dy(0));
  std::string on = g.op("ReduceSum", {g.mul(g.dy(0), hot)}, {attr("keepdims", int64_t{0})});
  std::string all = g.op("ReduceSum", {g.dy(0)}, {attr("keepdims", int64_t{0})});
  std::string both = g.op("Concat", {g.unsqueeze(g.sub(all, on), {0}), g.unsqueeze(on, {0})},
                          {attr("axis", int64_t{0})});
  g.set_dx(2, both);
}

constexpr GradDef kDefs[] = {
    {"", "Scatter", 9, 10, legacy_scatter_rule},
    {"", "OneHot", 9, kLatestOpset, one_hot_rule},
    {"", "DepthToSpace", 1, kLatestOpset, permutation_rule},
    {"", "SpaceToDepth", 1, kLatestOpset, permutation_rule},
    {"", "Compress", 9, kLatestOpset, permutation_rule},
    {"", "ReverseSequence", 10, kLatestOpset, permutation_rule},
    {"", "GatherND", 11, kLatestOpset, gather_nd_rule},
    {"", "TopK", 10, kLatestOpset, top_k_rule},
    {"", "MaxUnpool", 9, kLatestOpset, max_unpool_rule},
    {"", "Trilu", 14, kLatestOpset, trilu_rule},
    {"", "ScatterElements", 11, kLatestOpset, scatter_rule<false>},
    {"", "ScatterND", 11, kLatestOpset, scatter_rule<true>},
    {"", "TensorScatter", 24, kLatestOpset, tensor_scatter_rule},
};

}  // namespace

std::span<const GradDef> index_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
