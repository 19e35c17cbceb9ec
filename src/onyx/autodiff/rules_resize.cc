// Gradient rule for Resize (and the older Upsample). Every mode the runtime implements (nearest,
// linear, cubic) is separable and linear in X: along each resized axis d, Y = M_d X with a fixed
// [out, in] matrix of interpolation weights. So dX applies each M_d transposed to dY. M_d is not
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
  bool upsample = node.op_type == "Upsample";
  std::optional<Tensor> scales;
  if (upsample && g.opset() < 9) {
    std::vector<float> s = node.attr_floats("scales");
    scales = Tensor::from_vector<float>({static_cast<int64_t>(s.size())}, s);
  } else if (size_t i = upsample || g.opset() < 11 ? 1 : 2; g.has_x(i)) {
    scales = g.constant_value(g.x(i));
    if (!scales) g.fail("scales must be a constant");
    if (scales->numel() == 0) scales.reset();
  }
  if (!scales && (upsample || g.opset() < 11)) g.fail("scales must be given");
  std::string empty = g.opset() < 13 ? g.floats({}) : "";  // optional only from opset 13
  // The same op, resizing rows of `eye` [in, in] by scale s (or to n_out rows).
  auto resize_rows = [&](const std::string& eye, double s, int64_t n_out, int64_t n_in) {
    std::vector<float> rows{static_cast<float>(s), 1.0f};
    if (upsample && g.opset() < 9) {
      std::vector<ir::Attribute> attrs = node.attributes;
      std::erase_if(attrs, [](const ir::Attribute& a) { return a.name == "scales"; });
      attrs.push_back(attr("scales", rows));
      return g.op("Upsample", {eye}, attrs);
    }
    if (upsample || g.opset() < 11)
      return g.op(node.op_type, {eye, g.floats(rows)}, node.attributes);
    if (scales) return g.op("Resize", {eye, empty, g.floats(rows)}, node.attributes);
    return g.op("Resize", {eye, empty, empty, g.ints({n_out, n_in})}, node.attributes);
  };
  std::string v = g.dy(0);
  size_t r = in->size();
  for (size_t d = 0; d < r; ++d) {
    int64_t n_in = (*in)[d], n_out = (*out)[d];
    double s = scales ? scales->element_as_double(static_cast<int64_t>(d)) : 1.0;
    if (n_in == n_out && (!scales || s == 1.0)) continue;  // the identity
    std::string eye;
    if (g.opset() >= 9) {
      eye = g.op("EyeLike", {g.fill(g.ints({n_in, n_in}), 0.0, g.x(0))});
    } else {  // before EyeLike: a stored identity
      Tensor id = Tensor::zeros(g.dtype(g.x(0)) == DType::Float64 ? DType::Float64 : DType::Float32,
                                {n_in, n_in});
      for (int64_t i = 0; i < n_in; ++i) {
        if (id.dtype() == DType::Float64)
          id.data<double>()[i * n_in + i] = 1;
        else
          id.data<float>()[i * n_in + i] = 1;
      }
      eye = g.constant(id);
    }
    // [n_out, n_in]: row i holds the weights output i takes of each input.
    std::string m = resize_rows(eye, s, n_out, n_in);
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
    {"", "Upsample", 7, 9, resize_rule},
};

}  // namespace

std::span<const GradDef> resize_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
