// build_training_step: the model in training mode, a loss on its prediction, the gradient
// of the loss with respect to the parameters (append_vjp) and the optimizer's update.
#include "onyx/autodiff/training.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/loss_graph.h"
#include "onyx/autodiff/optimizers.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/checker.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

bool glob_match(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return ::fnmatch(p.c_str(), name.c_str(), 0) == 0;
  });
}

// The model with its loss and the loss's gradients appended.
struct LossGradient {
  ir::Model model;
  std::vector<Binding> running;        // BatchNormalization's running statistics
  std::vector<std::string> params;     // those that receive a gradient (or were asked for)
  std::vector<std::string> gradients;  // the gradient of each
};

LossGradient loss_gradient(const ir::Model& source, const TrainingOptions& o) {
  WithLoss wl = with_loss(source, o);
  LossGradient r;
  r.model = std::move(wl.model);
  r.running = std::move(wl.running);
  ir::Model& m = r.model;
  ir::Graph& g = *m.graph;
  ir::GraphBuilder b(g);

  // Parameters: those asked for, or the float initializers the loss depends on (the
  // gradient tells: running statistics and constants such as Dropout's ratio get none).
  std::set<std::string> stats;
  for (const auto& rs : r.running) stats.insert(rs.input);
  std::vector<std::string> candidates = o.params;
  if (candidates.empty()) {
    for (const auto& name : wl.float_initializers) {
      if (!stats.count(name)) candidates.push_back(name);
    }
  }
  VjpSpec spec;
  spec.ys = {"loss"};
  spec.wrt = select_params(candidates, o, m.name_for_errors());
  for (const auto& w : spec.wrt) {
    if (!g.find_initializer(w)) {
      fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": parameter '", w,
           "' is not an initializer");
    }
    spec.names.push_back(b.unique(w + "_grad"));
  }
  Tensor one = wl.pred_type.elem == DType::Float64 ? Tensor::scalar<double>(1.0)
                                                   : Tensor::scalar<float>(1.0f);
  spec.seeds = {b.constant("loss_seed", one)};
  // The types wl carries: the graph is not inferred a second time.
  std::vector<bool> reached = append_vjp_typed(m, spec, wl.types);
  for (size_t i = 0; i < spec.wrt.size(); ++i) {
    if (!reached[i] && o.params.empty()) continue;
    r.params.push_back(spec.wrt[i]);
    r.gradients.push_back(spec.names[i]);
  }
  if (r.params.empty()) {
    fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": the loss depends on no parameter",
         o.freeze.empty() && o.train_only.empty() ? "" : " left to train");
  }
  return r;
}

// Gradient clipping over all parameters, as torch.nn.utils does it: by value, then by
// their joint L2 norm (scaled by max_norm / (norm + 1e-6) when that is below 1).
void clip_gradients(ir::GraphBuilder& b, std::vector<std::string>& grads,
                    const std::vector<DType>& types, const TrainingOptions& o) {
  if (o.clip_grad_value > 0) {
    for (size_t i = 0; i < grads.size(); ++i) {
      grads[i] = b.op("Clip", {grads[i], b.scalar(-o.clip_grad_value, types[i]),
                               b.scalar(o.clip_grad_value, types[i])});
    }
  }
  if (o.clip_grad_norm <= 0) return;
  // The norm in float32 unless every gradient is float64.
  DType nt = std::all_of(types.begin(), types.end(), [](DType t) { return t == DType::Float64; })
                 ? DType::Float64
                 : DType::Float32;
  auto as = [&](const std::string& v, DType from, DType to) {
    return from == to ? v : b.op("Cast", {v}, {attr("to", static_cast<int64_t>(to))});
  };
  std::string sum;
  for (size_t i = 0; i < grads.size(); ++i) {
    std::string sq =
        b.op("ReduceSum", {b.op("Mul", {grads[i], grads[i]})}, {attr("keepdims", int64_t{0})});
    sq = as(sq, types[i], nt);
    sum = sum.empty() ? sq : b.op("Add", {sum, sq});
  }
  std::string norm = b.op("Sqrt", {sum});
  std::string coef =
      b.op("Div", {b.scalar(o.clip_grad_norm, nt), b.op("Add", {norm, b.scalar(1e-6, nt)})});
  coef = b.op("Min", {coef, b.scalar(1, nt)});
  for (size_t i = 0; i < grads.size(); ++i)
    grads[i] = b.op("Mul", {grads[i], as(coef, nt, types[i])});
}

}  // namespace

ir::Model build_loss_gradient(const ir::Model& model, const TrainingOptions& options) {
  LossGradient r = loss_gradient(model, options);
  ir::Graph& g = *r.model.graph;
  g.inputs.erase(std::remove_if(g.inputs.begin(), g.inputs.end(),
                                [&](const ir::ValueInfo& in) {
                                  return g.find_initializer(in.name) != nullptr;
                                }),
                 g.inputs.end());
  for (size_t i = 0; i < r.params.size(); ++i) {
    const Tensor& p = g.find_initializer(r.params[i])->value;
    g.outputs.push_back({r.gradients[i], ir::TypeInfo::tensor(p.dtype(), p.shape()), ""});
  }
  g.remove_unused();
  return r.model;
}

std::vector<std::string> select_params(const std::vector<std::string>& candidates,
                                       const TrainingOptions& o, const std::string& model) {
  for (const auto* list : {&o.freeze, &o.train_only}) {
    for (const auto& p : *list) {
      if (std::none_of(candidates.begin(), candidates.end(),
                       [&](const std::string& c) { return glob_match({p}, c); })) {
        std::string all;
        for (const auto& c : candidates) all += (all.empty() ? "" : ", ") + c;
        fail(ErrorKind::InvalidArgument, model, ": pattern '", p, "' (",
             list == &o.freeze ? "freeze" : "train-only", ") matches no parameter (", all, ")");
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& c : candidates) {
    if (glob_match(o.freeze, c)) continue;
    if (!o.train_only.empty() && !glob_match(o.train_only, c)) continue;
    out.push_back(c);
  }
  return out;
}

TrainingStep build_training_step(const ir::Model& source, const TrainingOptions& o) {
  if (o.accumulate < 1) fail(ErrorKind::InvalidArgument, "accumulate must be at least 1");
  LossGradient r = loss_gradient(source, o);
  TrainingStep step;
  step.model = std::move(r.model);
  ir::Model& m = step.model;
  ir::Graph& g = *m.graph;
  const std::vector<Binding>& running = r.running;
  ir::GraphBuilder after(g);  // knows every name given so far
  auto int_k = [&](int64_t v) { return after.constant("c", Tensor::scalar<int64_t>(v)); };

  std::string lr =
      after.constant("lr", Tensor::scalar<float>(static_cast<float>(learning_rate(o))));
  std::string count = after.constant("step", Tensor::scalar<int64_t>(0));
  std::string counted = after.op("Add", {count, int_k(1)});  // the count after an update
  // Accumulation: a micro-batch counter; the update applies when it wraps to 0.
  std::string apply, micro, micro_next, next_count;
  std::vector<Binding> accumulation;
  if (o.accumulate > 1) {
    micro = after.constant("micro_step", Tensor::scalar<int64_t>(0));
    micro_next = UpdateBuilder::rename_last(
        g, after, after.op("Mod", {after.op("Add", {micro, int_k(1)}), int_k(o.accumulate)}),
        micro + "_new");
    apply = after.op("Equal", {micro_next, int_k(0)});
    std::string inc = after.op("Cast", {apply}, {attr("to", static_cast<int64_t>(DType::Int64))});
    next_count =
        UpdateBuilder::rename_last(g, after, after.op("Add", {count, inc}), count + "_new");
  } else {
    next_count = UpdateBuilder::rename_last(g, after, counted, count + "_new");
    counted = next_count;
  }
  std::string step_lr = scheduled_lr(after, o.schedules, lr, count);
  UpdateBuilder updates(g, after, o, step_lr, counted, apply);

  std::vector<std::string> grads = r.gradients;
  std::vector<DType> types;
  std::vector<Tensor> values;
  for (const auto& p : r.params) {
    values.push_back(g.find_initializer(p)->value);  // a copy: initializers grow below
    types.push_back(values.back().dtype());
  }
  if (o.accumulate > 1) {
    for (size_t i = 0; i < grads.size(); ++i) {
      std::string acc = updates.state(r.params[i], "grad_accum", values[i]);
      std::string sum = after.op("Add", {acc, grads[i]});
      std::string reset = after.op("Where", {apply, after.scalar(0, types[i]), sum});
      accumulation.push_back({acc, UpdateBuilder::rename_last(g, after, reset, acc + "_new")});
      grads[i] = after.op("Div", {sum, after.scalar(static_cast<double>(o.accumulate), types[i])});
    }
  }
  clip_gradients(after, grads, types, o);

  std::vector<Binding> param_bindings;
  step.params = r.params;
  for (size_t i = 0; i < r.params.size(); ++i) {
    const std::string& p = r.params[i];
    g.expose_initializer(p);
    std::string next = updates.update(p, values[i], grads[i]);
    if (!apply.empty()) next = after.op("Where", {apply, next, p});
    param_bindings.push_back({p, UpdateBuilder::rename_last(g, after, next, p + "_new")});
  }
  for (const auto& rs : running) g.expose_initializer(rs.input);
  g.expose_initializer(lr);
  g.expose_initializer(count);
  if (!micro.empty()) g.expose_initializer(micro);

  step.bindings = param_bindings;
  step.bindings.insert(step.bindings.end(), running.begin(), running.end());
  step.bindings.insert(step.bindings.end(), updates.state().begin(), updates.state().end());
  step.bindings.insert(step.bindings.end(), accumulation.begin(), accumulation.end());
  if (!micro.empty()) step.bindings.push_back({micro, micro_next});
  step.bindings.push_back({count, next_count});
  // Inputs: the model's, the labels, then the bound values in output order, lr, step.
  std::vector<ir::ValueInfo> inputs;
  std::set<std::string> late;
  for (const auto& bnd : step.bindings) late.insert(bnd.input);
  late.insert(lr);
  for (const auto& in : g.inputs) {
    if (!late.count(in.name)) inputs.push_back(in);
  }
  auto input_named = [&](const std::string& n) { return *g.find_input(n); };
  for (const auto& bnd : step.bindings) {
    if (bnd.input != count) inputs.push_back(input_named(bnd.input));
  }
  inputs.push_back(input_named(lr));
  inputs.push_back(input_named(count));
  g.inputs = std::move(inputs);
  for (const auto& bnd : step.bindings)
    g.outputs.push_back({bnd.output, input_named(bnd.input).type, ""});
  g.remove_unused();
  return step;
}

std::vector<std::pair<std::string, std::string>> binding_pairs(const TrainingStep& step) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& b : step.bindings) pairs.emplace_back(b.input, b.output);
  return pairs;
}

}  // namespace onyx::autodiff
