// ConvTranspose: float32 on oneDNN's convolution backward-data primitive where it has a
// fast kernel (a transposed convolution is the input gradient of the convolution from Y
// to X); otherwise per image and group, col = W_g^T x X_g (GEMM), then col2im scatters the
// columns into the output. Output size from the attributes, or from output_shape with
// the padding derived as the spec describes.
#include "onyx/ops/conv_dnnl_backward.h"
#include "onyx/ops/conv_util.h"
#include "onyx/ops/gemm.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Adds the K = kh*kw rows of `col` (each [IH*IW], one per kernel tap) into one output
// plane [OH*OW], each shifted to where its tap lands: the 2-D case of the loop below,
// with the valid range of every input row and column clipped once.
template <typename T>
void col2im_2d(const T* col, const std::vector<int64_t>& in, const std::vector<int64_t>& out,
               const std::vector<int64_t>& k, const std::vector<int64_t>& stride,
               const std::vector<int64_t>& dil, const std::vector<int64_t>& pb, T* y) {
  const int64_t IH = in[0], IW = in[1], OH = out[0], OW = out[1];
  const int64_t sh = stride[0], sw = stride[1];
  for (int64_t kh = 0; kh < k[0]; ++kh) {
    for (int64_t kw = 0; kw < k[1]; ++kw) {
      const T* row = col + (kh * k[1] + kw) * IH * IW;
      int64_t oh0 = kh * dil[0] - pb[0], ow0 = kw * dil[1] - pb[1];
      // Input columns iw with 0 <= iw * sw + ow0 < OW.
      int64_t iw_lo = ow0 >= 0 ? 0 : (-ow0 + sw - 1) / sw;
      int64_t iw_hi = OW - ow0 <= 0 ? 0 : std::min(IW, (OW - ow0 + sw - 1) / sw);
      for (int64_t ih = 0; ih < IH; ++ih) {
        int64_t oh = ih * sh + oh0;
        if (oh < 0 || oh >= OH) continue;
        const T* r = row + ih * IW;
        T* yr = y + oh * OW + ow0;
        if (sw == 1) {
          for (int64_t iw = iw_lo; iw < iw_hi; ++iw) yr[iw] += r[iw];
        } else {
          for (int64_t iw = iw_lo; iw < iw_hi; ++iw) yr[iw * sw] += r[iw];
        }
      }
    }
  }
}

class ConvTransposeKernel final : public Kernel {
 public:
  explicit ConvTransposeKernel(const KernelInfo& info)
      : attrs_(WindowAttrs::read(info)),
        group_(info.node.attr_int("group", 1)),
        output_padding_(info.node.attr_ints("output_padding")),
        output_shape_(info.node.attr_ints("output_shape")),
        dnnl_(DnnlConvBackward::Wrt::Data) {
    for (const auto* v : {&output_padding_, &output_shape_}) {
      for (int64_t x : *v) {
        if (x < 0 || x > (int64_t{1} << 31))
          info.fail(ErrorKind::InvalidModel, "output_padding/output_shape value ", x,
                    " is out of range");
      }
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConvTransposeKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    if (x.rank() < 3 || w.rank() != x.rank()) {
      ctx.fail("X must be [N, C, spatial...] and W of the same rank, got ", shape_str(x.shape()),
               " and ", shape_str(w.shape()));
    }
    if (x.dtype() != DType::Float32 && x.dtype() != DType::Float64)
      ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
    if (w.dtype() != x.dtype()) ctx.fail("X and W must share an element type");
    int64_t N = x.dim(0), C = x.dim(1), group = group_;
    if (group <= 0 || C % group)
      ctx.fail("group ", group, " does not divide the input channels ", C);
    if (w.dim(0) != C)
      ctx.fail(ctx.input_name(1), " must have ", C, " input channels, got ", w.dim(0));
    int64_t Cg = C / group, Mg = w.dim(1), M = Mg * group;
    size_t n = static_cast<size_t>(x.rank() - 2);
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end()),
        k(w.shape().begin() + 2, w.shape().end());
    auto list = [&](const std::vector<int64_t>& v, int64_t fallback, const char* name) {
      if (v.empty()) return std::vector<int64_t>(n, fallback);
      if (v.size() != n)
        ctx.fail(name, " has ", v.size(), " values for ", n, " spatial dimensions");
      return v;
    };
    std::vector<int64_t> stride = list(attrs_.strides, 1, "strides"),
                         dil = list(attrs_.dilations, 1, "dilations");
    std::vector<int64_t> opad = list(output_padding_, 0, "output_padding");
    std::vector<int64_t> pb(n, 0), pe(n, 0), out(n);
    if (!attrs_.pads.empty()) {
      if (attrs_.pads.size() != 2 * n)
        ctx.fail("pads has ", attrs_.pads.size(), " values, expected ", 2 * n);
      for (size_t d = 0; d < n; ++d) {
        pb[d] = attrs_.pads[d];
        pe[d] = attrs_.pads[n + d];
      }
    }
    // output_shape gives the spatial sizes, or the whole shape with them last.
    if (!output_shape_.empty() && output_shape_.size() != n && output_shape_.size() != n + 2) {
      ctx.fail("output_shape has ", output_shape_.size(), " values for ", n, " spatial dimensions");
    }
    for (size_t d = 0; d < n; ++d) {
      int64_t full = stride[d] * (in[d] - 1) + opad[d] + (k[d] - 1) * dil[d] + 1;
      bool same = attrs_.auto_pad == "SAME_UPPER" || attrs_.auto_pad == "SAME_LOWER";
      if (!output_shape_.empty() || same) {
        int64_t target = same ? in[d] * stride[d] : output_shape_[output_shape_.size() - n + d];
        int64_t total = full - target;
        if (total < 0) total = 0;  // the output is padded with zeros at the end
        if (attrs_.auto_pad == "SAME_UPPER") {
          pb[d] = total / 2;
          pe[d] = total - total / 2;
        } else {
          pb[d] = total - total / 2;
          pe[d] = total / 2;
        }
        out[d] = target;
      } else {
        out[d] = full - pb[d] - pe[d];
      }
      if (out[d] <= 0)
        ctx.fail("output size ", out[d], " in spatial dimension ", d, " is not positive");
    }
    Shape out_shape{N, M};
    out_shape.insert(out_shape.end(), out.begin(), out.end());
    Tensor& y = ctx.allocate(0, x.dtype(), out_shape);
    int64_t I = 1, O = 1, K = 1;
    for (size_t d = 0; d < n; ++d) {
      I *= in[d];
      O *= out[d];
      K *= k[d];
    }
    const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (bias && bias->numel() != M) ctx.fail(ctx.input_name(2), " must hold ", M, " values");
    if (x.dtype() == DType::Float32) {
      // The convolution this one is the input gradient of: from Y [N, M, out] to X.
      ConvProblem p{N, M, C, group, {}};
      p.g = {static_cast<int64_t>(n), out, k, in, stride, dil, pb, pe};
      bool fits = true;  // oneDNN wants X's sizes to follow from Y's (not so with output_shape)
      for (size_t d = 0; d < n; ++d) {
        int64_t span = out[d] + pb[d] + pe[d] - ((k[d] - 1) * dil[d] + 1);
        fits = fits && span >= 0 && span / stride[d] + 1 == in[d];
      }
      float* Y = y.data<float>();
      if (fits && dnnl_.run(ctx, p, x.data<float>(), w.data<float>(), Y)) {
        for (int64_t b = 0; bias && b < N; ++b) add_bias(bias->data<float>(), M, O, Y + b * M * O);
        return;
      }
    }
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        T* Y = y.data<T>();
        std::fill_n(Y, y.numel(), T(0));
        // Image b into Y, with `colbuf` [Mg*K, I] for scratch.
        auto image = [&](int64_t b, T* colbuf) {
          std::vector<int64_t> kidx(n), iidx(n);
          for (int64_t g = 0; g < group; ++g) {
            const T* xg = x.data<T>() + (b * C + g * Cg) * I;
            const T* wg = w.data<T>() + g * Cg * Mg * K;
            // col[Mg*K, I] = W_g^T [Mg*K, Cg] x X_g [Cg, I]
            if constexpr (std::is_same_v<T, float>) {
              gemm_f32(true, false, Mg * K, I, Cg, 1.0f, wg, Mg * K, xg, I, 0.0f, colbuf, I,
                       &ctx.pool());
            } else {
              gemm_generic<T>(true, false, Mg * K, I, Cg, T(1), wg, Mg * K, xg, I, T(0), colbuf, I);
            }
            T* yg = Y + (b * M + g * Mg) * O;
            const T* cp = colbuf;
            if (n == 2) {
              // Each output channel sums its own K rows of col: channels run in parallel.
              ctx.pool().parallel_for(Mg, 1, [&](int64_t m0, int64_t m1) {
                for (int64_t m = m0; m < m1; ++m) {
                  col2im_2d(cp + m * K * I, in, out, k, stride, dil, pb, yg + m * O);
                }
              });
              continue;
            }
            for (int64_t m = 0; m < Mg; ++m) {
              std::fill(kidx.begin(), kidx.end(), 0);
              for (int64_t kk = 0; kk < K; ++kk) {
                const T* row = cp + (m * K + kk) * I;
                std::fill(iidx.begin(), iidx.end(), 0);
                for (int64_t i = 0; i < I; ++i) {
                  int64_t off = 0;
                  bool inside = true;
                  for (size_t d = 0; d < n && inside; ++d) {
                    int64_t o = iidx[d] * stride[d] - pb[d] + kidx[d] * dil[d];
                    inside = o >= 0 && o < out[d];
                    off = off * out[d] + o;
                  }
                  if (inside) yg[m * O + off] += row[i];
                  for (size_t d = n; d-- > 0;) {
                    if (++iidx[d] < in[d]) break;
                    iidx[d] = 0;
                  }
                }
                for (size_t d = n; d-- > 0;) {
                  if (++kidx[d] < k[d]) break;
                  kidx[d] = 0;
                }
              }
            }
          }
          if (bias) add_bias(bias->data<T>(), M, O, Y + b * M * O);
        };
        double image_flops = 2.0 * static_cast<double>(Mg * K * I * Cg * group);
        for_each_image<T>(ctx, N, image_flops, Mg * K * I, image);
      }
    });
  }

 private:
  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> output_padding_, output_shape_;
  DnnlConvBackward dnnl_;
};

// Col2Im (opset 18): sums columns [N, C * prod(block), L] back into images [N, C, ...],
// the inverse of im2col's layout.
class Col2ImKernel final : public Kernel {
 public:
  explicit Col2ImKernel(const KernelInfo& info) : attrs_(WindowAttrs::read(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<Col2ImKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> image = ctx.input(1).to_int64s(), block = ctx.input(2).to_int64s();
    size_t n = image.size();
    if (n == 0 || block.size() != n)
      ctx.fail("image_shape and block_shape must have the same, non-zero length");
    if (x.rank() != 3) ctx.fail(ctx.input_name(0), " must be [N, C * prod(block_shape), L]");
    for (int64_t v : image) {
      if (v <= 0) ctx.fail(ctx.input_name(1), " must be positive");
    }
    WindowGeometry g = window_geometry(ctx, attrs_, image, block);
    int64_t K = g.kernel_size(), L = g.out_size();
    if (x.dim(1) % K || x.dim(2) != L) {
      ctx.fail(ctx.input_name(0), " of shape ", shape_str(x.shape()), " does not fit blocks ",
               shape_str(block), " over image ", shape_str(image), " (", L, " block positions)");
    }
    int64_t N = x.dim(0), C = x.dim(1) / K, I = g.in_size();
    Shape out{N, C};
    out.insert(out.end(), image.begin(), image.end());
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<double> acc(static_cast<size_t>(I));
      std::vector<int64_t> k(n), l(n);
      for (int64_t b = 0; b < N; ++b) {
        for (int64_t c = 0; c < C; ++c) {
          std::fill(acc.begin(), acc.end(), 0.0);
          std::fill(k.begin(), k.end(), 0);
          for (int64_t kk = 0; kk < K; ++kk) {
            const T* row = x.data<T>() + ((b * C + c) * K + kk) * L;
            std::fill(l.begin(), l.end(), 0);
            for (int64_t ll = 0; ll < L; ++ll) {
              int64_t off = 0;
              bool inside = true;
              for (size_t d = 0; d < n && inside; ++d) {
                int64_t i = l[d] * g.stride[d] - g.pad_begin[d] + k[d] * g.dilation[d];
                inside = i >= 0 && i < g.in[d];
                off = off * g.in[d] + i;
              }
              if (inside) acc[off] += to_double(row[ll]);
              for (size_t d = n; d-- > 0;) {
                if (++l[d] < g.out[d]) break;
                l[d] = 0;
              }
            }
            for (size_t d = n; d-- > 0;) {
              if (++k[d] < g.kernel[d]) break;
              k[d] = 0;
            }
          }
          T* o = y.data<T>() + (b * C + c) * I;
          for (int64_t i = 0; i < I; ++i) o[i] = from_double<T>(acc[i]);
        }
      }
    });
  }

 private:
  WindowAttrs attrs_;
};

constexpr KernelDef kDefs[] = {
    {"", "ConvTranspose", 1, kLatest, &ConvTransposeKernel::make},
    {"", "Col2Im", 18, kLatest, &Col2ImKernel::make},
};

}  // namespace

void register_conv_transpose_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
