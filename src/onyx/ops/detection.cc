// Detection and sampling ops: NonMaxSuppression, RoiAlign, MaxUnpool and GridSample.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "onyx/ops/grid_sample.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class NmsKernel final : public Kernel {
 public:
  explicit NmsKernel(const KernelInfo& info)
      : center_(info.node.attr_int("center_point_box", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<NmsKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& boxes = ctx.input(0);
    const Tensor& scores = ctx.input(1);
    if (boxes.rank() != 3 || boxes.dim(2) != 4)
      ctx.fail(ctx.input_name(0), " must be [batch, boxes, 4]");
    if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1)) {
      ctx.fail(ctx.input_name(1), " must be [batch, classes, boxes] matching the boxes");
    }
    int64_t max_out = ctx.has_input(2) && ctx.input(2).numel() ? ctx.input(2).to_int64s()[0] : 0;
    double iou_th =
        ctx.has_input(3) && ctx.input(3).numel() ? ctx.input(3).element_as_double(0) : 0.0;
    bool has_score_th = ctx.has_input(4) && ctx.input(4).numel();
    double score_th = has_score_th ? ctx.input(4).element_as_double(0) : 0.0;
    int64_t B = boxes.dim(0), N = boxes.dim(1), C = scores.dim(1);
    auto corners = [&](int64_t b, int64_t i, double c[4]) {  // y1, x1, y2, x2 with y1<=y2, x1<=x2
      double v[4];
      for (int k = 0; k < 4; ++k) v[k] = boxes.element_as_double((b * N + i) * 4 + k);
      if (center_) {
        c[0] = v[1] - v[3] / 2;
        c[1] = v[0] - v[2] / 2;
        c[2] = v[1] + v[3] / 2;
        c[3] = v[0] + v[2] / 2;
      } else {
        c[0] = std::min(v[0], v[2]);
        c[1] = std::min(v[1], v[3]);
        c[2] = std::max(v[0], v[2]);
        c[3] = std::max(v[1], v[3]);
      }
    };
    std::vector<int64_t> selected;
    for (int64_t b = 0; b < B && max_out > 0; ++b) {
      std::vector<std::array<double, 4>> box(static_cast<size_t>(N));
      for (int64_t i = 0; i < N; ++i) corners(b, i, box[i].data());
      for (int64_t c = 0; c < C; ++c) {
        std::vector<int64_t> order;
        for (int64_t i = 0; i < N; ++i) {
          if (!has_score_th || scores.element_as_double((b * C + c) * N + i) > score_th)
            order.push_back(i);
        }
        std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
          return scores.element_as_double((b * C + c) * N + p) >
                 scores.element_as_double((b * C + c) * N + q);
        });
        std::vector<int64_t> kept;
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          bool keep = true;
          for (int64_t k : kept) {
            const auto& p = box[i];
            const auto& q = box[k];
            double ih = std::max(0.0, std::min(p[2], q[2]) - std::max(p[0], q[0]));
            double iw = std::max(0.0, std::min(p[3], q[3]) - std::max(p[1], q[1]));
            double inter = ih * iw;
            double uni = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
            if (uni > 0 && inter / uni > iou_th) {
              keep = false;
              break;
            }
          }
          if (keep) kept.push_back(i);
        }
        for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
      }
    }
    Tensor& y = ctx.allocate(0, DType::Int64, {static_cast<int64_t>(selected.size() / 3), 3});
    std::copy(selected.begin(), selected.end(), y.data<int64_t>());
  }

 private:
  bool center_;
};

// Bilinear sample of plane p (H x W) at (y, x), following the RoiAlign convention: points
// more than one pixel outside read as zero, others clamp to the edge.
double roi_sample(const std::vector<double>& p, int64_t H, int64_t W, double y, double x) {
  if (y < -1.0 || y > H || x < -1.0 || x > W) return 0.0;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
  if (y0 >= H - 1) {
    y0 = y1 = H - 1;
    y = static_cast<double>(y0);
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= W - 1) {
    x0 = x1 = W - 1;
    x = static_cast<double>(x0);
  } else {
    x1 = x0 + 1;
  }
  double ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
  return hy * hx * p[y0 * W + x0] + hy * lx * p[y0 * W + x1] + ly * hx * p[y1 * W + x0] +
         ly * lx * p[y1 * W + x1];
}

class RoiAlignKernel final : public Kernel {
 public:
  explicit RoiAlignKernel(const KernelInfo& info)
      : max_(info.node.attr_string("mode", "avg") == "max"),
        out_h_(info.node.attr_int("output_height", 1)),
        out_w_(info.node.attr_int("output_width", 1)),
        ratio_(info.node.attr_int("sampling_ratio", 0)),
        scale_(info.node.attr_float("spatial_scale", 1.0f)),
        half_pixel_(info.opset >= 16 && info.node.attr_string("coordinate_transformation_mode",
                                                              "half_pixel") == "half_pixel") {
    if (out_h_ < 1 || out_w_ < 1 || ratio_ < 0)
      info.fail(ErrorKind::InvalidModel, "bad output size or sampling_ratio");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<RoiAlignKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& rois = ctx.input(1);
    std::vector<int64_t> bidx = ctx.input(2).to_int64s();
    if (x.rank() != 4) ctx.fail(ctx.input_name(0), " must be [N, C, H, W]");
    if (rois.rank() != 2 || rois.dim(1) != 4) ctx.fail(ctx.input_name(1), " must be [num_rois, 4]");
    int64_t R = rois.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    if (static_cast<int64_t>(bidx.size()) != R)
      ctx.fail(ctx.input_name(2), " must have one entry per roi");
    Tensor& y = ctx.allocate(0, x.dtype(), {R, C, out_h_, out_w_});
    std::vector<double> plane(static_cast<size_t>(H * W));
    double offset = half_pixel_ ? 0.5 : 0.0;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t r = 0; r < R; ++r) {
        if (bidx[r] < 0 || bidx[r] >= x.dim(0))
          ctx.fail(ctx.input_name(2), " holds batch index ", bidx[r], ", out of range");
        double x1 = rois.element_as_double(r * 4) * scale_ - offset,
               y1 = rois.element_as_double(r * 4 + 1) * scale_ - offset;
        double x2 = rois.element_as_double(r * 4 + 2) * scale_ - offset,
               y2 = rois.element_as_double(r * 4 + 3) * scale_ - offset;
        double rw = x2 - x1, rh = y2 - y1;
        if (!half_pixel_) {
          rw = std::max(rw, 1.0);
          rh = std::max(rh, 1.0);
        }
        double bh = rh / out_h_, bw = rw / out_w_;
        int64_t gh = ratio_ > 0 ? ratio_ : static_cast<int64_t>(std::ceil(rh / out_h_));
        int64_t gw = ratio_ > 0 ? ratio_ : static_cast<int64_t>(std::ceil(rw / out_w_));
        double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
        for (int64_t c = 0; c < C; ++c) {
          const T* src = x.data<T>() + (bidx[r] * C + c) * H * W;
          for (int64_t i = 0; i < H * W; ++i) plane[i] = to_double(src[i]);
          for (int64_t ph = 0; ph < out_h_; ++ph) {
            for (int64_t pw = 0; pw < out_w_; ++pw) {
              double acc = max_ ? -INFINITY : 0.0;
              for (int64_t iy = 0; iy < gh; ++iy) {
                double yy = y1 + ph * bh + (iy + 0.5) * bh / gh;
                for (int64_t ix = 0; ix < gw; ++ix) {
                  double xx = x1 + pw * bw + (ix + 0.5) * bw / gw;
                  double v = roi_sample(plane, H, W, yy, xx);
                  acc = max_ ? std::max(acc, v) : acc + v;
                }
              }
              if (!max_) acc /= count;
              y.data<T>()[((r * C + c) * out_h_ + ph) * out_w_ + pw] = from_double<T>(acc);
            }
          }
        }
      }
    });
  }

 private:
  bool max_;
  int64_t out_h_, out_w_, ratio_;
  double scale_;
  bool half_pixel_;
};

class MaxUnpoolKernel final : public Kernel {
 public:
  explicit MaxUnpoolKernel(const KernelInfo& info)
      : kernel_(info.node.attr_ints("kernel_shape")),
        pads_(info.node.attr_ints("pads")),
        strides_(info.node.attr_ints("strides")) {
    if (kernel_.empty()) info.fail(ErrorKind::InvalidModel, "attribute 'kernel_shape' is required");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<MaxUnpoolKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    size_t n = kernel_.size();
    if (x.rank() != static_cast<int64_t>(n) + 2 || ind.shape() != x.shape()) {
      ctx.fail("X must be [N, C, spatial...] with indices of the same shape");
    }
    // Indices refer to the pooling input, whose shape the attributes imply; an explicit
    // output_shape only pads that shape, so indices are re-linearised into it.
    Shape implied{x.dim(0), x.dim(1)};
    for (size_t d = 0; d < n; ++d) {
      int64_t s = strides_.empty() ? 1 : strides_[d];
      int64_t pb = pads_.empty() ? 0 : pads_[d], pe = pads_.empty() ? 0 : pads_[n + d];
      implied.push_back((x.dim(static_cast<int64_t>(d) + 2) - 1) * s + kernel_[d] - pb - pe);
    }
    Shape out = implied;
    if (ctx.has_input(2)) {
      std::vector<int64_t> os = ctx.input(2).to_int64s();
      if (os.size() != n + 2) ctx.fail(ctx.input_name(2), " must hold ", n + 2, " values");
      for (size_t d = 0; d < os.size(); ++d) {
        if (os[d] < implied[d])
          ctx.fail(ctx.input_name(2), " is smaller than the unpooled shape ", shape_str(implied));
      }
      out = os;
    }
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    std::vector<int64_t> idx = ind.to_int64s();
    int64_t implied_numel = shape_numel(implied);
    auto ist = shape_strides(implied), ost = shape_strides(out);
    for (auto& v : idx) {
      if (v < 0 || v >= implied_numel) {
        ctx.fail(ctx.input_name(1), " holds index ", v, ", outside the unpooled shape ",
                 shape_str(implied));
      }
      int64_t rem = v, o = 0;
      for (size_t d = 0; d < implied.size(); ++d) {
        o += (rem / ist[d]) * ost[d];
        rem %= ist[d];
      }
      v = o;
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::fill_n(y.data<T>(), y.numel(), T{});
      for (int64_t k = 0; k < x.numel(); ++k) {
        if (idx[k] < 0 || idx[k] >= y.numel()) {
          ctx.fail(ctx.input_name(1), " holds index ", idx[k], ", outside the output of ",
                   y.numel(), " elements");
        }
        y.data<T>()[idx[k]] = x.data<T>()[k];
      }
    });
  }

 private:
  std::vector<int64_t> kernel_, pads_, strides_;
};

class GridSampleKernel final : public Kernel {
 public:
  explicit GridSampleKernel(const KernelInfo& info)
      : align_(info.node.attr_int("align_corners", 0) != 0),
        mode_(grid_sample_mode(info.node)),
        padding_(info.node.attr_string("padding_mode", "zeros")) {
    if (mode_ != "bilinear" && mode_ != "nearest" && mode_ != "bicubic")
      info.fail(ErrorKind::InvalidModel, "bad mode '", mode_, "'");
    if (padding_ != "zeros" && padding_ != "border" && padding_ != "reflection") {
      info.fail(ErrorKind::InvalidModel, "bad padding_mode '", padding_, "'");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<GridSampleKernel>(i);
  }
  // N-d (opset 20): x [N, C, D1..Dr], grid [N, O1..Or, r] whose last axis lists the
  // coordinates innermost dimension first (x, y, z). Each output point's taps, one list per
  // dimension (1 nearest, 2 linear, 4 cubic), are found once and serve every channel.
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& grid = ctx.input(1);
    int64_t r = x.rank() - 2;
    if (r < 1 || r > 8)
      ctx.fail(ctx.input_name(0), " must be [N, C, D1, ...] with 1 to 8 spatial dims");
    if (grid.rank() != r + 2 || grid.dim(0) != x.dim(0) || grid.dim(r + 1) != r) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(grid.shape()), "; for ",
               ctx.input_name(0), " ", shape_str(x.shape()), " it must be [N, out..., ", r, "]");
    }
    int64_t N = x.dim(0), C = x.dim(1), S = 1, P = 1;
    std::vector<int64_t> in(static_cast<size_t>(r)), stride(static_cast<size_t>(r));
    Shape out_shape{N, C};
    for (int64_t d = r - 1; d >= 0; --d) {
      in[d] = x.dim(2 + d);
      stride[d] = S;
      S *= in[d];
    }
    for (int64_t d = 0; d < r; ++d) {
      out_shape.push_back(grid.dim(1 + d));
      P *= grid.dim(1 + d);
    }
    Tensor& y = ctx.allocate(0, x.dtype(), out_shape);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<std::vector<Tap>> taps(static_cast<size_t>(r));
      std::vector<size_t> at(static_cast<size_t>(r));
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t p = 0; p < P; ++p) {
          for (int64_t d = 0; d < r; ++d) {
            double g = grid.element_as_double((n * P + p) * r + (r - 1 - d));
            taps[d] = dim_taps(unnormalize(g, in[d]), in[d]);
          }
          for (int64_t c = 0; c < C; ++c) {
            const T* src = x.data<T>() + (n * C + c) * S;
            double v = 0;
            std::fill(at.begin(), at.end(), 0);
            for (;;) {  // every combination of the dimensions' taps
              double w = 1;
              int64_t off = 0;
              bool inside = true;
              for (int64_t d = 0; d < r; ++d) {
                const Tap& t = taps[d][at[d]];
                w *= t.weight;
                inside = inside && t.index >= 0;
                off += t.index * stride[d];
              }
              if (inside && w != 0) v += w * to_double(src[off]);
              int64_t d = r - 1;
              for (; d >= 0; --d) {
                if (++at[d] < taps[d].size()) break;
                at[d] = 0;
              }
              if (d < 0) break;
            }
            y.data<T>()[(n * C + c) * P + p] = from_double<T>(v);
          }
        }
      }
    });
  }

 private:
  struct Tap {
    int64_t index;  // -1: outside the input under zeros padding (reads as 0)
    double weight;
  };

  // Tap index i along a dimension of `size`: clamped by border and reflection padding,
  // -1 when zeros padding leaves it outside.
  int64_t tap_index(int64_t i, int64_t size) const {
    if (padding_ == "zeros") return i < 0 || i >= size ? -1 : i;
    return std::clamp<int64_t>(i, 0, size - 1);
  }

  // The taps along one dimension for the unnormalized coordinate u.
  std::vector<Tap> dim_taps(double u, int64_t size) const {
    if (mode_ != "bicubic") u = pad_coord(u, size);  // bicubic pads each tap instead
    if (mode_ == "nearest")
      return {{tap_index(static_cast<int64_t>(std::nearbyint(u)), size), 1.0}};
    int64_t i0 = static_cast<int64_t>(std::floor(u));
    double f = u - static_cast<double>(i0);
    if (mode_ == "bilinear") return {{tap_index(i0, size), 1 - f}, {tap_index(i0 + 1, size), f}};
    double w[4];
    cubic_weights(f, w);
    std::vector<Tap> taps;
    for (int k = 0; k < 4; ++k) {
      int64_t t = i0 - 1 + k;
      if (padding_ == "reflection")
        t = static_cast<int64_t>(pad_coord(static_cast<double>(t), size));
      taps.push_back({tap_index(t, size), w[k]});
    }
    return taps;
  }

  double unnormalize(double g, int64_t size) const {
    return align_ ? (g + 1) / 2 * static_cast<double>(size - 1)
                  : ((g + 1) * static_cast<double>(size) - 1) / 2;
  }
  // Border clamps, reflection mirrors about the edges (pixel centres with align_corners,
  // pixel borders without); zeros leaves the coordinate for fetch() to test.
  double pad_coord(double v, int64_t size) const {
    if (padding_ == "border") return std::clamp(v, 0.0, static_cast<double>(size - 1));
    if (padding_ == "reflection") {
      double lo = align_ ? 0.0 : -0.5,
             hi = align_ ? static_cast<double>(size - 1) : static_cast<double>(size) - 0.5;
      double span = hi - lo;
      if (span <= 0) return 0.0;
      double d = std::fabs(v - lo);
      double flips = std::floor(d / span);
      double extra = std::fmod(d, span);
      v = static_cast<int64_t>(flips) % 2 == 0 ? lo + extra : hi - extra;
      return std::clamp(v, 0.0, static_cast<double>(size - 1));
    }
    return v;
  }
  static void cubic_weights(double t, double w[4]) {
    const double a = -0.75;
    auto near = [&](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };
    auto far = [&](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };
    w[0] = far(t + 1);
    w[1] = near(t);
    w[2] = near(1 - t);
    w[3] = far(2 - t);
  }

  bool align_;
  std::string mode_, padding_;
};

constexpr KernelDef kDefs[] = {
    {"", "NonMaxSuppression", 10, kLatest, &NmsKernel::make},
    {"", "RoiAlign", 10, kLatest, &RoiAlignKernel::make},
    {"", "MaxUnpool", 9, kLatest, &MaxUnpoolKernel::make},
    {"", "GridSample", 16, kLatest, &GridSampleKernel::make},
};

}  // namespace

void register_detection_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
