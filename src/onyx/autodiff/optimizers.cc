#include "onyx/autodiff/optimizers.h"

#include "onyx/core/named_table.h"

namespace onyx::autodiff {

using ir::attr;

UpdateBuilder::UpdateBuilder(ir::Graph& graph, ir::GraphBuilder& builder,
                             const TrainingOptions& options, std::string lr, std::string step,
                             std::string apply)
    : g_(graph),
      b_(builder),
      o_(options),
      lr_(std::move(lr)),
      step_(std::move(step)),
      apply_(std::move(apply)) {}

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
  return b_.scalar(v, t);
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

std::string UpdateBuilder::keep(const std::string& s, const std::string& next) {
  std::string v = apply_.empty() ? next : op("Where", {apply_, next, s});
  std::string named = rename_last(g_, b_, v, s + "_new");
  state_.push_back({s, named});
  return named;
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
  const OptimizerDef& def = optimizer_named(o_.optimizer);
  std::string g = grad;
  if (o_.weight_decay != 0 && o_.optimizer != "adamw")
    g = op("Add", {g, op("Mul", {scalar(o_.weight_decay, t), param})});
  return def.update(*this, param, value, g);
}

namespace {

// PyTorch: buf = m * buf + g (buf starts as g, which zeros give too); Nesterov steps
// along g + m * buf.
std::string sgd(UpdateBuilder& u, const std::string& param, const Tensor& value,
                const std::string& g) {
  DType t = value.dtype();
  const std::string& name = u.options().optimizer;
  double m = u.options().momentum.value_or(name == "sgd" ? 0.0 : 0.9);
  std::string d = g;
  if (m != 0) {
    std::string buf = u.state(param, "momentum_buffer", value);
    std::string next = u.keep(buf, u.op("Add", {u.op("Mul", {u.scalar(m, t), buf}), g}));
    d = name == "nesterov" ? u.op("Add", {g, u.op("Mul", {u.scalar(m, t), next})}) : next;
  }
  return u.op("Sub", {param, u.op("Mul", {u.lr(t), d})});
}

std::string adagrad(UpdateBuilder& u, const std::string& param, const Tensor& value,
                    const std::string& g) {
  DType t = value.dtype();
  std::string sum = u.state(param, "sum", value);
  std::string next = u.keep(sum, u.op("Add", {sum, u.op("Mul", {g, g})}));
  std::string denom =
      u.op("Add", {u.op("Sqrt", {next}), u.scalar(u.options().epsilon.value_or(1e-10), t)});
  return u.op("Sub", {param, u.op("Div", {u.op("Mul", {u.lr(t), g}), denom})});
}

// PyTorch: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); adamw first
// shrinks p by (1 - lr * weight_decay).
std::string adam(UpdateBuilder& u, const std::string& param, const Tensor& value,
                 const std::string& g) {
  DType t = value.dtype();
  const TrainingOptions& o = u.options();
  auto k = [&](double v) { return u.scalar(v, t); };
  std::string p = param;
  if (o.optimizer == "adamw" && o.weight_decay != 0) {
    p = u.op("Mul", {param, u.op("Sub", {k(1), u.op("Mul", {u.lr(t), k(o.weight_decay)})})});
  }
  std::string m = u.state(param, "exp_avg", value), v = u.state(param, "exp_avg_sq", value);
  std::string m_next =
      u.keep(m, u.op("Add", {u.op("Mul", {k(o.beta1), m}), u.op("Mul", {k(1 - o.beta1), g})}));
  std::string v_next = u.keep(v, u.op("Add", {u.op("Mul", {k(o.beta2), v}),
                                              u.op("Mul", {k(1 - o.beta2), u.op("Mul", {g, g})})}));
  std::string denom = u.op(
      "Add", {u.op("Div", {u.op("Sqrt", {v_next}), u.op("Sqrt", {u.bias_correction(o.beta2, t)})}),
              k(o.epsilon.value_or(1e-8))});
  std::string step_size = u.op("Div", {u.lr(t), u.bias_correction(o.beta1, t)});
  return u.op("Sub", {p, u.op("Mul", {step_size, u.op("Div", {m_next, denom})})});
}

}  // namespace

const std::vector<OptimizerDef>& optimizers() {
  static const std::vector<OptimizerDef> table = {
      {"sgd", 1e-2, "stochastic gradient descent (--momentum, default 0)", sgd},
      {"momentum", 1e-2, "SGD with momentum (--momentum, default 0.9)", sgd},
      {"nesterov", 1e-2, "SGD with Nesterov momentum (--momentum, default 0.9)", sgd},
      {"adagrad", 1e-2, "Adagrad (--epsilon, default 1e-10)", adagrad},
      {"adam", 1e-3, "Adam (--beta1, --beta2, --epsilon default 1e-8)", adam},
      {"adamw", 1e-3, "Adam with decoupled weight decay", adam},
  };
  return table;
}

std::vector<std::string> optimizer_names() {
  return names_of(optimizers());
}

const OptimizerDef& optimizer_named(const std::string& name) {
  return find_named(optimizers(), name, "optimizer");
}

double learning_rate(const TrainingOptions& options) {
  return options.lr.value_or(optimizer_named(options.optimizer).lr);
}

}  // namespace onyx::autodiff
