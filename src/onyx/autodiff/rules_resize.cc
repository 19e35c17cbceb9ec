// Gradient rule for Resize. Every mode the runtime implements (nearest, linear, cubic) is
// separable and linear in X: along each resized axis d, Y = M_d X with a fixed [out, in]
// matrix of interpolation weights. So dX applies each M_d transposed to dY. M_d is not
// recomputed here: it is the Resize itself applied to an identity matrix along its rows,
// so the gradient uses exactly the forward op's taps, whatever its coordinate mode.
#include <algorithm>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

void resize_rule(GradContext& g) {
  const ir::Node& node = g.node();
  std::string coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
  // An unresized axis must map onto itself, which these modes do not guarantee.
  if (g.opset() >= 11 && (coord == "tf_crop_and_resize" || coord == "tf_half_pixel_for_nn")) {
    g.fail("coordinate_transformation_mode '", coord, "' is not supported");
  }
  for (const char* a : {"axes", "antialias", "keep_aspect_ratio_policy"}) {
    if (node.find_attr(a)) g.fail("attribute '", a, "' is not supported");
  }
  auto in = g.dims(g.x(0)), out = g.dims(g.y(0));
  auto is_static = [](const std::optional<std::vector<int64_t>>& d) {
    return d && std::all_of(d->begin(), d->end(), [](int64_t v) { return v >= 0; });
  };
  if (!is_static(in) || !is_static(out)) g.fail("input and output shapes must be known statically");
  // Scales when the node gave scales (they, not out/in, fix the coordinates), else sizes.
  std::optional<Tensor> scales;
  size_t scales_input = g.opset() < 11 ? 1 : 2;
  if (g.has_x(scales_input)) {
    scales = g.constant_value(g.x(scales_input));
    if (!scales) g.fail("scales must be a constant");
    if (scales->numel() == 0) scales.reset();
  }
  if (!scales && g.opset() < 11) g.fail("scales must be given");
  std::string empty = g.opset() < 13 ? g.floats({}) : "";  // optional only from opset 13
  std::string v = g.dy(0);
  size_t r = in->size();
  for (size_t d = 0; d < r; ++d) {
    int64_t n_in = (*in)[d], n_out = (*out)[d];
    double s = scales ? scales->element_as_double(static_cast<int64_t>(d)) : 1.0;
    if (n_in == n_out && (!scales || s == 1.0)) continue;  // the identity
    std::string eye = g.op("EyeLike", {g.fill(g.ints({n_in, n_in}), 0.0, g.x(0))});
    std::string m;  // [n_out, n_in]: row i holds the weights output i takes of each input
    if (g.opset() < 11) {
      m = g.op("Resize", {eye, g.floats({static_cast<float>(s), 1.0f})}, node.attributes);
    } else if (scales) {
      m = g.op("Resize", {eye, empty, g.floats({static_cast<float>(s), 1.0f})}, node.attributes);
    } else {
      m = g.op("Resize", {eye, empty, empty, g.ints({n_out, n_in})}, node.attributes);
    }
    // Axis d last, contract it with M, and back.
    std::vector<int64_t> perm = axes_range(0, static_cast<int64_t>(r));
    std::swap(perm[d], perm.back());
    bool last = d + 1 == r;
    if (!last) v = g.op("Transpose", {v}, {attr("perm", perm)});
    v = g.op("MatMul", {v, m});
    if (!last) v = g.op("Transpose", {v}, {attr("perm", perm)});
  }
  g.set_dx(0, v);
}

constexpr GradDef kDefs[] = {
    {"", "Resize", 10, kLatestOpset, resize_rule},
};

}  // namespace

std::span<const GradDef> resize_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
