// DeformConv (opsets 19, 22): a convolution whose kernel taps sample the input at learned
// fractional offsets (N-linear interpolation, zero outside the input), optionally scaled by
// a mask. Sampling builds the im2col matrix directly; the GEMM is Conv's.
#include <cmath>
#include <vector>

#include "onyx/ops/conv_util.h"
#include "onyx/ops/gemm.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// The value of x (one channel, spatial sizes `in`) at fractional point p: the 2^R corners'
// N-linear weights, corners outside the input reading zero.
template <typename C, typename T>
C sample(const T* x, const std::vector<int64_t>& in, const std::vector<int64_t>& strides,
         const double* p) {
  size_t R = in.size();
  int64_t base[8];
  double frac[8];
  for (size_t d = 0; d < R; ++d) {
    double f = std::floor(p[d]);
    if (!(p[d] > -1.0 && p[d] < static_cast<double>(in[d]))) return C(0);  // NaN too
    base[d] = static_cast<int64_t>(f);
    frac[d] = p[d] - f;
  }
  double acc = 0;
  for (unsigned corner = 0; corner < (1u << R); ++corner) {
    double w = 1;
    int64_t off = 0;
    bool inside = true;
    for (size_t d = 0; d < R && inside; ++d) {
      bool up = (corner >> d) & 1u;
      int64_t i = base[d] + (up ? 1 : 0);
      inside = i >= 0 && i < in[d];
      w *= up ? frac[d] : 1.0 - frac[d];
      off += i * strides[d];
    }
    if (inside && w != 0) acc += w * static_cast<double>(static_cast<C>(x[off]));
  }
  return static_cast<C>(acc);
}

class DeformConvKernel final : public Kernel {
 public:
  explicit DeformConvKernel(const KernelInfo& info)
      : attrs_(WindowAttrs::read(info)),
        group_(info.node.attr_int("group", 1)),
        offset_group_(info.node.attr_int("offset_group", 1)) {
    if (group_ < 1 || offset_group_ < 1)
      info.fail(ErrorKind::InvalidModel, "group and offset_group must be positive");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DeformConvKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor& offset = ctx.input(2);
    if (x.rank() < 3 || x.rank() > 10)
      ctx.fail(ctx.input_name(0), " must be [N, C, D1, ...], got ", shape_str(x.shape()));
    int64_t R = x.rank() - 2, N = x.dim(0), C = x.dim(1), OC = w.dim(0);
    if (w.rank() != x.rank() || C % group_ || OC % group_ || w.dim(1) * group_ != C ||
        C % offset_group_) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(w.shape()), "; with ", ctx.input_name(0),
               " ", shape_str(x.shape()), ", group ", group_, " and offset_group ", offset_group_,
               " it must be [oC, C / group, k...]");
    }
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    WindowGeometry g = window_geometry(ctx, attrs_, in, kernel);
    int64_t K = g.kernel_size();
    Shape off_shape{N, offset_group_ * K * R};
    off_shape.insert(off_shape.end(), g.out.begin(), g.out.end());
    if (offset.shape() != off_shape) {
      ctx.fail(ctx.input_name(2), " has shape ", shape_str(offset.shape()), ", expected ",
               shape_str(off_shape));
    }
    const Tensor* bias = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    if (bias && bias->numel() != OC)
      ctx.fail(ctx.input_name(3), " must hold ", OC, " values, got ", shape_str(bias->shape()));
    const Tensor* mask = ctx.has_input(4) ? &ctx.input(4) : nullptr;
    Shape mask_shape = off_shape;
    mask_shape[1] = offset_group_ * K;
    if (mask && mask->shape() != mask_shape) {
      ctx.fail(ctx.input_name(4), " has shape ", shape_str(mask->shape()), ", expected ",
               shape_str(mask_shape));
    }
    for (const Tensor* t : {&w, &offset, bias, mask}) {
      if (t && t->dtype() != x.dtype()) ctx.fail("every input must be ", dtype_name(x.dtype()));
    }
    Shape out_shape{N, OC};
    out_shape.insert(out_shape.end(), g.out.begin(), g.out.end());
    Tensor& y = ctx.allocate(0, x.dtype(), out_shape);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      run<T>(ctx, x, w, offset, bias, mask, g, y);
    });
  }

 private:
  template <typename T>
  void run(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor& offset,
           const Tensor* bias, const Tensor* mask, const WindowGeometry& g, Tensor& y) const {
    using C = compute_t<T>;
    int64_t R = g.spatial, N = x.dim(0), Cin = x.dim(1), OC = w.dim(0);
    int64_t K = g.kernel_size(), O = g.out_size(), S = g.in_size();
    int64_t cg = Cin / group_, og = OC / group_, per_offset_group = Cin / offset_group_;
    std::vector<int64_t> strides(static_cast<size_t>(R), 1);
    for (int64_t d = R - 2; d >= 0; --d) strides[d] = strides[d + 1] * g.in[d + 1];
    std::vector<C> col(static_cast<size_t>(Cin * K * O)), weights(static_cast<size_t>(w.numel())),
        out(static_cast<size_t>(OC * O));
    for (int64_t i = 0; i < w.numel(); ++i) weights[i] = static_cast<C>(w.data<T>()[i]);
    for (int64_t n = 0; n < N; ++n) {
      const T* xn = x.data<T>() + n * Cin * S;
      const T* off = offset.data<T>() + n * offset_group_ * K * R * O;
      const T* mk = mask ? mask->data<T>() + n * offset_group_ * K * O : nullptr;
      // col[(c * K + k), o]: channel c at kernel tap k for output position o.
      ctx.pool().parallel_for(Cin, 1, [&](int64_t c0, int64_t c1) {
        std::vector<int64_t> kpos(static_cast<size_t>(R)), opos(static_cast<size_t>(R));
        double p[8];
        for (int64_t c = c0; c < c1; ++c) {
          int64_t og_i = c / per_offset_group;
          for (int64_t k = 0; k < K; ++k) {
            for (int64_t d = R - 1, r = k; d >= 0; --d) {
              kpos[d] = r % g.kernel[d];
              r /= g.kernel[d];
            }
            for (int64_t o = 0; o < O; ++o) {
              for (int64_t d = R - 1, r = o; d >= 0; --d) {
                opos[d] = r % g.out[d];
                r /= g.out[d];
              }
              for (int64_t d = 0; d < R; ++d) {
                double shift =
                    static_cast<double>(static_cast<C>(off[((og_i * K + k) * R + d) * O + o]));
                p[d] = static_cast<double>(opos[d] * g.stride[d] - g.pad_begin[d] +
                                           kpos[d] * g.dilation[d]) +
                       shift;
              }
              C v = sample<C>(xn + c * S, g.in, strides, p);
              if (mk) v *= static_cast<C>(mk[(og_i * K + k) * O + o]);
              col[(c * K + k) * O + o] = v;
            }
          }
        }
      });
      for (int64_t gi = 0; gi < group_; ++gi) {
        const C* a = weights.data() + gi * og * cg * K;
        const C* b = col.data() + gi * cg * K * O;
        C* c = out.data() + gi * og * O;
        if constexpr (std::is_same_v<C, float>) {
          gemm_f32(false, false, og, O, cg * K, 1.0f, a, cg * K, b, O, 0.0f, c, O, &ctx.pool());
        } else {
          gemm_generic<C>(false, false, og, O, cg * K, C(1), a, cg * K, b, O, C(0), c, O);
        }
      }
      T* yn = y.data<T>() + n * OC * O;
      for (int64_t oc = 0; oc < OC; ++oc) {
        C b = bias ? static_cast<C>(bias->data<T>()[oc]) : C(0);
        for (int64_t o = 0; o < O; ++o) yn[oc * O + o] = static_cast<T>(out[oc * O + o] + b);
      }
    }
  }

  WindowAttrs attrs_;
  int64_t group_, offset_group_;
};

constexpr KernelDef kDefs[] = {
    {"", "DeformConv", 19, kLatest, &DeformConvKernel::make},
};

}  // namespace

void register_deform_conv_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
