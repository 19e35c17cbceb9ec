// The runtime's ConvWeightGrad (ops::kRuntimeDomain): the gradient of a convolution's
// weights, dW [M, C / group, kernel...], from its input X [N, C, in...] and the gradient
// of its output dY [N, M, out...]. Attributes are the forward convolution's
// (kernel_shape, strides, dilations, pads, group), and optionally input_spatial, sizes
// that X's spatial dimensions are read as (the same number of elements). runtime/training_fusion.cc
// makes it from the standard ops autodiff writes for that gradient (a convolution in which batch
// and channels trade places, between Transposes and a Slice), which move both tensors and cannot
// use a backward-weights kernel.
//
// float32 runs on oneDNN's backward-weights primitive where it has a fast kernel; other
// cases sum, over images and groups, dY_g [Mg, O] x im2col(X_g)^T [O, Cg * K].
#include "onyx/ops/conv_dnnl_backward.h"
#include "onyx/ops/conv_util.h"
#include "onyx/ops/gemm.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class ConvWeightGradKernel final : public Kernel {
 public:
  explicit ConvWeightGradKernel(const KernelInfo& info)
      : attrs_(WindowAttrs::read(info)),
        group_(info.node.attr_int("group", 1)),
        input_spatial_(info.node.attr_ints("input_spatial")),
        dnnl_(DnnlConvBackward::Wrt::Weights) {
    if (attrs_.kernel_shape.empty()) info.fail(ErrorKind::InvalidModel, "kernel_shape is required");
    if (group_ <= 0) info.fail(ErrorKind::InvalidModel, "group must be positive");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConvWeightGradKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& dy = ctx.input(1);
    size_t n = attrs_.kernel_shape.size();
    // With input_spatial, X's own spatial dimensions may be any number (checked below).
    bool x_rank_ok =
        input_spatial_.empty() ? x.rank() == static_cast<int64_t>(n) + 2 : x.rank() >= 2;
    if (!x_rank_ok || dy.rank() != static_cast<int64_t>(n) + 2 || dy.dim(0) != x.dim(0))
      ctx.fail("X and dY must be [N, C, spatial...] and [N, M, spatial...] with ", n,
               " spatial dimensions, got ", shape_str(x.shape()), " and ", shape_str(dy.shape()));
    if (x.dtype() != dy.dtype() || (x.dtype() != DType::Float32 && x.dtype() != DType::Float64))
      ctx.fail("X and dY must both be float32 or float64");
    int64_t N = x.dim(0), C = x.dim(1), M = dy.dim(1);
    if (C % group_ || M % group_)
      ctx.fail("group ", group_, " does not divide the channels ", C, " and ", M);
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end()),
        out(dy.shape().begin() + 2, dy.shape().end());
    if (!input_spatial_.empty()) {
      // The fused graph reshaped X's spatial dimensions to these (the same elements per
      // image and channel, so X is read as it is).
      int64_t have = 1, want = 1;
      for (int64_t d : in) have *= d;
      for (int64_t d : input_spatial_) want *= d;
      if (input_spatial_.size() != n || have != want)
        ctx.fail(ctx.input_name(0), " of shape ", shape_str(x.shape()),
                 " cannot be reshaped to spatial sizes ", shape_str(input_spatial_));
      in = input_spatial_;
    }
    WindowGeometry g = window_geometry(ctx, attrs_, in, attrs_.kernel_shape);
    // The windows dY was made over; a pad_end that reaches past them only adds zeros, so
    // onyx's loop takes dY's own sizes, where oneDNN wants them to follow from the pads.
    bool sizes_follow = g.out == out;
    g.out = out;
    Shape w_shape{M, C / group_};
    w_shape.insert(w_shape.end(), g.kernel.begin(), g.kernel.end());
    Tensor& dw = ctx.allocate(0, x.dtype(), w_shape);
    if (x.dtype() == DType::Float32) {
      if (sizes_follow && dnnl_.run(ctx, ConvProblem{N, C, M, group_, g}, dy.data<float>(),
                                    x.data<float>(), dw.data<float>()))
        return;
      run<float>(ctx, g, N, C, M, x.data<float>(), dy.data<float>(), dw.data<float>());
    } else {
      run<double>(ctx, g, N, C, M, x.data<double>(), dy.data<double>(), dw.data<double>());
    }
  }

 private:
  template <typename T>
  void run(KernelContext& ctx, const WindowGeometry& g, int64_t N, int64_t C, int64_t M, const T* x,
           const T* dy, T* dw) const {
    int64_t Cg = C / group_, Mg = M / group_, K = g.kernel_size(), I = g.in_size(),
            O = g.out_size();
    std::fill_n(dw, M * Cg * K, T(0));
    Tensor col = ctx.scratch(dtype_of<T>, {std::max<int64_t>(1, Cg * K * O)});
    for (int64_t b = 0; b < N; ++b) {
      for (int64_t gi = 0; gi < group_; ++gi) {
        im2col<T>(x + (b * C + gi * Cg) * I, Cg, g, col.data<T>());
        const T* dyg = dy + (b * M + gi * Mg) * O;
        T* dwg = dw + gi * Mg * Cg * K;
        // dW_g [Mg, Cg*K] += dY_g [Mg, O] x col^T [O, Cg*K]
        if constexpr (std::is_same_v<T, float>) {
          gemm_f32(false, true, Mg, Cg * K, O, 1.0f, dyg, O, col.data<T>(), O, 1.0f, dwg, Cg * K,
                   &ctx.pool());
        } else {
          gemm_generic<T>(false, true, Mg, Cg * K, O, T(1), dyg, O, col.data<T>(), O, T(1), dwg,
                          Cg * K);
        }
      }
    }
  }

  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> input_spatial_;
  DnnlConvBackward dnnl_;
};

constexpr KernelDef kDefs[] = {
    {kRuntimeDomain, "ConvWeightGrad", 1, kLatest, &ConvWeightGradKernel::make},
};

}  // namespace

void register_conv_weight_grad_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
