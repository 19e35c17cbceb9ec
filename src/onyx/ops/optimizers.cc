// The ai.onnx.preview.training optimizer ops: Adagrad, Momentum (standard and Nesterov)
// and Adam. Each updates N tensors at once: inputs R, T, then X1..XN, G1..GN and the state
// tensors; outputs the new X's followed by the new states. Arithmetic is in double.
#include <cmath>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

constexpr const char* kTraining = "ai.onnx.preview.training";

double scalar_of(const KernelContext& ctx, size_t i) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail(ctx.input_name(i), " must be a scalar, got ", shape_str(t.shape()));
  return t.element_as_double(0);
}

enum class Rule { Adagrad, Momentum, Nesterov, Adam };

class OptimizerKernel final : public Kernel {
 public:
  OptimizerKernel(const KernelInfo& info, Rule rule) : rule_(rule) {
    const ir::Node& n = info.node;
    norm_ = n.attr_float("norm_coefficient", 0.0f);
    switch (rule) {
      case Rule::Adagrad:
        decay_ = n.attr_float("decay_factor", 0.0f);
        epsilon_ = n.attr_float("epsilon", 1e-6f);
        states_ = 1;
        break;
      case Rule::Momentum:
      case Rule::Nesterov: {
        for (const char* a : {"alpha", "beta", "mode", "norm_coefficient"}) {
          if (!n.has_attr(a)) info.fail(ErrorKind::InvalidModel, "attribute '", a, "' is required");
        }
        alpha_ = n.attr_float("alpha", 0.0f);
        beta_ = n.attr_float("beta", 0.0f);
        std::string mode = n.attr_string("mode", "");
        if (mode == "nesterov")
          rule_ = Rule::Nesterov;
        else if (mode == "standard")
          rule_ = Rule::Momentum;
        else
          info.fail(ErrorKind::InvalidModel, "mode must be 'standard' or 'nesterov', got '", mode,
                    "'");
        states_ = 1;
        break;
      }
      case Rule::Adam:
        alpha_ = n.attr_float("alpha", 0.9f);
        beta_ = n.attr_float("beta", 0.999f);
        epsilon_ = n.attr_float("epsilon", 1e-6f);
        norm_post_ = n.attr_float("norm_coefficient_post", 0.0f);
        states_ = 2;
        break;
    }
    size_t per = 2 + states_;  // X, G and the states
    if (n.inputs.size() < 2 + per || (n.inputs.size() - 2) % per) {
      info.fail(ErrorKind::InvalidModel, "expects R, T and groups of ", per, " inputs, got ",
                n.inputs.size());
    }
  }
  static std::unique_ptr<Kernel> adagrad(const KernelInfo& i) {
    return std::make_unique<OptimizerKernel>(i, Rule::Adagrad);
  }
  static std::unique_ptr<Kernel> momentum(const KernelInfo& i) {
    return std::make_unique<OptimizerKernel>(i, Rule::Momentum);
  }
  static std::unique_ptr<Kernel> adam(const KernelInfo& i) {
    return std::make_unique<OptimizerKernel>(i, Rule::Adam);
  }

  void compute(KernelContext& ctx) override {
    double r = scalar_of(ctx, 0);
    const Tensor& tt = ctx.input(1);
    if (tt.numel() != 1 || tt.dtype() != DType::Int64)
      ctx.fail(ctx.input_name(1), " must be a scalar int64");
    int64_t t = tt.data<int64_t>()[0];
    size_t n = (ctx.num_inputs() - 2) / (2 + states_);
    for (size_t k = 0; k < n; ++k) {
      const Tensor& x = ctx.input(2 + k);
      const Tensor& g = ctx.input(2 + n + k);
      std::vector<const Tensor*> st;
      for (int s = 0; s < states_; ++s) st.push_back(&ctx.input(2 + (2 + s) * n + k));
      for (const Tensor* other : {&g, st[0], st.back()}) {
        if (other->shape() != x.shape() || other->dtype() != x.dtype()) {
          ctx.fail("tensor ", k, ": X, its gradient and its state must share shape and type; X is ",
                   dtype_name(x.dtype()), shape_str(x.shape()), ", got ",
                   dtype_name(other->dtype()), shape_str(other->shape()));
        }
      }
      Tensor& x_new = ctx.allocate(k, x.dtype(), x.shape());
      std::vector<Tensor*> st_new;
      for (int s = 0; s < states_; ++s)
        st_new.push_back(&ctx.allocate((1 + s) * n + k, x.dtype(), x.shape()));
      visit_float(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        update<T>(r, t, x, g, st, x_new, st_new);
      });
    }
  }

 private:
  template <typename T>
  void update(double r, int64_t t, const Tensor& x, const Tensor& g,
              const std::vector<const Tensor*>& st, Tensor& x_new,
              std::vector<Tensor*>& st_new) const {
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const T* s0 = st[0]->data<T>();
    const T* s1 = states_ > 1 ? st[1]->data<T>() : nullptr;
    T* xo = x_new.data<T>();
    T* o0 = st_new[0]->data<T>();
    T* o1 = states_ > 1 ? st_new[1]->data<T>() : nullptr;
    auto d = [](T v) { return static_cast<double>(static_cast<compute_t<T>>(v)); };
    auto out = [](double v) { return static_cast<T>(static_cast<compute_t<T>>(v)); };
    double lr = r;
    if (rule_ == Rule::Adagrad) lr = r / (1.0 + static_cast<double>(t) * decay_);
    if (rule_ == Rule::Adam && t > 0) {
      lr = r * std::sqrt(1.0 - std::pow(beta_, static_cast<double>(t))) /
           (1.0 - std::pow(alpha_, static_cast<double>(t)));
    }
    // The gradient's coefficient is 1 on the first step (T == 0).
    double beta_adj = t > 0 ? beta_ : 1.0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      double xi = d(xp[i]);
      double gr = norm_ * xi + d(gp[i]);
      switch (rule_) {
        case Rule::Adagrad: {
          double h = d(s0[i]) + gr * gr;
          o0[i] = out(h);
          xo[i] = out(xi - lr * gr / (std::sqrt(h) + epsilon_));
          break;
        }
        case Rule::Momentum:
        case Rule::Nesterov: {
          double v = alpha_ * d(s0[i]) + beta_adj * gr;
          o0[i] = out(v);
          xo[i] = out(rule_ == Rule::Momentum ? xi - lr * v : xi - lr * (gr + alpha_ * v));
          break;
        }
        case Rule::Adam: {
          double v = alpha_ * d(s0[i]) + (1.0 - alpha_) * gr;
          double h = beta_ * d(s1[i]) + (1.0 - beta_) * gr * gr;
          o0[i] = out(v);
          o1[i] = out(h);
          double xn = xi - lr * (v / (std::sqrt(h) + epsilon_));
          xo[i] = out((1.0 - norm_post_) * xn);
          break;
        }
      }
    }
  }

  Rule rule_;
  int states_ = 1;
  double norm_ = 0, norm_post_ = 0, decay_ = 0, epsilon_ = 0, alpha_ = 0, beta_ = 0;
};

constexpr KernelDef kDefs[] = {
    {kTraining, "Adagrad", 1, kLatest, &OptimizerKernel::adagrad},
    {kTraining, "Momentum", 1, kLatest, &OptimizerKernel::momentum},
    {kTraining, "Adam", 1, kLatest, &OptimizerKernel::adam},
};

}  // namespace

void register_optimizer_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
