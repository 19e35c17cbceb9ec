// build_training_step: the model in training mode, a loss on its prediction, the gradient
// of the loss with respect to the parameters (append_vjp) and the optimizer's update.
#include "onyx/autodiff/training.h"

#include <algorithm>
#include <set>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/optimizers.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/version_convert.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

std::string model_name(const ir::Model& m) {
  return m.path.empty() ? "model" : m.path;
}

// Every read of value `from` (node inputs, graph outputs) now reads `to`.
void rename_uses(ir::Graph& g, const std::string& from, const std::string& to) {
  for (auto& node : g.nodes) std::replace(node.inputs.begin(), node.inputs.end(), from, to);
  for (auto& out : g.outputs) {
    if (out.name == from) out.name = to;
  }
}

// BatchNormalization and Dropout in training or inference mode, as PyTorch's
// model.train() and model.eval(). Returns, for training mode, the running statistics each
// BatchNormalization now updates.
std::vector<Binding> set_mode(ir::Model& m, ir::GraphBuilder& b, bool train) {
  ir::Graph& g = *m.graph;
  std::vector<Binding> running;
  int64_t opset = m.opset("");
  std::string flag;  // the training_mode value given to every Dropout
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!n.domain.empty()) continue;
    if (n.op_type == "BatchNormalization" && opset >= 14) {
      std::erase_if(n.attributes, [](const ir::Attribute& a) { return a.name == "training_mode"; });
      n.attributes.push_back(attr("training_mode", int64_t{train}));
      n.outputs.resize(train ? 3 : 1);
      for (size_t k = 1; train && k < 3; ++k) {
        // Named "<statistic>_new" like every carried value, whatever the exporter called it.
        std::string old = n.outputs[k], name = b.unique(n.input(k + 2) + "_new");
        n.outputs[k] = name;
        if (!old.empty()) rename_uses(g, old, name);
        running.push_back({g.nodes[i].input(k + 2), name});
      }
    } else if (n.op_type == "Dropout" && opset >= 12) {
      if (flag.empty()) flag = b.constant("training_mode", Tensor::scalar<bool>(train));
      g.nodes[i].inputs.resize(3);
      g.nodes[i].inputs[2] = flag;
    }
  }
  return running;
}

// The loss node(s), ending in a scalar named "loss"; adds the labels input.
void append_loss(ir::Model& m, ir::GraphBuilder& b, const TrainingOptions& o,
                 const std::string& pred, const ir::TypeInfo& pred_type) {
  ir::Graph& g = *m.graph;
  auto exists = [&](const std::string& v) {
    if (g.find_input(v) || g.find_initializer(v)) return true;
    return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) {
      return std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end();
    });
  };
  for (const std::string& taken : {std::string("loss"), o.label}) {
    if (exists(taken)) {
      fail(ErrorKind::InvalidArgument, model_name(m), ": the model already has a value named '",
           taken, "'");
    }
  }
  bool classes = o.loss == "cross-entropy" || o.loss == "nll";
  ir::TypeInfo label_type = pred_type;
  if (classes) {
    // Class indices: the prediction's shape without the class axis (1).
    label_type.elem = DType::Int64;
    if (label_type.shape) {
      if (label_type.shape->size() < 2) {
        fail(ErrorKind::InvalidArgument, model_name(m), ": output '", pred,
             "' must have a class axis (rank >= 2) for the ", o.loss, " loss");
      }
      label_type.shape->erase(label_type.shape->begin() + 1);
    }
  }
  g.inputs.push_back({o.label, label_type, ""});
  std::string loss;
  if (o.loss == "cross-entropy") {
    loss = b.op("SoftmaxCrossEntropyLoss", {pred, o.label});
  } else if (o.loss == "nll") {
    loss = b.op("NegativeLogLikelihoodLoss", {pred, o.label});
  } else if (o.loss == "mse" || o.loss == "l1") {
    std::string d = b.op("Sub", {pred, o.label});
    std::string e = o.loss == "mse" ? b.op("Mul", {d, d}) : b.op("Abs", {d});
    loss = b.op("ReduceMean", {e}, {attr("keepdims", int64_t{0})});
  } else {
    fail(ErrorKind::InvalidArgument, "unknown loss '", o.loss, "' (cross-entropy, mse, l1, nll)");
  }
  if (UpdateBuilder::rename_last(g, b, loss, "loss") != "loss") {
    fail(ErrorKind::Internal, "the loss output could not be named 'loss'");
  }
  g.outputs.push_back({"loss", ir::TypeInfo::tensor(pred_type.elem, std::vector<ir::Dim>{}), ""});
}

// The prediction the loss is on, and its type.
std::pair<std::string, ir::TypeInfo> prediction(const ir::Model& m, const Types& types,
                                                const std::string& wanted) {
  for (const auto& out : m.graph->outputs) {
    auto t = types.find(out.name);
    ir::TypeInfo type = t != types.end() ? t->second : out.type;
    if (!wanted.empty() ? out.name == wanted : is_floating(type.elem)) return {out.name, type};
  }
  if (!wanted.empty()) {
    fail(ErrorKind::InvalidArgument, model_name(m), ": '", wanted, "' is not an output");
  }
  fail(ErrorKind::InvalidArgument, model_name(m), ": no floating-point output to train on");
}

// The model in the chosen mode with its loss and the loss's gradients appended.
struct LossGradient {
  ir::Model model;
  std::vector<Binding> running;        // BatchNormalization's running statistics
  std::vector<std::string> params;     // those that receive a gradient (or were asked for)
  std::vector<std::string> gradients;  // the gradient of each
};

LossGradient loss_gradient(const ir::Model& source, const TrainingOptions& o) {
  LossGradient r;
  r.model = source;
  r.model.graph = std::make_shared<ir::Graph>(*source.graph);
  if (o.opset && source.opset("") < o.opset) r.model = onnx_io::convert_opset(source, o.opset);
  ir::Model& m = r.model;
  ir::Graph& g = *m.graph;
  ir::GraphBuilder b(g);

  r.running = set_mode(m, b, o.train_mode);
  rewrite_for_gradients(m);
  Types types = onnx_io::infer_value_types(m);
  auto [pred, pred_type] = prediction(m, types, o.output);
  g.outputs.clear();
  append_loss(m, b, o, pred, pred_type);

  // Parameters: those asked for, or the float initializers the loss depends on (the
  // gradient tells: running statistics and constants such as Dropout's ratio get none).
  std::set<std::string> stats;
  for (const auto& rs : r.running) stats.insert(rs.input);
  VjpSpec spec;
  spec.ys = {"loss"};
  spec.wrt = o.params;
  if (spec.wrt.empty()) {
    for (const auto& init : g.initializers) {
      if (is_floating(init.value.dtype()) && !stats.count(init.name)) spec.wrt.push_back(init.name);
    }
  }
  for (const auto& w : spec.wrt) {
    if (!g.find_initializer(w)) {
      fail(ErrorKind::InvalidArgument, model_name(m), ": parameter '", w,
           "' is not an initializer");
    }
    spec.names.push_back(b.unique(w + "_grad"));
  }
  Tensor one =
      pred_type.elem == DType::Float64 ? Tensor::scalar<double>(1.0) : Tensor::scalar<float>(1.0f);
  spec.seeds = {b.constant("loss_seed", one)};
  std::vector<bool> reached = append_vjp(m, spec);
  for (size_t i = 0; i < spec.wrt.size(); ++i) {
    if (!reached[i] && o.params.empty()) continue;
    r.params.push_back(spec.wrt[i]);
    r.gradients.push_back(spec.names[i]);
  }
  if (r.params.empty()) {
    fail(ErrorKind::InvalidArgument, model_name(m), ": the loss depends on no parameter");
  }
  return r;
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

TrainingStep build_training_step(const ir::Model& source, const TrainingOptions& o) {
  LossGradient r = loss_gradient(source, o);
  TrainingStep step;
  step.model = std::move(r.model);
  ir::Model& m = step.model;
  ir::Graph& g = *m.graph;
  const std::vector<Binding>& running = r.running;
  ir::GraphBuilder after(g);  // knows every name given so far

  std::string lr = after.constant("lr", Tensor::scalar<float>(static_cast<float>(o.lr)));
  std::string count = after.constant("step", Tensor::scalar<int64_t>(0));
  std::string next_count = UpdateBuilder::rename_last(
      g, after, after.op("Add", {count, after.constant("c", Tensor::scalar<int64_t>(1))}),
      count + "_new");
  UpdateBuilder updates(g, after, o, lr, next_count);
  std::vector<Binding> param_bindings;
  step.params = r.params;
  for (size_t i = 0; i < r.params.size(); ++i) {
    const std::string& p = r.params[i];
    g.expose_initializer(p);
    Tensor value = g.find_initializer(p)->value;  // a copy: initializers grow below
    std::string next = updates.update(p, value, r.gradients[i]);
    param_bindings.push_back({p, UpdateBuilder::rename_last(g, after, next, p + "_new")});
  }
  for (const auto& rs : running) g.expose_initializer(rs.input);
  g.expose_initializer(lr);
  g.expose_initializer(count);

  step.bindings = param_bindings;
  step.bindings.insert(step.bindings.end(), running.begin(), running.end());
  step.bindings.insert(step.bindings.end(), updates.state().begin(), updates.state().end());
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
