// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over [N, C, d1, ...] inputs with
// class weights, ignore_index and reduction none/sum/mean. Labels outside [0, C) that are
// not ignore_index are errors.
#include <cmath>
#include <limits>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class LossKernel final : public Kernel {
 public:
  LossKernel(const KernelInfo& info, bool softmax) : softmax_(softmax) {
    reduction_ = info.node.attr_string("reduction", "mean");
    if (reduction_ != "none" && reduction_ != "sum" && reduction_ != "mean") {
      info.fail(ErrorKind::InvalidModel, "reduction '", reduction_, "' is not none, sum or mean");
    }
    if (const ir::Attribute* a = info.node.find_attr("ignore_index")) {
      has_ignore_ = true;
      ignore_ = a->i;
    }
  }
  static std::unique_ptr<Kernel> nll(const KernelInfo& i) {
    return std::make_unique<LossKernel>(i, false);
  }
  static std::unique_ptr<Kernel> sce(const KernelInfo& i) {
    return std::make_unique<LossKernel>(i, true);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& target = ctx.input(1);
    if (x.rank() < 2)
      ctx.fail(ctx.input_name(0), " must be [N, C, ...], got ", shape_str(x.shape()));
    int64_t N = x.dim(0), C = x.dim(1), D = x.numel() / std::max<int64_t>(N * C, 1);
    Shape tshape{N};
    tshape.insert(tshape.end(), x.shape().begin() + 2, x.shape().end());
    if (target.shape() != tshape) {
      ctx.fail(ctx.input_name(1), " must have shape ", shape_str(tshape), ", got ",
               shape_str(target.shape()));
    }
    std::vector<int64_t> labels = target.to_int64s();
    const Tensor* weight = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (weight && weight->numel() != C)
      ctx.fail(ctx.input_name(2), " must hold ", C, " class weights");
    for (int64_t t : labels) {
      if ((!has_ignore_ || t != ignore_) && (t < 0 || t >= C)) {
        ctx.fail(ctx.input_name(1), " holds class ", t, ", outside [0, ", C, ")");
      }
    }
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      // Log-probabilities: the input itself (NLL) or its log-softmax over axis 1.
      std::vector<double> logp(static_cast<size_t>(x.numel()));
      for (int64_t i = 0; i < x.numel(); ++i) logp[i] = static_cast<double>(x.data<T>()[i]);
      if (softmax_) {
        for (int64_t n = 0; n < N; ++n) {
          for (int64_t d = 0; d < D; ++d) {
            double m = -std::numeric_limits<double>::infinity(), s = 0;
            for (int64_t c = 0; c < C; ++c) m = std::max(m, logp[(n * C + c) * D + d]);
            for (int64_t c = 0; c < C; ++c) s += std::exp(logp[(n * C + c) * D + d] - m);
            double lse = m + std::log(s);
            for (int64_t c = 0; c < C; ++c) logp[(n * C + c) * D + d] -= lse;
          }
        }
        if (ctx.needs_output(1)) {
          Tensor& lp = ctx.allocate(1, x.dtype(), x.shape());
          for (int64_t i = 0; i < x.numel(); ++i) lp.data<T>()[i] = static_cast<T>(logp[i]);
        }
      }
      std::vector<double> loss(static_cast<size_t>(N * D), 0.0);
      double weight_sum = 0, loss_sum = 0;
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t d = 0; d < D; ++d) {
          int64_t t = labels[n * D + d];
          if (has_ignore_ && t == ignore_) continue;
          double w = weight ? weight->element_as_double(t) : 1.0;
          double l = -logp[(n * C + t) * D + d] * w;
          loss[n * D + d] = l;
          loss_sum += l;
          weight_sum += w;
        }
      }
      if (reduction_ == "none") {
        Tensor& y = ctx.allocate(0, x.dtype(), tshape);
        for (size_t i = 0; i < loss.size(); ++i) y.data<T>()[i] = static_cast<T>(loss[i]);
      } else {
        double v = reduction_ == "sum" ? loss_sum : loss_sum / weight_sum;
        ctx.allocate(0, x.dtype(), {}).data<T>()[0] = static_cast<T>(v);
      }
    });
  }

 private:
  bool softmax_;
  std::string reduction_;
  bool has_ignore_ = false;
  int64_t ignore_ = 0;
};

constexpr KernelDef kDefs[] = {
    {"", "NegativeLogLikelihoodLoss", 12, kLatest, &LossKernel::nll},
    {"", "SoftmaxCrossEntropyLoss", 12, kLatest, &LossKernel::sce},
};

}  // namespace

void register_loss_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
