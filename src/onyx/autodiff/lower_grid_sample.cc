// GridSample written in primitive ops (coordinate arithmetic, Floor, Round, Where, Clip,
// GatherElements), so that their rules give the gradients with respect to both the image
// and the grid: the image's is a scatter of dY to the taps, the grid's comes through the
// interpolation weights. The arithmetic follows the runtime's kernel (ops/detection.cc)
// step by step; the gradient check asserts the two agree on the forward values.
#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/ops/grid_sample.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class GridSampleLowering : Rewriter {
 public:
  GridSampleLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types)
      : Rewriter(b, n, types, "lower") {}

  void run() {
    align_ = n_.attr_int("align_corners", 0) != 0;
    mode_ = ops::grid_sample_mode(n_);
    padding_ = n_.attr_string("padding_mode", "zeros");
    if (mode_ != "bilinear" && mode_ != "nearest" && mode_ != "bicubic") {
      fail_here("mode '", mode_, "' is not supported");
    }
    if (padding_ != "zeros" && padding_ != "border" && padding_ != "reflection") {
      fail_here("padding_mode '", padding_, "' is not supported");
    }
    auto xd = dims_of(n_.input(0));
    if (!xd || xd->size() != 4 || (*xd)[2] < 1 || (*xd)[3] < 1) {
      fail_here("the image must be [N, C, H, W] with H and W known statically");
    }
    h_ = (*xd)[2];
    w_ = (*xd)[3];
    image_ = flat_image(n_.input(0), h_, w_);
    grid_type_ = elem(n_.input(1));
    x_type_ = elem(n_.input(0));
    if (grid_type_ == DType::Undefined || x_type_ == DType::Undefined) {
      fail_here("the element types of the image and the grid must be known");
    }
    std::string grid = n_.input(1);
    std::string xs = unnormalize(b_.op("Gather", {grid, index(0)}, {attr("axis", int64_t{3})}), w_);
    std::string ys = unnormalize(b_.op("Gather", {grid, index(1)}, {attr("axis", int64_t{3})}), h_);
    if (mode_ != "bicubic") {  // bicubic pads each tap instead
      xs = pad_coord(xs, w_);
      ys = pad_coord(ys, h_);
    }
    std::vector<std::string> terms;
    if (mode_ == "nearest") {
      terms.push_back(tap(b_.op("Round", {ys}), b_.op("Round", {xs}), ""));
    } else if (mode_ == "bilinear") {
      std::string x0 = b_.op("Floor", {xs}), y0 = b_.op("Floor", {ys});
      std::string lx = b_.op("Sub", {xs, x0}), ly = b_.op("Sub", {ys, y0});
      std::string hx = b_.op("Sub", {c(1), lx}), hy = b_.op("Sub", {c(1), ly});
      std::string x1 = b_.op("Add", {x0, c(1)}), y1 = b_.op("Add", {y0, c(1)});
      terms.push_back(tap(y0, x0, b_.op("Mul", {hy, hx})));
      terms.push_back(tap(y0, x1, b_.op("Mul", {hy, lx})));
      terms.push_back(tap(y1, x0, b_.op("Mul", {ly, hx})));
      terms.push_back(tap(y1, x1, b_.op("Mul", {ly, lx})));
    } else {
      std::string x0 = b_.op("Floor", {xs}), y0 = b_.op("Floor", {ys});
      auto wx = cubic_weights(b_.op("Sub", {xs, x0})), wy = cubic_weights(b_.op("Sub", {ys, y0}));
      for (int a = 0; a < 4; ++a) {
        for (int k = 0; k < 4; ++k) {
          std::string ty = b_.op("Add", {y0, c(a - 1)}), tx = b_.op("Add", {x0, c(k - 1)});
          if (padding_ == "reflection") {  // the tap itself, truncated as the kernel does
            ty = b_.op("Floor", {pad_coord(ty, h_)});
            tx = b_.op("Floor", {pad_coord(tx, w_)});
          }
          terms.push_back(tap(ty, tx, b_.op("Mul", {wy[a], wx[k]})));
        }
      }
    }
    std::string sum = terms.size() == 1 ? terms[0] : b_.op("Sum", terms);
    // [N, C, Ho*Wo] -> [N, C, Ho, Wo]
    std::string nc = b_.op("Slice", {b_.op("Shape", {n_.input(0)}), ints({0}), ints({2})});
    std::string hw = b_.op("Slice", {b_.op("Shape", {grid}), ints({1}), ints({3})});
    std::string shape = b_.op("Concat", {nc, hw}, {attr("axis", int64_t{0})});
    alias(b_.op("Reshape", {sum, shape}), n_.outputs.at(0));
  }

 private:
  std::string c(double v) { return scalar(v, grid_type_); }  // in the grid's type

  std::string unnormalize(const std::string& g, int64_t size) {
    std::string p = b_.op("Add", {g, c(1)});
    double s = static_cast<double>(size);
    if (align_) return b_.op("Mul", {p, c((s - 1) / 2)});
    return b_.op("Mul", {b_.op("Sub", {b_.op("Mul", {p, c(s)}), c(1)}), c(0.5)});
  }

  std::string clamp(const std::string& v, int64_t size) {
    return b_.op("Clip", {v, c(0), c(static_cast<double>(size - 1))});
  }

  // Border clamps; reflection mirrors about the edges (pixel centres with align_corners,
  // pixel borders without), then clamps; zeros leaves the coordinate to tap()'s test.
  std::string pad_coord(const std::string& v, int64_t size) {
    if (padding_ == "border") return clamp(v, size);
    if (padding_ != "reflection") return v;
    double s = static_cast<double>(size);
    double lo = align_ ? 0.0 : -0.5, hi = align_ ? s - 1 : s - 0.5, span = hi - lo;
    if (span <= 0) return b_.op("Mul", {v, c(0)});  // one pixel: always 0
    std::string d = b_.op("Abs", {b_.op("Sub", {v, c(lo)})});
    std::string flips = b_.op("Floor", {b_.op("Div", {d, c(span)})});
    std::string extra = b_.op("Sub", {d, b_.op("Mul", {flips, c(span)})});
    std::string half = b_.op("Mul", {flips, c(0.5)});
    std::string even = b_.op("Equal", {b_.op("Floor", {half}), half});
    std::string r =
        b_.op("Where", {even, b_.op("Add", {extra, c(lo)}), b_.op("Sub", {c(hi), extra})});
    return clamp(r, size);
  }

  // Keys' cubic convolution weights (a = -0.75) of the 4 taps around t in [0, 1).
  std::vector<std::string> cubic_weights(const std::string& t) {
    const double a = -0.75;
    auto near = [&](const std::string& s) {  // ((a + 2) s - (a + 3)) s^2 + 1
      std::string inner = b_.op("Sub", {b_.op("Mul", {s, c(a + 2)}), c(a + 3)});
      return b_.op("Add", {b_.op("Mul", {inner, b_.op("Mul", {s, s})}), c(1)});
    };
    auto far = [&](const std::string& s) {  // ((a s - 5a) s + 8a) s - 4a
      std::string p = b_.op("Sub", {b_.op("Mul", {s, c(a)}), c(5 * a)});
      p = b_.op("Add", {b_.op("Mul", {p, s}), c(8 * a)});
      return b_.op("Sub", {b_.op("Mul", {p, s}), c(4 * a)});
    };
    return {far(b_.op("Add", {t, c(1)})), near(t), near(b_.op("Sub", {c(1), t})),
            far(b_.op("Sub", {c(2), t}))};
  }

  // weight * X[n, :, ty, tx] for every output location, as [N, C, Ho*Wo]; an empty weight
  // is 1. Taps outside the image read 0 with zeros padding, the clamped edge otherwise.
  std::string tap(const std::string& ty, const std::string& tx, const std::string& weight) {
    std::string w = weight;
    if (padding_ == "zeros") {
      auto inside = [&](const std::string& v, int64_t size) {
        std::string ge = b_.op("Not", {b_.op("Less", {v, c(0)})});
        std::string le = b_.op("Not", {b_.op("Greater", {v, c(static_cast<double>(size - 1))})});
        return b_.op("And", {ge, le});
      };
      std::string valid = b_.op("And", {inside(ty, h_), inside(tx, w_)});
      w = b_.op("Where", {valid, w.empty() ? c(1) : w, c(0)});
    }
    std::string v = read_pixels(image_, clamp(ty, h_), clamp(tx, w_));  // [N, C, Ho*Wo]
    if (w.empty()) return v;
    w = b_.op("Reshape", {w, ints({0, 1, -1})});
    if (x_type_ != grid_type_) w = b_.op("Cast", {w}, {attr("to", static_cast<int64_t>(x_type_))});
    return b_.op("Mul", {v, w});
  }

  bool align_ = false;
  std::string mode_, padding_;
  int64_t h_ = 0, w_ = 0;
  FlatImage image_;
  DType grid_type_ = DType::Undefined, x_type_ = DType::Undefined;
};

}  // namespace

void emit_lowered_grid_sample(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                              int64_t opset) {
  GridSampleLowering(b, n, types).run();
}

}  // namespace onyx::autodiff
