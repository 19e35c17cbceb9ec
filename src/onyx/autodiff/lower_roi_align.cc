// RoiAlign written in primitive ops, so that their rules give the gradient with respect to
// the feature map (a scatter of dY to each sample's four bilinear taps). The sample grid of
// a region is gh x gw points per output cell; with sampling_ratio 0 that count depends on
// the region's size, so the grid is built as large as the largest region's (a Range of a
// computed length) and the points past a region's own count are masked out. The
// arithmetic follows the runtime's kernel (ops/detection.cc); the gradient check asserts
// that the two agree on the forward values. Regions and batch indices get no gradient, as
// in torchvision.
#include <cmath>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class RoiAlignLowering : Rewriter {
 public:
  RoiAlignLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset)
      : Rewriter(b, n, types, "lower"), opset_(opset) {}

  void run() {
    bool max = n_.attr_string("mode", "avg") == "max";
    int64_t oh = n_.attr_int("output_height", 1), ow = n_.attr_int("output_width", 1);
    int64_t ratio = n_.attr_int("sampling_ratio", 0);
    double scale = n_.attr_float("spatial_scale", 1.0f);
    bool half_pixel = opset_ >= 16 && n_.attr_string("coordinate_transformation_mode",
                                                     "half_pixel") == "half_pixel";
    if (oh < 1 || ow < 1 || ratio < 0) fail_here("bad output size or sampling_ratio");
    // GatherElements' gradient accumulates with ScatterElements-16.
    require_opset(opset_, 16, n_.describe() + ": cannot lower for differentiation",
                  "ScatterElements(reduction='add')");
    auto xd = dims_of(n_.input(0));
    if (!xd || xd->size() != 4 || (*xd)[2] < 1 || (*xd)[3] < 1) {
      fail_here("the feature map must be [N, C, H, W] with H and W known statically");
    }
    h_ = (*xd)[2];
    w_ = (*xd)[3];
    t_ = elem(n_.input(0));
    if (elem(n_.input(1)) != t_) fail_here("the regions must have the feature map's type");
    // Corners [R] in feature-map coordinates.
    std::string rois = n_.input(1);
    auto corner = [&](int64_t k) {
      std::string v = b_.op("Gather", {rois, index(k)}, {attr("axis", int64_t{1})});
      v = b_.op("Mul", {v, c(scale)});
      return half_pixel ? b_.op("Sub", {v, c(0.5)}) : v;
    };
    std::string x1 = corner(0), y1 = corner(1), x2 = corner(2), y2 = corner(3);
    std::string rw = b_.op("Sub", {x2, x1}), rh = b_.op("Sub", {y2, y1});
    if (!half_pixel) {
      rw = b_.op("Max", {rw, c(1)});
      rh = b_.op("Max", {rh, c(1)});
    }
    std::string bh = b_.op("Div", {rh, c(static_cast<double>(oh))});
    std::string bw = b_.op("Div", {rw, c(static_cast<double>(ow))});
    // Points per cell along each axis, per region ([R]), and the grid's size (int64 [1]).
    std::string gh, gw, gh_max, gw_max;
    if (ratio > 0) {
      gh = gw = c(static_cast<double>(ratio));
      gh_max = gw_max = ints({ratio});
    } else {
      gh = b_.op("Ceil", {bh});
      gw = b_.op("Ceil", {bw});
      gh_max = largest(gh);
      gw_max = largest(gw);
    }
    // Sample coordinates: y [R, oh, Gh] and x [R, ow, Gw], with the masks of real points.
    auto [ys, y_real] = axis_points(y1, bh, gh, gh_max, oh);
    auto [xs, x_real] = axis_points(x1, bw, gw, gw_max, ow);
    // Every point of a cell as [R, oh, Gh, ow, Gw].
    ys = unsqueeze(b_, ys, {3, 4}, opset_);
    y_real = unsqueeze(b_, y_real, {3, 4}, opset_);
    xs = unsqueeze(b_, xs, {1, 2}, opset_);
    x_real = unsqueeze(b_, x_real, {1, 2}, opset_);
    std::string real = b_.op("And", {y_real, x_real});
    std::string v = sample(ys, xs, real, max);  // [R, C, oh*Gh*ow*Gw]
    // [R, C, oh, Gh, ow, Gw]
    std::string rc = b_.op("Slice", {b_.op("Shape", {v}), ints({0}), ints({2})});
    std::string shape =
        b_.op("Concat", {rc, ints({oh}), gh_max, ints({ow}), gw_max}, {attr("axis", int64_t{0})});
    // allowzero: a grid of 0 points (every region empty) is a size, not "copy the input's".
    v = b_.op("Reshape", {v, shape}, {attr("allowzero", int64_t{1})});
    std::string y;
    if (max) {
      y = reduce("ReduceMax", v, {3, 5});
    } else {
      std::string count = b_.op("Max", {b_.op("Mul", {gh, gw}), c(1)});
      count = b_.op("Reshape", {count, ints({-1, 1, 1, 1})});
      y = b_.op("Div", {reduce("ReduceSum", v, {3, 5}), count});
    }
    alias(y, n_.outputs.at(0));
  }

 private:
  std::string c(double v) { return scalar(v, t_); }

  // Axes are inputs of ReduceSum from opset 13, of ReduceMax from opset 18.
  std::string reduce(const std::string& op, const std::string& v,
                     const std::vector<int64_t>& axes) {
    bool input = op == "ReduceSum" || opset_ >= 18;
    if (input) return b_.op(op, {v, ints(axes)}, {attr("keepdims", int64_t{0})});
    return b_.op(op, {v}, {attr("axes", axes), attr("keepdims", int64_t{0})});
  }

  // max over regions of a per-region count, as int64 [1] (0 for no regions).
  std::string largest(const std::string& counts) {
    std::string with_zero =
        b_.op("Concat", {counts, b_.op("Reshape", {c(0), ints({1})})}, {attr("axis", int64_t{0})});
    std::string m = b_.op("ReduceMax", {with_zero}, {attr("keepdims", int64_t{1})});
    return b_.op("Cast", {m}, {attr("to", static_cast<int64_t>(DType::Int64))});
  }

  // start + cell * size + (i + 0.5) * size / count for each cell and grid index i < max:
  // [R, cells, max], and which i are below the region's count.
  std::pair<std::string, std::string> axis_points(const std::string& start, const std::string& size,
                                                  const std::string& count, const std::string& max,
                                                  int64_t cells) {
    std::vector<double> cell_v;
    for (int64_t k = 0; k < cells; ++k) cell_v.push_back(static_cast<double>(k));
    std::string cell =
        b_.op("Cast", {b_.constant("c", Tensor::from_vector<double>({1, cells, 1}, cell_v))},
              {attr("to", static_cast<int64_t>(t_))});
    std::string limit = b_.op("Reshape", {max, ints({})});
    std::string i = b_.op("Range", {index(0), limit, index(1)});
    std::string fi = b_.op(
        "Reshape", {b_.op("Cast", {i}, {attr("to", static_cast<int64_t>(t_))}), ints({1, 1, -1})});
    auto col = [&](const std::string& v) { return b_.op("Reshape", {v, ints({-1, 1, 1})}); };
    std::string s = col(start), sz = col(size), n = col(count);
    std::string p = b_.op("Add", {s, b_.op("Mul", {cell, sz})});
    std::string frac = b_.op("Div", {b_.op("Mul", {b_.op("Add", {fi, c(0.5)}), sz}), n});
    std::string real = b_.op("Less", {fi, n});  // [R, 1, max]
    return {b_.op("Add", {p, frac}), real};
  }

  // The bilinear value at every point ([R, oh, Gh, ow, Gw] coordinates) of each region's
  // feature map, as [R, C, points]: points more than a pixel outside read 0, others clamp
  // to the edge. Points not `real` read 0 for avg and -inf for max.
  std::string sample(const std::string& yy, const std::string& xx, const std::string& real,
                     bool max) {
    auto outside = [&](const std::string& v, int64_t size) {
      return b_.op(
          "Or", {b_.op("Less", {v, c(-1)}), b_.op("Greater", {v, c(static_cast<double>(size))})});
    };
    std::string in = b_.op("Not", {b_.op("Or", {outside(yy, h_), outside(xx, w_)})});
    struct Axis {
      std::string lo, hi, frac;
    };
    auto axis = [&](const std::string& v, int64_t size) {
      std::string p = b_.op("Max", {v, c(0)});
      std::string f = b_.op("Floor", {p});
      std::string last = c(static_cast<double>(size - 1));
      std::string edge = b_.op("Not", {b_.op("Less", {f, last})});  // f >= size - 1
      return Axis{b_.op("Where", {edge, last, f}),
                  b_.op("Where", {edge, last, b_.op("Add", {f, c(1)})}),
                  b_.op("Where", {edge, c(0), b_.op("Sub", {p, f})})};
    };
    Axis ay = axis(yy, h_), ax = axis(xx, w_);
    std::string hy = b_.op("Sub", {c(1), ay.frac}), hx = b_.op("Sub", {c(1), ax.frac});
    // Each region's own feature map.
    FlatImage maps = flat_image(b_.op("Gather", {n_.input(0), n_.input(2)}), h_, w_);
    auto tap = [&](const std::string& ty, const std::string& tx, const std::string& weight) {
      return b_.op("Mul",
                   {read_pixels(maps, ty, tx), b_.op("Reshape", {weight, ints({0, 1, -1})})});
    };
    std::string v = b_.op("Sum", {tap(ay.lo, ax.lo, b_.op("Mul", {hy, hx})),
                                  tap(ay.lo, ax.hi, b_.op("Mul", {hy, ax.frac})),
                                  tap(ay.hi, ax.lo, b_.op("Mul", {ay.frac, hx})),
                                  tap(ay.hi, ax.hi, b_.op("Mul", {ay.frac, ax.frac}))});
    auto flat_mask = [&](const std::string& m) {
      std::string full = b_.op("Expand", {m, b_.op("Shape", {yy})});
      return b_.op("Reshape", {b_.op("Expand", {full, b_.op("Shape", {xx})}), ints({0, 1, -1})});
    };
    v = b_.op("Where", {flat_mask(in), v, c(0)});
    return b_.op("Where", {flat_mask(real), v, c(max ? -INFINITY : 0.0)});
  }

  int64_t opset_;
  int64_t h_ = 0, w_ = 0;
  DType t_ = DType::Undefined;
};

}  // namespace

void emit_lowered_roi_align(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                            int64_t opset) {
  RoiAlignLowering(b, n, types, opset).run();
}

}  // namespace onyx::autodiff
