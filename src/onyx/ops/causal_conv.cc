// CausalConvWithState (opset 27): a depthwise causal 1-D convolution over [B, C, L] with a
// carried state. Each (batch, channel) row is the k - 1 state values (past_state, or zeros)
// followed by the L inputs; output[t] = bias + sum_j weight[j] * padded[t + j], optionally
// through SiLU, and present_state is the last k - 1 values of the padded row. Rows are
// independent, so the work is split over B * C.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class CausalConvWithStateKernel final : public Kernel {
 public:
  explicit CausalConvWithStateKernel(const KernelInfo& info) {
    std::string a = info.node.attr_string("activation", "none");
    if (a != "none" && a != "silu" && a != "swish") {
      info.fail(ErrorKind::InvalidModel, "activation must be 'silu', 'swish' or 'none', not '", a,
                "'");
    }
    silu_ = a != "none";  // swish is another name for silu (x * sigmoid(x))
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CausalConvWithStateKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &x = ctx.input(0), &w = ctx.input(1);
    if (x.rank() != 3)
      ctx.fail(ctx.input_name(0), " has shape ", shape_str(x.shape()), ", expected [B, C, L]");
    int64_t B = x.dim(0), C = x.dim(1), L = x.dim(2);
    if (w.rank() != 3 || w.dim(0) != C || w.dim(1) != 1 || w.dim(2) < 1) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(w.shape()), ", expected [", C,
               ", 1, k] with k >= 1");
    }
    int64_t k = w.dim(2), P = k - 1;
    const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const Tensor* past = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    if (bias && (bias->rank() != 1 || bias->dim(0) != C)) {
      ctx.fail(ctx.input_name(2), " has shape ", shape_str(bias->shape()), ", expected [", C, "]");
    }
    if (past && past->shape() != Shape{B, C, P}) {
      ctx.fail(ctx.input_name(3), " has shape ", shape_str(past->shape()), ", expected ",
               shape_str({B, C, P}));
    }
    for (size_t i = 1; i < 4; ++i) {
      if (ctx.has_input(i) && ctx.input(i).dtype() != x.dtype())
        ctx.fail(ctx.input_name(i), " must have the element type of ", ctx.input_name(0));
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    Tensor* present = ctx.needs_output(1) ? &ctx.allocate(1, x.dtype(), {B, C, P}) : nullptr;
    bool silu = silu_;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = compute_t<T>;
      const T *xp = x.data<T>(), *wp = w.data<T>();
      const T* bp = bias ? bias->data<T>() : nullptr;
      const T* pp = past ? past->data<T>() : nullptr;
      T* yp = y.data<T>();
      T* sp = present ? present->data<T>() : nullptr;
      int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, (L + P) * k));
      ctx.pool().parallel_for(B * C, grain, [&](int64_t begin, int64_t end) {
        std::vector<A> padded(static_cast<size_t>(P + L)), weight(static_cast<size_t>(k));
        for (int64_t row = begin; row < end; ++row) {
          int64_t c = row % C;
          for (int64_t j = 0; j < k; ++j) weight[j] = A(wp[c * k + j]);
          for (int64_t j = 0; j < P; ++j) padded[j] = pp ? A(pp[row * P + j]) : A(0);
          for (int64_t t = 0; t < L; ++t) padded[P + t] = A(xp[row * L + t]);
          A b0 = bp ? A(bp[c]) : A(0);
          for (int64_t t = 0; t < L; ++t) {
            A acc = b0;
            for (int64_t j = 0; j < k; ++j) acc += weight[j] * padded[t + j];
            // The function body convolves in T and upcasts only for the activation, so the
            // convolution's result is rounded to T before SiLU (visible in float16).
            T conv = T(acc);
            if (silu) {
              A v = A(conv);
              conv = T(v / (A(1) + std::exp(-v)));
            }
            yp[row * L + t] = conv;
          }
          // The padded row holds T values exactly, so converting back loses nothing.
          for (int64_t j = 0; sp && j < P; ++j) sp[row * P + j] = T(padded[L + j]);
        }
      });
    });
  }

 private:
  bool silu_ = false;
};

constexpr KernelDef kDefs[] = {
    {"", "CausalConvWithState", 27, kLatest, &CausalConvWithStateKernel::make},
};

}  // namespace

void register_causal_conv_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
