// Gradient rule for Resize (and the older Upsample). Every mode the runtime implements (nearest,
// linear, cubic) is separable and linear in X: along each resized axis d, Y = M_d X with a fixed
// [out, in] matrix of interpolation weights. So dX applies each M_d transposed to dY. M_d is not
// recomputed here: it is the Resize itself applied to an identity matrix along its rows,
// so the gradient uses exactly the forward op's taps, whatever its coordinate mode
// (tf_crop_and_resize with each axis's own region; tf_half_pixel_for_nn through the picks
// of nearest, as its shift would move the identity's columns too). AffineGrid, linear in
// theta, is differentiated the same way: through its own grid for the identity theta.
#include <algorithm>

#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// An [n, n] identity of x's element type.
std::string identity(GradContext& g, int64_t n) {
  if (g.opset() >= 9) return g.op("EyeLike", {g.fill(g.ints({n, n}), 0.0, g.x(0))});
  Tensor id = Tensor::zeros(DType::Float64, {n, n});  // before EyeLike: a stored one
  for (int64_t i = 0; i < n; ++i) id.data<double>()[i * n + i] = 1;
  return g.as_type_of(g.constant(id), g.x(0));
}

void resize_rule(GradContext& g) {
  const ir::Node& node = g.node();
  std::string coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
  // In these modes an axis resized to its own size need not map onto itself (a crop, or a
  // half-pixel shift), so no axis is skipped; a crop's region is given per axis.
  bool crop = g.opset() >= 11 && coord == "tf_crop_and_resize";
  bool shifted = g.opset() >= 11 && coord == "tf_half_pixel_for_nn";
  if (shifted && node.attr_string("mode", "nearest") != "nearest") {
    g.fail("tf_half_pixel_for_nn is supported with mode nearest only");
  }
  std::vector<double> roi;
  if (crop) {
    auto t = g.has_x(1) ? g.constant_value(g.x(1)) : std::nullopt;
    if (!t) g.fail("roi must be a constant for tf_crop_and_resize");
    for (int64_t i = 0; i < t->numel(); ++i) roi.push_back(t->element_as_double(i));
  }
  // Outside the crop region the output is extrapolation_value, a constant with no
  // gradient: the weights are those of a zero extrapolation.
  std::vector<ir::Attribute> attrs = node.attributes;
  if (crop) {
    std::erase_if(attrs, [](const ir::Attribute& a) { return a.name == "extrapolation_value"; });
    attrs.push_back(attr("extrapolation_value", 0.0f));
  }
  for (const char* a : {"axes", "antialias", "keep_aspect_ratio_policy"}) {
    if (node.find_attr(a)) g.fail("attribute '", a, "' is not supported");
  }
  auto in = g.dims(g.x(0)), out = g.dims(g.y(0));
  auto is_static = [](const std::optional<std::vector<int64_t>>& d) {
    return d && std::all_of(d->begin(), d->end(), [](int64_t v) { return v >= 0; });
  };
  if (!is_static(in) || !is_static(out)) g.fail("input and output shapes must be known statically");
  if (crop && roi.size() != 2 * in->size()) g.fail("roi must have 2 values per axis");
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
  auto resize_rows = [&](const std::string& eye, double s, int64_t n_out, int64_t n_in, size_t d) {
    std::vector<float> rows{static_cast<float>(s), 1.0f};
    std::string region = empty;
    if (crop) {  // axis d's region for the rows, all of the columns
      size_t r = roi.size() / 2;
      region =
          g.op("Cast",
               {g.floats({static_cast<float>(roi[d]), 0.0f, static_cast<float>(roi[r + d]), 1.0f})},
               {attr("to", static_cast<int64_t>(g.dtype(g.x(1))))});
    }
    if (upsample && g.opset() < 9) {
      std::vector<ir::Attribute> up = attrs;
      std::erase_if(up, [](const ir::Attribute& a) { return a.name == "scales"; });
      up.push_back(attr("scales", rows));
      return g.op("Upsample", {eye}, up);
    }
    if (upsample || g.opset() < 11) return g.op(node.op_type, {eye, g.floats(rows)}, attrs);
    if (scales) return g.op("Resize", {eye, region, g.floats(rows)}, attrs);
    return g.op("Resize", {eye, region, empty, g.ints({n_out, n_in})}, attrs);
  };
  std::string v = g.dy(0);
  size_t r = in->size();
  for (size_t d = 0; d < r; ++d) {
    int64_t n_in = (*in)[d], n_out = (*out)[d];
    double s = scales ? scales->element_as_double(static_cast<int64_t>(d)) : 1.0;
    bool whole = !crop || (roi[d] == 0 && roi[roi.size() / 2 + d] == 1);
    if (!shifted && whole && n_in == n_out && (!scales || s == 1.0)) continue;  // the identity
    // [n_out, n_in]: row i holds the weights output i takes of each input.
    std::string m;
    if (shifted) {
      // The shift moves the identity's columns too. Nearest picks one input per output:
      // resizing the column [0, 1, ..., n_in-1] (a single column stays put) says which,
      // and OneHot makes those picks the rows of M.
      std::vector<double> ramp(static_cast<size_t>(n_in));
      for (int64_t i = 0; i < n_in; ++i) ramp[static_cast<size_t>(i)] = static_cast<double>(i);
      std::string col =
          g.as_type_of(g.constant(Tensor::from_vector<double>({n_in, 1}, ramp)), g.x(0));
      std::string picks = g.op("Cast", {resize_rows(col, s, n_out, 1, d)},
                               {attr("to", static_cast<int64_t>(DType::Int64))});
      m = g.one_hot(g.op("Reshape", {picks, g.ints({-1})}),
                    g.constant(Tensor::scalar<int64_t>(n_in)), -1, g.x(0));
    } else {
      m = resize_rows(identity(g, n_in), s, n_out, n_in, d);
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

// AffineGrid (opset 20): grid[n, p] = theta[n] (x_p, y_p[, z_p], 1), linear in theta, so
// dtheta[n] = sum over p of dgrid[n, p] (x_p, y_p[, z_p], 1)^T, a MatMul over the points.
// As for Resize, the base positions are not recomputed: they are the op's own grid for the
// identity theta (a batch of one), with a column of ones padded on. size is integer. (The
// spec marks theta non-differentiable; spatial transformers learn it, and PyTorch's
// affine_grid differentiates it.)
void affine_grid_rule(GradContext& g) {
  std::string theta = g.x(0);
  auto td = g.dims(theta), sd = g.dims(g.x(1));
  int64_t r = td && td->size() == 3 && (*td)[1] > 0   ? (*td)[1]
              : sd && sd->size() == 1 && (*sd)[0] > 0 ? (*sd)[0] - 2
                                                      : -1;
  if (r != 2 && r != 3) g.fail("whether the grid is 2-D or 3-D must be known statically");
  Tensor eye = Tensor::zeros(DType::Float64, {1, r, r + 1});
  for (int64_t i = 0; i < r; ++i) eye.data<double>()[i * (r + 1) + i] = 1;
  std::string rest = g.op("Slice", {g.x(1), g.ints({1}), g.ints({r + 2}), g.ints({0})});
  std::string size = g.op("Concat", {g.ints({1}), rest}, {attr("axis", int64_t{0})});
  std::string base =
      g.op("AffineGrid", {g.as_type_of(g.constant(eye), theta), size}, g.node().attributes);
  base = g.op("Reshape", {base, g.ints({1, -1, r})});
  base = g.op("Pad", {base, g.ints({0, 0, 0, 0, 0, 1}), g.scalar(1, theta)});  // [1, P, r + 1]
  std::string dgrid = g.op("Reshape", {g.dy(0), g.ints({0, -1, r})});          // [N, P, r]
  dgrid = g.op("Transpose", {dgrid}, {attr("perm", std::vector<int64_t>{0, 2, 1})});
  g.set_dx(0, g.op("MatMul", {dgrid, base}));
}

constexpr GradDef kDefs[] = {
    {"", "Resize", 10, kLatestOpset, resize_rule},
    {"", "Upsample", 7, 9, resize_rule},
    {"", "AffineGrid", 20, kLatestOpset, affine_grid_rule},
};

}  // namespace

std::span<const GradDef> resize_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
