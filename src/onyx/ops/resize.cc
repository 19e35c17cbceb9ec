// Resize (opsets 10 to 19) and Upsample (7, 9): nearest, N-linear and cubic modes, antialias, every
// coordinate transformation mode of the spec. Interpolation is separable: for each output
// coordinate of each dim we compute its taps (source index, weight) once, then every output
// element sums the tensor product of its dims' taps.
#include <algorithm>
#include <cmath>
#include <limits>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

struct Tap {
  int64_t index;
  double weight;
};

struct DimTaps {
  std::vector<std::vector<Tap>> taps;  // per output coordinate
  std::vector<bool> outside;           // tf_crop_and_resize: coordinate falls outside the input
};

class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(const KernelInfo& info, bool upsample) : opset_(info.opset), upsample_(upsample) {
    const ir::Node& n = info.node;
    mode_ = n.attr_string("mode", "nearest");
    if (mode_ == "bilinear" || mode_ == "trilinear") mode_ = "linear";  // Upsample-7 spellings
    if (mode_ != "nearest" && mode_ != "linear" && mode_ != "cubic") {
      info.fail(ErrorKind::InvalidModel, "mode '", mode_, "' is not nearest, linear or cubic");
    }
    legacy_ = upsample || info.opset < 11;
    coord_ = legacy_ ? "asymmetric" : n.attr_string("coordinate_transformation_mode", "half_pixel");
    nearest_ = legacy_ ? "floor" : n.attr_string("nearest_mode", "round_prefer_floor");
    cubic_a_ = n.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = n.attr_int("exclude_outside", 0) != 0;
    antialias_ = n.attr_int("antialias", 0) != 0;  // opset 18
    extrapolation_ = n.attr_float("extrapolation_value", 0.0f);
    attr_scales_ = n.attr_floats("scales");
    axes_ = n.attr_ints("axes");  // opset 18: roi, scales and sizes name these axes only
    policy_ = n.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy_ != "stretch" && policy_ != "not_larger" && policy_ != "not_smaller") {
      info.fail(ErrorKind::InvalidModel, "keep_aspect_ratio_policy '", policy_,
                "' is not stretch, not_larger or not_smaller");
    }
    static const char* coords[] = {"half_pixel", "pytorch_half_pixel",   "align_corners",
                                   "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    if (std::find(std::begin(coords), std::end(coords), coord_) == std::end(coords)) {
      info.fail(ErrorKind::InvalidModel, "coordinate_transformation_mode '", coord_,
                "' is not supported");
    }
    static const char* nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    if (std::find(std::begin(nearests), std::end(nearests), nearest_) == std::end(nearests)) {
      info.fail(ErrorKind::InvalidModel, "nearest_mode '", nearest_, "' is not supported");
    }
  }
  static std::unique_ptr<Kernel> resize(const KernelInfo& i) {
    return std::make_unique<ResizeKernel>(i, false);
  }
  static std::unique_ptr<Kernel> upsample(const KernelInfo& i) {
    return std::make_unique<ResizeKernel>(i, true);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t r = x.rank();
    std::vector<double> scales(static_cast<size_t>(r), 1.0), roi;
    Shape out = x.shape();
    std::vector<int64_t> sizes;
    std::vector<float> sc;
    if (upsample_ && opset_ < 9) {
      sc = attr_scales_;
    } else if (upsample_ || opset_ < 11) {
      sc = ctx.input(1).to_vector<float>();
    } else {
      if (ctx.has_input(1)) roi = double_vector(ctx.input(1));
      if (ctx.has_input(2) && ctx.input(2).numel() > 0) sc = ctx.input(2).to_vector<float>();
      if (ctx.has_input(3) && ctx.input(3).numel() > 0) sizes = ctx.input(3).to_int64s();
      if (sc.empty() == sizes.empty()) ctx.fail("exactly one of scales and sizes must be given");
      if (!axes_.empty()) expand_axes(ctx, x, sc, sizes, roi);
      if (!sizes.empty() && policy_ != "stretch") keep_aspect_ratio(x, sizes);
    }
    if (!sc.empty()) {
      if (static_cast<int64_t>(sc.size()) != r)
        ctx.fail("scales has ", sc.size(), " values for rank ", r);
      for (int64_t d = 0; d < r; ++d) {
        if (!(sc[d] > 0)) ctx.fail("scales must be positive, got ", sc[d]);
        scales[d] = sc[d];
        double size = std::floor(static_cast<double>(x.dim(d)) * sc[d]);
        if (!(size < 9.2e18)) ctx.fail("scale ", sc[d], " makes dimension ", d, " past int64");
        out[d] = static_cast<int64_t>(size);
      }
    } else {
      if (static_cast<int64_t>(sizes.size()) != r)
        ctx.fail("sizes has ", sizes.size(), " values for rank ", r);
      for (int64_t d = 0; d < r; ++d) {
        if (sizes[d] < 0) ctx.fail("sizes must not be negative");
        out[d] = sizes[d];
        scales[d] = x.dim(d) ? static_cast<double>(sizes[d]) / static_cast<double>(x.dim(d)) : 1.0;
      }
    }
    if (coord_ == "tf_crop_and_resize" && static_cast<int64_t>(roi.size()) != 2 * r) {
      ctx.fail("roi must hold ", 2 * r, " values for tf_crop_and_resize");
    }
    // The output first: the memory limit speaks before the per-dimension tap tables (one
    // entry per output coordinate) are built, and an empty output needs none.
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    if (y.numel() == 0) return;
    std::vector<DimTaps> dims(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) dims[d] = taps_for(x.dim(d), out[d], scales[d], roi, d, r);
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) interpolate<T>(x, y, dims);
    });
  }

 private:
  static std::vector<double> double_vector(const Tensor& t) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.element_as_double(i);
    return v;
  }

  double source_coord(double xr, int64_t in, int64_t out, double scale,
                      const std::vector<double>& roi, int64_t d, int64_t r) const {
    if (coord_ == "half_pixel") return (xr + 0.5) / scale - 0.5;
    if (coord_ == "pytorch_half_pixel") return out > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
    if (coord_ == "align_corners") {
      // The resized length is in * scale, which is fractional when scales (not sizes) are given.
      double resized = static_cast<double>(in) * scale;
      return out == 1 ? 0.0 : xr * static_cast<double>(in - 1) / (resized - 1.0);
    }
    if (coord_ == "tf_half_pixel_for_nn") return (xr + 0.5) / scale;
    if (coord_ == "tf_crop_and_resize") {
      double start = roi[d], end = roi[r + d];
      return out > 1
                 ? start * (in - 1) + xr * (end - start) * (in - 1) / static_cast<double>(out - 1)
                 : 0.5 * (start + end) * (in - 1);
    }
    return xr / scale;  // asymmetric
  }

  DimTaps taps_for(int64_t in, int64_t out, double scale, const std::vector<double>& roi, int64_t d,
                   int64_t r) const {
    DimTaps t;
    t.taps.resize(static_cast<size_t>(out));
    t.outside.assign(static_cast<size_t>(out), false);
    for (int64_t o = 0; o < out; ++o) {
      double xo = source_coord(static_cast<double>(o), in, out, scale, roi, d, r);
      auto& taps = t.taps[o];
      if (coord_ == "tf_crop_and_resize" && (xo < 0 || xo > static_cast<double>(in - 1))) {
        t.outside[o] = true;
        taps.push_back({0, 0.0});
        continue;
      }
      if (antialias_ && scale < 1 && mode_ != "nearest") {
        antialias_taps(xo, in, scale, taps);
      } else if (mode_ == "nearest") {
        double v;
        if (nearest_ == "round_prefer_floor")
          v = (xo == std::floor(xo) + 0.5) ? std::floor(xo) : std::round(xo);
        else if (nearest_ == "round_prefer_ceil")
          v = std::round(xo);
        else if (nearest_ == "floor")
          v = std::floor(xo);
        else
          v = std::ceil(xo);
        taps.push_back({std::clamp<int64_t>(static_cast<int64_t>(v), 0, in - 1), 1.0});
      } else if (mode_ == "linear") {
        double xc = std::clamp(xo, 0.0, static_cast<double>(in - 1));
        int64_t x0 = static_cast<int64_t>(std::floor(xc));
        int64_t x1 = std::min(x0 + 1, in - 1);
        double f = xc - static_cast<double>(x0);
        taps.push_back({x0, 1.0 - f});
        if (x1 != x0)
          taps.push_back({x1, f});
        else
          taps[0].weight = 1.0;
      } else {
        int64_t x0 = static_cast<int64_t>(std::floor(xo));
        double f = xo - static_cast<double>(x0), a = cubic_a_;
        double w[4];
        for (int k = 0; k < 4; ++k) w[k] = cubic_weight(std::abs(f - (k - 1)), a);
        for (int k = 0; k < 4; ++k) add_tap(taps, x0 - 1 + k, in, w[k]);
        if (exclude_outside_) normalize(taps);
      }
    }
    return t;
  }

  static double cubic_weight(double s, double a) {  // s = |distance|
    return s <= 1 ? ((a + 2) * s - (a + 3)) * s * s + 1
                  : (s < 2 ? ((a * s - 5 * a) * s + 8 * a) * s - 4 * a : 0.0);
  }

  // Source taps clamp to the edge, or are dropped under exclude_outside.
  void add_tap(std::vector<Tap>& taps, int64_t idx, int64_t in, double w) const {
    if (exclude_outside_ && (idx < 0 || idx >= in)) return;
    taps.push_back({std::clamp<int64_t>(idx, 0, in - 1), w});
  }

  static void normalize(std::vector<Tap>& taps) {
    double total = 0;
    for (const auto& tp : taps) total += tp.weight;
    if (total == 0) return;
    for (auto& tp : taps) tp.weight /= total;
  }

  // Resize-18's antialias when downscaling: the linear or cubic filter stretched by 1/scale,
  // so every input pixel under the output pixel contributes; weights sum to 1.
  void antialias_taps(double xo, int64_t in, double scale, std::vector<Tap>& taps) const {
    int64_t x0 = static_cast<int64_t>(std::floor(xo));
    double f = xo - static_cast<double>(x0);
    double support = mode_ == "linear" ? 1.0 : 2.0;
    int64_t start = static_cast<int64_t>(std::floor(-support / scale)) + 1;
    for (int64_t i = start; i < 2 - start; ++i) {  // symmetric about the tap at x0 + 1/2
      double s = std::abs((static_cast<double>(i) - f) * scale);
      double w = mode_ == "linear" ? std::max(0.0, 1.0 - s) : cubic_weight(s, cubic_a_);
      add_tap(taps, x0 + i, in, w);
    }
    normalize(taps);
  }

  template <typename T>
  void interpolate(const Tensor& x, Tensor& y, const std::vector<DimTaps>& dims) const {
    using C = compute_t<T>;
    int64_t r = x.rank();
    auto xs = shape_strides(x.shape());
    const T* in = x.data<T>();
    T* out = y.data<T>();
    std::vector<int64_t> o(static_cast<size_t>(r), 0), t(static_cast<size_t>(r), 0);
    for (int64_t k = 0; k < y.numel(); ++k) {
      bool outside = false;
      for (int64_t d = 0; d < r; ++d) outside = outside || dims[d].outside[o[d]];
      double acc = 0;
      if (outside) {
        acc = extrapolation_;
      } else {
        // Sum over the tensor product of every dim's taps.
        std::fill(t.begin(), t.end(), 0);
        for (;;) {
          double w = 1;
          int64_t off = 0;
          for (int64_t d = 0; d < r; ++d) {
            const Tap& tp = dims[d].taps[o[d]][t[d]];
            w *= tp.weight;
            off += tp.index * xs[d];
          }
          acc += w * static_cast<double>(static_cast<C>(in[off]));
          int64_t d = r - 1;
          for (; d >= 0; --d) {
            if (++t[d] < static_cast<int64_t>(dims[d].taps[o[d]].size())) break;
            t[d] = 0;
          }
          if (d < 0) break;
        }
      }
      if constexpr (std::is_integral_v<C>) {
        out[k] = static_cast<T>(std::nearbyint(acc));
      } else {
        out[k] = static_cast<T>(static_cast<C>(acc));
      }
      for (int64_t d = r - 1; d >= 0; --d) {
        if (++o[d] < y.dim(d)) break;
        o[d] = 0;
      }
    }
  }

  int64_t opset_;
  bool upsample_, legacy_ = false;
  std::string mode_, coord_, nearest_;
  double cubic_a_ = -0.75, extrapolation_ = 0;
  bool exclude_outside_ = false, antialias_ = false;
  std::vector<float> attr_scales_;
  std::vector<int64_t> axes_;
  std::string policy_;

  // Scales, sizes and roi given for axes_ only, as full-rank ones (other axes unchanged).
  void expand_axes(KernelContext& ctx, const Tensor& x, std::vector<float>& sc,
                   std::vector<int64_t>& sizes, std::vector<double>& roi) const {
    int64_t r = x.rank(), k = static_cast<int64_t>(axes_.size());
    auto given = [&](size_t n, const char* what) {
      if (static_cast<int64_t>(n) != k) ctx.fail(what, " has ", n, " values for ", k, " axes");
    };
    std::vector<int64_t> axes;
    for (int64_t a : axes_) {
      if (a < -r || a >= r) ctx.fail("axis ", a, " is out of range for rank ", r);
      axes.push_back(a < 0 ? a + r : a);
    }
    if (!sc.empty()) {
      given(sc.size(), "scales");
      std::vector<float> full(static_cast<size_t>(r), 1.0f);
      for (int64_t i = 0; i < k; ++i)
        full[static_cast<size_t>(axes[i])] = sc[static_cast<size_t>(i)];
      sc = std::move(full);
    }
    if (!sizes.empty()) {
      given(sizes.size(), "sizes");
      std::vector<int64_t> full(x.shape().begin(), x.shape().end());
      for (int64_t i = 0; i < k; ++i)
        full[static_cast<size_t>(axes[i])] = sizes[static_cast<size_t>(i)];
      sizes = std::move(full);
    }
    if (!roi.empty()) {
      given(roi.size() / 2, "roi");
      std::vector<double> full(static_cast<size_t>(2 * r), 0.0);
      for (int64_t d = 0; d < r; ++d) full[static_cast<size_t>(r + d)] = 1.0;
      for (int64_t i = 0; i < k; ++i) {
        full[static_cast<size_t>(axes[i])] = roi[static_cast<size_t>(i)];
        full[static_cast<size_t>(r + axes[i])] = roi[static_cast<size_t>(k + i)];
      }
      roi = std::move(full);
    }
  }

  // not_larger / not_smaller: one scale for the resized axes, the smallest or largest of
  // sizes / input, and out = round_int(scale * in) (halves up) on them.
  void keep_aspect_ratio(const Tensor& x, std::vector<int64_t>& sizes) const {
    int64_t r = x.rank();
    std::vector<int64_t> axes;
    for (int64_t a : axes_) axes.push_back(a < 0 ? a + r : a);
    if (axes.empty()) {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    bool smallest = policy_ == "not_larger";
    double scale = smallest ? std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t d : axes) {
      double ratio =
          static_cast<double>(sizes[static_cast<size_t>(d)]) / static_cast<double>(x.dim(d));
      scale = smallest ? std::min(scale, ratio) : std::max(scale, ratio);
    }
    for (int64_t d : axes)
      sizes[static_cast<size_t>(d)] =
          static_cast<int64_t>(std::floor(scale * static_cast<double>(x.dim(d)) + 0.5));
  }
};

constexpr KernelDef kDefs[] = {
    {"", "Resize", 10, kLatest, &ResizeKernel::resize},
    {"", "Upsample", 7, 9, &ResizeKernel::upsample},
};

}  // namespace

void register_resize_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
