// Gradient rules for shape and indexing ops. Ops that select elements (Slice, Gather,
// GatherElements) share one pattern: apply the forward op to an index grid of x to learn
// where each output element came from, then scatter dy back there.
#include <algorithm>
#include <numeric>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

void reshape_like_x_rule(GradContext& g) {
  g.set_dx(0, g.op("Reshape", {g.dy(0), g.shape(g.x(0))}));
}

void transpose_rule(GradContext& g) {
  std::vector<int64_t> perm = g.node().attr_ints("perm");
  if (perm.empty())
    return g.set_dx(0, g.op("Transpose", {g.dy(0)}));  // reversal is its own inverse
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  g.set_dx(0, g.op("Transpose", {g.dy(0)}, {attr("perm", inverse)}));
}

int64_t normalized_axis(GradContext& g, int64_t axis, const std::string& v) {
  if (axis >= 0) return axis;
  auto r = g.rank(v);
  if (!r) g.fail("the rank of '", v, "' must be known");
  return axis + *r;
}

// Concat: each input's gradient is its slab of dy along the axis.
void concat_rule(GradContext& g) {
  size_t n = g.num_inputs();
  int64_t axis = g.node().attr_int("axis", 0);
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < n; ++i) {
    auto d = g.dims(g.x(i));
    int64_t a = normalized_axis(g, axis, g.x(0));
    sizes.push_back(d && static_cast<int64_t>(d->size()) > a ? (*d)[static_cast<size_t>(a)] : -1);
  }
  bool known = std::all_of(sizes.begin(), sizes.end(), [](int64_t s) { return s >= 0; });
  std::vector<std::string> parts;
  if (known && g.opset() < 13) {
    parts = g.ops("Split", {g.dy(0)}, {attr("axis", axis), attr("split", sizes)}, n);
  } else if (g.opset() >= 13) {
    std::string split;
    if (known) {
      split = g.ints(sizes);
    } else {
      std::vector<std::string> each;
      for (size_t i = 0; i < n; ++i) {
        each.push_back(
            g.op("Gather", {g.shape(g.x(i)), g.ints({normalized_axis(g, axis, g.x(0))})}));
      }
      split = g.op("Concat", each, {attr("axis", int64_t{0})});
    }
    parts = g.ops("Split", {g.dy(0), split}, {attr("axis", axis)}, n);
  } else {
    g.fail("input sizes along the axis must be known before opset 13");
  }
  for (size_t i = 0; i < n; ++i) g.set_dx(i, parts[i]);
}

void split_rule(GradContext& g) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < g.node().outputs.size(); ++i) parts.push_back(g.dy(i));
  g.set_dx(0, g.op("Concat", parts, {attr("axis", g.node().attr_int("axis", 0))}));
}

// Slice: the forward op applied to x's index grid gives the (distinct) source indices.
void slice_rule(GradContext& g) {
  const ir::Node& n = g.node();
  std::string grid = g.index_grid(g.x(0));
  std::string picked;
  if (g.opset() < 10) {
    picked = g.op("Slice", {grid}, n.attributes);
  } else {
    std::vector<std::string> ins{grid};
    for (size_t i = 1; i < n.inputs.size(); ++i) ins.push_back(n.inputs[i]);
    picked = g.op("Slice", ins);
  }
  g.set_dx(0, g.scatter_add_flat(picked, g.dy(0), g.x(0), /*unique_indices=*/true));
}

// Gather and GatherElements: indices may repeat, so the scatter accumulates.
void gather_rule(GradContext& g) {
  selection_rule(g, false);
}

void expand_rule(GradContext& g) {
  g.set_dx_broadcast(0, g.dy(0));
}

// Tile: dy viewed as [r0, d0, r1, d1, ...] summed over the repeat axes.
void tile_rule(GradContext& g) {
  auto d = g.dims(g.x(0));
  auto reps = g.opset() >= 6 ? g.constant_value(g.x(1)) : std::nullopt;
  if (!d || !reps || std::any_of(d->begin(), d->end(), [](int64_t v) { return v < 0; })) {
    g.fail("the input's shape and the repeats must be known statically");
  }
  std::vector<int64_t> r = reps->to_int64s(), view, axes;
  for (size_t i = 0; i < d->size(); ++i) {
    axes.push_back(static_cast<int64_t>(view.size()));
    view.push_back(r[i]);
    view.push_back((*d)[i]);
  }
  std::string v = g.op("Reshape", {g.dy(0), g.ints(view)});
  g.set_dx(0, g.op("Reshape", {g.reduce_sum(v, axes, false), g.ints(*d)}));
}

// CenterCropPad: a centred crop and a centred zero pad are each other's adjoints (both round
// the start down), so dx is dy centre-cropped-or-padded back to x's shape.
void center_crop_pad_rule(GradContext& g) {
  std::string shape = g.shape(g.x(0));
  const ir::Attribute* axes = g.node().find_attr("axes");
  std::vector<ir::Attribute> attrs;
  if (axes) {
    attrs.push_back(*axes);
    shape = g.op("Gather", {shape, g.ints(axes->ints)});
  }
  g.set_dx(0, g.op("CenterCropPad", {g.dy(0), shape}, attrs));
}

// Pad (constant mode): the gradient is the unpadded window of dy.
void pad_rule(GradContext& g) {
  const ir::Node& n = g.node();
  if (n.attr_string("mode", "constant") != "constant") {
    g.fail("only mode 'constant' has a gradient rule");
  }
  std::vector<int64_t> pads;
  if (g.opset() < 11) {
    pads = n.attr_ints(g.opset() < 2 ? "paddings" : "pads");
  } else if (auto t = g.constant_value(g.x(1))) {
    pads = t->to_int64s();
  } else {
    g.fail("pads must be constant");
  }
  if (g.num_inputs() > 3 && g.has_x(3)) g.fail("the axes input is not supported");
  size_t r = pads.size() / 2;
  std::vector<int64_t> begin(pads.begin(), pads.begin() + static_cast<long>(r));
  for (int64_t p : pads) {
    if (p < 0) g.fail("negative pads (cropping) are not supported");
  }
  std::string starts = g.ints(begin);
  std::string ends = g.add(starts, g.shape(g.x(0)));
  g.set_dx(0, g.op("Slice", {g.dy(0), starts, ends}));
}

constexpr GradDef kDefs[] = {
    {"", "Reshape", 5, kLatestOpset, reshape_like_x_rule},
    {"", "Flatten", 1, kLatestOpset, reshape_like_x_rule},
    {"", "Squeeze", 1, kLatestOpset, reshape_like_x_rule},
    {"", "Unsqueeze", 1, kLatestOpset, reshape_like_x_rule},
    {"", "Transpose", 1, kLatestOpset, transpose_rule},
    {"", "Concat", 4, kLatestOpset, concat_rule},
    {"", "Split", 2, kLatestOpset, split_rule},
    {"", "Slice", 1, kLatestOpset, slice_rule},
    {"", "Gather", 1, kLatestOpset, gather_rule},
    {"", "GatherElements", 11, kLatestOpset, gather_rule},
    {"", "Expand", 8, kLatestOpset, expand_rule},
    {"", "Tile", 6, kLatestOpset, tile_rule},
    {"", "Pad", 2, kLatestOpset, pad_rule},
    {"", "CenterCropPad", 18, kLatestOpset, center_crop_pad_rule},
};

}  // namespace

void selection_rule(GradContext& g, bool unique) {
  const ir::Node& n = g.node();
  std::vector<std::string> inputs = n.inputs;
  inputs[0] = g.index_grid(g.x(0));
  std::string picked = g.op(n.op_type, inputs, n.attributes);
  g.set_dx(0, g.scatter_add_flat(picked, g.dy(0), g.x(0), unique));
}

std::span<const GradDef> shape_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
