// Conv (N-d, groups, dilations, auto_pad), ConvInteger and QLinearConv. float32 Conv runs on
// oneDNN's convolution primitives where they have a fast kernel (ops/conv_dnnl.h); the
// rest is im2col + GEMM per image and group (1x1 stride-1 unpadded convolutions skip
// im2col; depthwise 2-D convolutions run a direct loop).
#include <algorithm>
#include <cmath>

#include "onyx/ops/broadcast.h"
#include "onyx/ops/conv_dnnl.h"
#include "onyx/ops/conv_util.h"
#include "onyx/ops/gemm.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

struct ConvShape {
  int64_t N, C, M, group, Cg, Mg;
  WindowGeometry g;
};

// `xs` is X's shape (plain, also when X is held blocked).
ConvShape conv_shape(const KernelContext& ctx, const WindowAttrs& a, int64_t group, const Shape& xs,
                     const Tensor& w) {
  if (xs.size() < 3)
    ctx.fail(ctx.input_name(0), " must be [N, C, spatial...], got ", shape_str(xs));
  if (w.rank() != static_cast<int64_t>(xs.size())) {
    ctx.fail(ctx.input_name(1), " must have rank ", xs.size(), " like X, got ",
             shape_str(w.shape()));
  }
  ConvShape s;
  s.N = xs[0];
  s.C = xs[1];
  s.M = w.dim(0);
  s.group = group;
  if (group <= 0 || s.C % group || s.M % group) {
    ctx.fail("group ", group, " must divide the input channels (", s.C,
             ") and the output channels (", s.M, ")");
  }
  s.Cg = s.C / group;
  s.Mg = s.M / group;
  if (w.dim(1) != s.Cg) {
    ctx.fail(ctx.input_name(1), " has ", w.dim(1), " input channels per group; X has ", s.C,
             " channels in ", group, " groups, so ", s.Cg, " are needed");
  }
  std::vector<int64_t> in(xs.begin() + 2, xs.end());
  std::vector<int64_t> k(w.shape().begin() + 2, w.shape().end());
  if (!a.kernel_shape.empty() && a.kernel_shape != k) {
    ctx.fail("kernel_shape ", shape_str(a.kernel_shape), " differs from W's spatial shape ",
             shape_str(k));
  }
  s.g = window_geometry(ctx, a, in, k);
  return s;
}

bool is_pointwise(const WindowGeometry& g) {
  for (int64_t d = 0; d < g.spatial; ++d) {
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_begin[d] || g.pad_end[d]) return false;
  }
  return true;
}

// y[m, o] for one image, all groups; T is float or double (or int32 for the integer ops).
template <typename T>
void conv_image(const ConvShape& s, const T* x, const T* w, T* y, T* col, ThreadPool& pool) {
  int64_t K = s.Cg * s.g.kernel_size(), O = s.g.out_size(), I = s.g.in_size();
  bool pointwise = is_pointwise(s.g);
  for (int64_t grp = 0; grp < s.group; ++grp) {
    const T* xg = x + grp * s.Cg * I;
    const T* cols = xg;
    if (!pointwise) {
      int64_t per = s.g.kernel_size() * O;
      pool.parallel_for(
          s.Cg, std::max<int64_t>(1, 16384 / std::max<int64_t>(per, 1)),
          [&](int64_t b, int64_t e) { im2col<T>(xg + b * I, e - b, s.g, col + b * per); });
      cols = col;
    }
    const T* wg = w + grp * s.Mg * K;
    T* yg = y + grp * s.Mg * O;
    if constexpr (std::is_same_v<T, float>) {
      gemm_f32(false, false, s.Mg, O, K, 1.0f, wg, K, cols, O, 0.0f, yg, O, &pool);
    } else {
      gemm_generic<T>(false, false, s.Mg, O, K, T(1), wg, K, cols, O, T(0), yg, O);
    }
  }
}

// Depthwise 2-D (one input channel per group, one output channel per group). For each
// output row and kernel tap the valid output columns are computed once, so the inner loop
// is a branch-free multiply-add over a row (contiguous when the stride is 1).
void depthwise_2d(const ConvShape& s, const float* x, const float* w, float* y, ThreadPool& pool) {
  const WindowGeometry& g = s.g;
  int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0],
          KW = g.kernel[1];
  int64_t sw = g.stride[1], dw = g.dilation[1], pw = g.pad_begin[1];
  // Valid [lo, hi) output columns for each kernel column.
  std::vector<int64_t> lo(static_cast<size_t>(KW)), hi(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) {
    int64_t off = kw * dw - pw;  // iw = ow * sw + off
    int64_t l = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t h = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
    lo[kw] = std::min(l, OW);
    hi[kw] = std::max(lo[kw], std::min(h, OW));
  }
  pool.parallel_for(s.C, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const float* xc = x + c * H * W;
      const float* wc = w + c * KH * KW;
      float* yc = y + c * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        float* yr = yc + oh * OW;
        std::fill_n(yr, OW, 0.0f);
        for (int64_t kh = 0; kh < KH; ++kh) {
          int64_t ih = oh * g.stride[0] - g.pad_begin[0] + kh * g.dilation[0];
          if (ih < 0 || ih >= H) continue;
          const float* xr = xc + ih * W;
          for (int64_t kw = 0; kw < KW; ++kw) {
            float wv = wc[kh * KW + kw];
            const float* xs = xr + kw * dw - pw;
            if (sw == 1) {
              for (int64_t ow = lo[kw]; ow < hi[kw]; ++ow) yr[ow] += wv * xs[ow];
            } else {
              for (int64_t ow = lo[kw]; ow < hi[kw]; ++ow) yr[ow] += wv * xs[ow * sw];
            }
          }
        }
      }
    }
  });
}

// Conv, and the runtime's blocked Conv (ops::kRuntimeDomain): the same attributes, Y in
// the blocked layout of ops/conv_dnnl.h, X plain or blocked. runtime/layout.cc makes these
// for float32 Convs whose weights are initializers.
class ConvKernel final : public Kernel {
 public:
  ConvKernel(const KernelInfo& info, bool blocked)
      : attrs_(WindowAttrs::read(info)),
        group_(info.node.attr_int("group", 1)),
        epilogue_(ConvEpilogue::read(info.node)),
        dnnl_(info.constant_inputs.size() > 1 ? info.constant_inputs[1] : nullptr),
        blocked_(blocked) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConvKernel>(i, false);
  }
  static std::unique_ptr<Kernel> make_blocked(const KernelInfo& i) {
    return std::make_unique<ConvKernel>(i, true);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    if (w.dtype() != x.dtype()) ctx.fail("X and W must share an element type");
    // The runtime's blocked Conv may read X blocked: one dimension more than W.
    bool x_blocked = blocked_ && x.rank() == w.rank() + 1;
    ConvShape s =
        conv_shape(ctx, attrs_, group_, x_blocked ? plain_input_shape(ctx, x, w) : x.shape(), w);
    const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (bias && (bias->numel() != s.M || bias->dtype() != x.dtype())) {
      ctx.fail(ctx.input_name(2), " must hold ", s.M, " values of X's type, got ",
               shape_str(bias->shape()));
    }
    Shape out{s.N, s.M};
    out.insert(out.end(), s.g.out.begin(), s.g.out.end());
    if (blocked_) return compute_blocked(ctx, s, x, x_blocked, w, bias, out);
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    if (x.dtype() == DType::Float32) {
      run<float>(ctx, s, x.data<float>(), w.data<float>(), bias ? bias->data<float>() : nullptr,
                 y.data<float>(), epilogue_);
    } else if (x.dtype() == DType::Float64) {
      run<double>(ctx, s, x.data<double>(), w.data<double>(), bias ? bias->data<double>() : nullptr,
                  y.data<double>(), epilogue_);
    } else if (x.dtype() == DType::Float16 || x.dtype() == DType::BFloat16) {
      // Widen to float, convolve, narrow.
      auto widen = [&](const Tensor& t) {
        Tensor f = ctx.scratch(DType::Float32, t.shape());
        visit_float(t.dtype(), [&](auto tag) {
          using T = decltype(tag);
          for (int64_t i = 0; i < t.numel(); ++i) f.data<float>()[i] = float(t.data<T>()[i]);
        });
        return f;
      };
      Tensor fx = widen(x), fw = widen(w), fb = bias ? widen(*bias) : Tensor();
      Tensor fy = ctx.scratch(DType::Float32, out);
      run<float>(ctx, s, fx.data<float>(), fw.data<float>(), bias ? fb.data<float>() : nullptr,
                 fy.data<float>(), epilogue_);
      visit_float(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        for (int64_t i = 0; i < y.numel(); ++i) y.data<T>()[i] = T(fy.data<float>()[i]);
      });
    } else {
      ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
    }
  }

 private:
  template <typename T>
  void run(KernelContext& ctx, const ConvShape& s, const T* x, const T* w, const T* bias, T* y,
           const ConvEpilogue& epilogue) {
    int64_t I = s.g.in_size(), O = s.g.out_size();
    bool depthwise = std::is_same_v<T, float> && s.g.spatial == 2 && s.Cg == 1 && s.Mg == 1;
    if constexpr (std::is_same_v<T, float>) {
      if (s.g.spatial == 2 && s.group == 1 && O <= 16 && s.g.dilation[0] == 1 &&
          s.g.dilation[1] == 1 && s.g.kernel_size() >= 4 * O) {
        return run_by_position(ctx, s, x, w, bias, y, epilogue);
      }
      if (dnnl_.run(ctx, problem(s), epilogue, {}, x, w, bias, y)) return;
    }
    int64_t col_size = !depthwise && !is_pointwise(s.g) ? s.Cg * s.g.kernel_size() * O : 0;
    auto one_image = [&](int64_t n, T* col) {
      const T* xn = x + n * s.C * I;
      T* yn = y + n * s.M * O;
      if constexpr (std::is_same_v<T, float>) {
        if (depthwise) {
          depthwise_2d(s, xn, w, yn, ctx.pool());
        } else {
          conv_image<T>(s, xn, w, yn, col, ctx.pool());
        }
      } else {
        conv_image<T>(s, xn, w, yn, col, ctx.pool());
      }
      if (bias) add_bias(bias, s.M, O, yn);
      epilogue.apply(yn, s.M * O);
    };
    double image_flops = 2.0 * static_cast<double>(s.M * s.Cg * s.g.kernel_size() * O);
    for_each_image<T>(ctx, s.N, image_flops, col_size, one_image);
  }

  static ConvProblem problem(const ConvShape& s) {
    return ConvProblem{s.N, s.C, s.M, s.group, s.g};
  }

  // X's plain shape from its blocked one, the channels from W and the group.
  Shape plain_input_shape(const KernelContext& ctx, const Tensor& x, const Tensor& w) const {
    int64_t C = w.rank() > 1 ? w.dim(1) * group_ : 0;
    std::optional<Shape> plain = unblocked_shape(x, C);
    if (!plain)
      ctx.fail(ctx.input_name(0), " is not a blocked tensor of ", C,
               " channels: ", shape_str(x.shape()));
    return *plain;
  }

  // The runtime's blocked Conv: Y blocked; with a fourth input (a residual the layout
  // pass folded in from an Add), Y = act(conv + bias + residual).
  void compute_blocked(KernelContext& ctx, const ConvShape& s, const Tensor& x, bool x_blocked,
                       const Tensor& w, const Tensor* bias, const Shape& out) {
    if (x.dtype() != DType::Float32)
      ctx.fail("the blocked layout holds float32 only, X is ", dtype_name(x.dtype()));
    const float* b = bias ? bias->data<float>() : nullptr;
    Shape shape = blocked_shape(out);
    const Tensor* residual = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    if (residual && residual->dtype() != DType::Float32)
      ctx.fail(ctx.input_name(3), " must be float32 like X");
    if (!residual || residual->shape() == shape) {
      // The residual's buffer (or a copy) becomes Y, and the convolution adds onto it.
      Tensor& y = residual ? ctx.output_from_input(3, 0) : ctx.allocate(0, DType::Float32, shape);
      conv_blocked(ctx, s, x, x_blocked, w, b, out, epilogue_, residual != nullptr, y);
      return;
    }
    // A residual that broadcasts: the convolution alone, then the Add and the activation.
    Tensor conv = ctx.scratch(DType::Float32, shape);
    conv_blocked(ctx, s, x, x_blocked, w, b, out, ConvEpilogue{}, false, conv);
    Shape y_shape;
    if (!broadcast_shapes(shape, residual->shape(), &y_shape))
      ctx.fail(ctx.input_name(3), " ", shape_str(residual->shape()), " does not broadcast with ",
               shape_str(shape));
    Tensor& y = ctx.allocate(0, DType::Float32, y_shape);
    BroadcastPlan<2> plan = plan_broadcast<2>({&shape, &residual->shape()}, y_shape);
    const float *c = conv.data<float>(), *r = residual->data<float>();
    float* yd = y.data<float>();
    for_each_broadcast_row(
        plan, ctx.pool(),
        [&](int64_t o, std::array<int64_t, 2> in, int64_t n, std::array<int64_t, 2> step) {
          for (int64_t i = 0; i < n; ++i)
            yd[o + i] = c[in[0] + i * step[0]] + r[in[1] + i * step[1]];
          epilogue_.apply(yd + o, n);
        });
  }

  // y (blocked) = act(conv + bias [+ y when accumulate]).
  void conv_blocked(KernelContext& ctx, const ConvShape& s, const Tensor& x, bool x_blocked,
                    const Tensor& w, const float* b, const Shape& out, const ConvEpilogue& e,
                    bool accumulate, Tensor& y) {
    if (dnnl_.run(ctx, problem(s), e, {x_blocked, true, accumulate}, x.data<float>(),
                  w.data<float>(), b, y.data<float>()))
      return;
    // No oneDNN kernel: onyx's own path, in plain layouts.
    const float* xp = x.data<float>();
    Tensor xs;
    if (x_blocked) {
      xs = ctx.scratch(DType::Float32, {s.N, s.C, s.g.in_size()});
      from_blocked(x.data<float>(), s.N, s.C, s.g.in_size(), xs.data<float>(), ctx.pool());
      xp = xs.data<float>();
    }
    Tensor yp = ctx.scratch(DType::Float32, out);
    run<float>(ctx, s, xp, w.data<float>(), b, yp.data<float>(), accumulate ? ConvEpilogue{} : e);
    if (!accumulate) {
      to_blocked(yp.data<float>(), s.N, s.M, s.g.out_size(), y.data<float>(), ctx.pool());
      return;
    }
    Tensor yc = ctx.scratch(DType::Float32, y.shape());
    to_blocked(yp.data<float>(), s.N, s.M, s.g.out_size(), yc.data<float>(), ctx.pool());
    float* yd = y.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) yd[i] += yc.data<float>()[i];
    e.apply(yd, y.numel());
  }

  // Few output positions per image and a large kernel: a weight gradient (3x3) computed as
  // a convolution whose "kernel" is the output gradient and whose images are the input
  // channels. im2col would write rows of 9 in runs of 3, and each image's GEMM would be a
  // sliver (N = 9). Instead each (image, output position) window is gathered as one row,
  // in runs as long as the kernel is wide, and one GEMM W * windows^T gives every output.
  void run_by_position(KernelContext& ctx, const ConvShape& s, const float* x, const float* w,
                       const float* bias, float* y, const ConvEpilogue& epilogue) {
    const WindowGeometry& g = s.g;
    int64_t H = g.in[0], W = g.in[1], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
    int64_t O = g.out_size(), K = s.C * KH * KW, I = H * W, rows = s.N * O;
    // At most about 64 MB of windows at a time.
    int64_t chunk = std::clamp<int64_t>((int64_t{16} << 20) / K, 1, rows);
    Tensor win = ctx.scratch(DType::Float32, {chunk, K});
    Tensor prod = ctx.scratch(DType::Float32, {s.M, chunk});
    float* wd = win.data<float>();
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
      int64_t nr = std::min(chunk, rows - r0);
      ctx.pool().parallel_for(nr, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          int64_t n = (r0 + i) / O, o = (r0 + i) % O;
          int64_t ih0 = o / OW * g.stride[0] - g.pad_begin[0];
          int64_t iw0 = o % OW * g.stride[1] - g.pad_begin[1];
          // Columns of a kernel row that land inside the image.
          int64_t lo = std::clamp<int64_t>(-iw0, 0, KW), hi = std::clamp<int64_t>(W - iw0, lo, KW);
          for (int64_t c = 0; c < s.C; ++c) {
            const float* xc = x + (n * s.C + c) * I;
            for (int64_t kh = 0; kh < KH; ++kh) {
              float* r = wd + i * K + (c * KH + kh) * KW;
              int64_t ih = ih0 + kh;
              if (ih < 0 || ih >= H) {
                std::fill_n(r, KW, 0.0f);
                continue;
              }
              std::fill(r, r + lo, 0.0f);
              std::copy(xc + ih * W + iw0 + lo, xc + ih * W + iw0 + hi, r + lo);
              std::fill(r + hi, r + KW, 0.0f);
            }
          }
        }
      });
      gemm_f32(false, true, s.M, nr, K, 1.0f, w, K, wd, K, 0.0f, prod.data<float>(), nr,
               &ctx.pool());
      for (int64_t i = 0; i < nr; ++i) {
        int64_t n = (r0 + i) / O, o = (r0 + i) % O;
        for (int64_t m = 0; m < s.M; ++m) y[(n * s.M + m) * O + o] = prod.data<float>()[m * nr + i];
      }
    }
    for (int64_t n = 0; n < s.N; ++n) {
      if (bias) add_bias(bias, s.M, O, y + n * s.M * O);
      epilogue.apply(y + n * s.M * O, s.M * O);
    }
  }

  WindowAttrs attrs_;
  int64_t group_;
  ConvEpilogue epilogue_;
  DnnlConv dnnl_;
  bool blocked_;
};

// The runtime's FromBlocked: a blocked tensor of `channels` channels back to plain.
class FromBlockedKernel final : public Kernel {
 public:
  explicit FromBlockedKernel(const KernelInfo& info)
      : channels_(info.node.attr_int("channels", -1)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<FromBlockedKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::optional<Shape> plain = unblocked_shape(x, channels_);
    if (x.dtype() != DType::Float32 || !plain)
      ctx.fail("input is not a blocked float32 tensor of ", channels_, " channels");
    const Shape& out = *plain;
    Tensor& y = ctx.allocate(0, DType::Float32, out);
    int64_t S = 1;
    for (size_t d = 2; d < out.size(); ++d) S *= out[d];
    from_blocked(x.data<float>(), out[0], channels_, S, y.data<float>(), ctx.pool());
  }

 private:
  int64_t channels_;
};

int32_t zero_point(const KernelContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return 0;
  const Tensor& z = ctx.input(i);
  if (z.numel() != 1) ctx.fail(ctx.input_name(i), " must be a scalar zero point");
  return z.dtype() == DType::Int8 ? z.data<int8_t>()[0] : z.data<uint8_t>()[0];
}

// t - zero_point as int32; the zero point is a scalar, or one value per slice of axis 0
// (per output channel, for weights).
Tensor widen_minus(KernelContext& ctx, const Tensor& t, size_t zp_input) {
  if (t.dtype() != DType::Int8 && t.dtype() != DType::UInt8)
    ctx.fail("quantized inputs must be int8 or uint8");
  std::vector<int32_t> zps{0};
  if (ctx.has_input(zp_input)) {
    const Tensor& z = ctx.input(zp_input);
    if (z.dtype() != t.dtype())
      ctx.fail(ctx.input_name(zp_input), " must have the type of the data it offsets");
    if (z.numel() != 1 && (t.rank() == 0 || z.numel() != t.dim(0))) {
      ctx.fail(ctx.input_name(zp_input), " must be a scalar or hold one value per output channel");
    }
    zps.clear();
    for (int64_t k = 0; k < z.numel(); ++k) {
      zps.push_back(z.dtype() == DType::Int8 ? z.data<int8_t>()[k] : z.data<uint8_t>()[k]);
    }
  }
  Tensor out = ctx.scratch(DType::Int32, t.shape());
  int64_t per = zps.size() > 1 ? t.numel() / t.dim(0) : t.numel();
  for (int64_t i = 0; i < t.numel(); ++i) {
    int32_t v = t.dtype() == DType::Int8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
    out.data<int32_t>()[i] = v - zps[zps.size() > 1 ? i / std::max<int64_t>(per, 1) : 0];
  }
  return out;
}

// ConvInteger (x, w, x_zp, w_zp) -> int32, and QLinearConv
// (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B) -> quantized.
class IntegerConvKernel final : public Kernel {
 public:
  IntegerConvKernel(const KernelInfo& info, bool qlinear)
      : attrs_(WindowAttrs::read(info)),
        group_(info.node.attr_int("group", 1)),
        qlinear_(qlinear) {}
  static std::unique_ptr<Kernel> conv_integer(const KernelInfo& i) {
    return std::make_unique<IntegerConvKernel>(i, false);
  }
  static std::unique_ptr<Kernel> qlinear_conv(const KernelInfo& i) {
    return std::make_unique<IntegerConvKernel>(i, true);
  }
  void compute(KernelContext& ctx) override {
    size_t xi = 0, wi = qlinear_ ? 3 : 1;
    Tensor x = widen_minus(ctx, ctx.input(xi), 2);
    if (x.numel() && ctx.has_input(2) && ctx.input(2).numel() != 1)
      ctx.fail(ctx.input_name(2), " must be a scalar");
    Tensor w = widen_minus(ctx, ctx.input(wi), qlinear_ ? 5 : 3);
    ConvShape s = conv_shape(ctx, attrs_, group_, x.shape(), w);
    Shape out{s.N, s.M};
    out.insert(out.end(), s.g.out.begin(), s.g.out.end());
    Tensor acc = qlinear_ ? ctx.scratch(DType::Int32, out) : ctx.allocate(0, DType::Int32, out);
    Tensor col = ctx.scratch(DType::Int32, {s.Cg * s.g.kernel_size() * s.g.out_size()});
    int64_t I = s.g.in_size(), O = s.g.out_size();
    for (int64_t n = 0; n < s.N; ++n) {
      conv_image<int32_t>(s, x.data<int32_t>() + n * s.C * I, w.data<int32_t>(),
                          acc.data<int32_t>() + n * s.M * O, col.data<int32_t>(), ctx.pool());
    }
    if (!qlinear_) return;
    if (ctx.has_input(8)) {
      const Tensor& b = ctx.input(8);
      if (b.dtype() != DType::Int32 || b.numel() != s.M)
        ctx.fail(ctx.input_name(8), " must hold ", s.M, " int32 values");
      for (int64_t n = 0; n < s.N; ++n)
        add_bias(b.data<int32_t>(), s.M, O, acc.data<int32_t>() + n * s.M * O);
    }
    const Tensor& ws = ctx.input(4);
    float xs = ctx.input(1).data<float>()[0], ys = ctx.input(6).data<float>()[0];
    const Tensor& yzp = ctx.input(7);
    int32_t z = zero_point(ctx, 7);
    Tensor& y = ctx.allocate(0, yzp.dtype(), out);
    for (int64_t n = 0; n < s.N; ++n) {
      for (int64_t m = 0; m < s.M; ++m) {
        float scale = xs * ws.data<float>()[ws.numel() == 1 ? 0 : m] / ys;
        for (int64_t o = 0; o < O; ++o) {
          int64_t at = (n * s.M + m) * O + o;
          float v = std::nearbyint(static_cast<float>(acc.data<int32_t>()[at]) * scale) +
                    static_cast<float>(z);
          if (yzp.dtype() == DType::Int8)
            y.data<int8_t>()[at] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
          else
            y.data<uint8_t>()[at] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
        }
      }
    }
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
  bool qlinear_;
};

constexpr KernelDef kDefs[] = {
    {"", "Conv", 1, kLatest, &ConvKernel::make},
    {kRuntimeDomain, "Conv", 1, kLatest, &ConvKernel::make_blocked},
    {kRuntimeDomain, "FromBlocked", 1, kLatest, &FromBlockedKernel::make},
    {"", "ConvInteger", 10, kLatest, &IntegerConvKernel::conv_integer},
    {"", "QLinearConv", 10, kLatest, &IntegerConvKernel::qlinear_conv},
};

}  // namespace

void register_conv_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
