#include "onyx/autodiff/optimizers.h"

#include "onyx/core/error.h"

namespace onyx::autodiff {

using ir::attr;

UpdateBuilder::UpdateBuilder(ir::Graph& graph, ir::GraphBuilder& builder,
                             const TrainingOptions& options, std::string lr, std::string step)
    : g_(graph), b_(builder), o_(options), lr_(std::move(lr)), step_(std::move(step)) {}

std::string UpdateBuilder::rename_last(ir::Graph& g, ir::GraphBuilder& b, const std::string& v,
                                       const std::string& name) {
  std::string out = b.unique(name);
  if (!g.nodes.empty() && g.nodes.back().outputs.size() == 1 && g.nodes.back().outputs[0] == v) {
    g.nodes.back().outputs[0] = out;
  } else {
    b.write("Identity", {v}, out);
  }
  return out;
}

std::string UpdateBuilder::scalar(double v, DType t) {
  if (t == DType::Float64) return b_.constant("c", Tensor::scalar<double>(v));
  return b_.constant("c", Tensor::scalar<float>(static_cast<float>(v)));
}

std::string UpdateBuilder::lr(DType t) {
  if (t == DType::Float32) return lr_;
  return op("Cast", {lr_}, {attr("to", static_cast<int64_t>(t))});
}

std::string UpdateBuilder::state(const std::string& param, const std::string& what,
                                 const Tensor& like) {
  std::string name = b_.unique(param + "." + what);
  Tensor zeros = Tensor::zeros(like.dtype(), like.shape());
  g_.initializers.push_back({name, zeros, ""});
  g_.expose_initializer(name);
  return name;
}

void UpdateBuilder::carry(const std::string& state, const std::string& next) {
  state_.push_back({state, next});
}

std::string UpdateBuilder::bias_correction(double beta, DType t) {
  auto [it, inserted] = corrections_.try_emplace({beta, t});
  if (inserted) {
    std::string steps = op("Cast", {step_}, {attr("to", static_cast<int64_t>(t))});
    it->second = op("Sub", {scalar(1, t), op("Pow", {scalar(beta, t), steps})});
  }
  return it->second;
}

std::string UpdateBuilder::update(const std::string& param, const Tensor& value,
                                  const std::string& grad) {
  DType t = value.dtype();
  if (t != DType::Float32 && t != DType::Float64) {
    fail(ErrorKind::Unsupported, "parameter '", param, "': optimizers update float and double ",
         "parameters, not ", dtype_name(t));
  }
  auto k = [&](double v) { return scalar(v, t); };
  auto keep = [&](const std::string& s, const std::string& next) {
    std::string named = rename_last(g_, b_, next, s + "_new");
    carry(s, named);
    return named;
  };
  const std::string& name = o_.optimizer;
  bool decoupled = name == "adamw";
  std::string g = grad;
  if (o_.weight_decay != 0 && !decoupled)
    g = op("Add", {g, op("Mul", {k(o_.weight_decay), param})});

  if (name == "sgd" || name == "momentum" || name == "nesterov") {
    double m = o_.momentum.value_or(name == "sgd" ? 0.0 : 0.9);
    std::string d = g;
    if (m != 0) {
      // PyTorch: buf = m * buf + g (buf starts as g, which zeros give too).
      std::string buf = state(param, "momentum_buffer", value);
      std::string next = keep(buf, op("Add", {op("Mul", {k(m), buf}), g}));
      d = name == "nesterov" ? op("Add", {g, op("Mul", {k(m), next})}) : next;
    }
    return op("Sub", {param, op("Mul", {lr(t), d})});
  }
  if (name == "adagrad") {
    std::string sum = state(param, "sum", value);
    std::string next = keep(sum, op("Add", {sum, op("Mul", {g, g})}));
    std::string denom = op("Add", {op("Sqrt", {next}), k(o_.epsilon.value_or(1e-10))});
    return op("Sub", {param, op("Div", {op("Mul", {lr(t), g}), denom})});
  }
  if (name == "adam" || decoupled) {
    std::string p = param;
    if (decoupled && o_.weight_decay != 0) {
      p = op("Mul", {param, op("Sub", {k(1), op("Mul", {lr(t), k(o_.weight_decay)})})});
    }
    std::string m = state(param, "exp_avg", value), v = state(param, "exp_avg_sq", value);
    std::string m_next =
        keep(m, op("Add", {op("Mul", {k(o_.beta1), m}), op("Mul", {k(1 - o_.beta1), g})}));
    std::string v_next = keep(v, op("Add", {op("Mul", {k(o_.beta2), v}),
                                            op("Mul", {k(1 - o_.beta2), op("Mul", {g, g})})}));
    // PyTorch: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    std::string denom =
        op("Add", {op("Div", {op("Sqrt", {v_next}), op("Sqrt", {bias_correction(o_.beta2, t)})}),
                   k(o_.epsilon.value_or(1e-8))});
    std::string step_size = op("Div", {lr(t), bias_correction(o_.beta1, t)});
    return op("Sub", {p, op("Mul", {step_size, op("Div", {m_next, denom})})});
  }
  fail(ErrorKind::InvalidArgument, "unknown optimizer '", name,
       "' (sgd, momentum, nesterov, adagrad, adam, adamw)");
}

}  // namespace onyx::autodiff
