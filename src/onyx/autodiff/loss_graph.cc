// The model in training or eval mode with a loss on its prediction: the first half of every
// training build (build_training_step, build_loss_gradient) and the evaluation model.
#include "onyx/autodiff/loss_graph.h"

#include <algorithm>
#include <set>

#include "onyx/autodiff/losses.h"
#include "onyx/autodiff/optimizers.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/version_convert.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

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

// The prediction with its class axis moved to 1, where ONNX's losses and PyTorch's
// expect it, and the rank it has.
std::string class_axis_at_1(ir::GraphBuilder& b, const std::string& v, const ir::TypeInfo& type,
                            int64_t axis, const std::string& model) {
  if (!type.shape) {
    if (axis == 1) return v;
    fail(ErrorKind::InvalidArgument, model, ": '", v, "' has an unknown rank, so class axis ", axis,
         " cannot be found");
  }
  int64_t rank = static_cast<int64_t>(type.shape->size());
  if (rank < 2) {
    fail(ErrorKind::InvalidArgument, model, ": output '", v, "' ", type.str(),
         " must have a class axis (rank >= 2)");
  }
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 1 || a >= rank) {
    fail(ErrorKind::InvalidArgument, model, ": class axis ", axis, " of '", v, "' ", type.str(),
         " must be past the batch axis");
  }
  if (a == 1) return v;
  std::vector<int64_t> perm{0, a};
  for (int64_t i = 1; i < rank; ++i) {
    if (i != a) perm.push_back(i);
  }
  return b.op("Transpose", {v}, {attr("perm", perm)});
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
      fail(ErrorKind::InvalidArgument, m.name_for_errors(),
           ": the model already has a value named '", taken, "'");
    }
  }
  const LossDef& def = loss_named(o.loss);
  if (!is_floating(pred_type.elem)) {
    fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": the ", o.loss,
         " loss needs a floating-point ", "prediction, and '", pred, "' is ", pred_type.str());
  }
  ir::TypeInfo label_type = pred_type;
  if (def.labels == LabelKind::ClassIndices) {
    // Class indices: the prediction's shape without its class axis.
    label_type.elem = DType::Int64;
    if (label_type.shape) {
      int64_t rank = static_cast<int64_t>(label_type.shape->size());
      int64_t a = o.class_axis < 0 ? o.class_axis + rank : o.class_axis;
      if (rank < 2 || a < 1 || a >= rank) {
        fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": output '", pred, "' ",
             pred_type.str(), " has no class axis ", o.class_axis, " for the ", o.loss, " loss");
      }
      label_type.shape->erase(label_type.shape->begin() + a);
    }
  }
  g.inputs.push_back({o.label, label_type, ""});
  std::string p = pred, y = o.label;
  if (def.class_axis) {
    p = class_axis_at_1(b, pred, pred_type, o.class_axis, m.name_for_errors());
    if (def.labels == LabelKind::LikePrediction)
      y = class_axis_at_1(b, y, label_type, o.class_axis, m.name_for_errors());
  }
  std::string loss = def.build(b, p, y, pred_type.elem, o);
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
    fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": '", wanted, "' is not an output");
  }
  fail(ErrorKind::InvalidArgument, m.name_for_errors(), ": no floating-point output to train on");
}

// Adds to `types` the types of the nodes from `first_node` on (the loss), inferred on those
// nodes alone with their inputs typed from `types`: the graph before them is not inferred
// again.
void type_appended(const ir::Model& m, size_t first_node, size_t first_init, Types& types) {
  const ir::Graph& g = *m.graph;
  ir::Model part;
  part.ir_version = m.ir_version;
  part.opset_import = m.opset_import;
  ir::Graph& pg = *part.graph;
  std::set<std::string> defined;
  pg.initializers.assign(g.initializers.begin() + static_cast<long>(first_init),
                         g.initializers.end());
  for (const auto& init : pg.initializers) defined.insert(init.name);
  for (size_t i = first_node; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    for (const auto& in : n.inputs) {
      if (in.empty() || defined.count(in)) continue;
      auto t = types.find(in);
      const ir::ValueInfo* declared = g.find_input(in);  // the labels
      pg.inputs.push_back({in,
                           t != types.end() ? t->second
                           : declared       ? declared->type
                                            : ir::TypeInfo{},
                           ""});
      defined.insert(in);
    }
    pg.nodes.push_back(n);
    for (const auto& out : n.outputs) {
      defined.insert(out);
      pg.outputs.push_back({out, {}, ""});
    }
  }
  for (const auto& in : pg.inputs) types.try_emplace(in.name, in.type);
  for (auto& [name, type] : onnx_io::infer_value_types(part)) types.try_emplace(name, type);
}

}  // namespace

WithLoss with_loss(const ir::Model& source, const TrainingOptions& o) {
  loss_named(o.loss);
  optimizer_named(o.optimizer);  // option errors before any work
  WithLoss r;
  r.model = source;
  r.model.graph = std::make_shared<ir::Graph>(*source.graph);
  if (o.opset && source.opset("") < o.opset) r.model = onnx_io::convert_opset(source, o.opset);
  ir::Model& m = r.model;
  {
    ir::GraphBuilder mode(*m.graph);
    r.running = set_mode(m, mode, o.train_mode);
  }
  // This may put a new graph in m.graph: references into the old one end here.
  rewrite_for_gradients(m);
  ir::Graph& g = *m.graph;
  ir::GraphBuilder b(g);
  r.types = onnx_io::infer_value_types(m);
  std::tie(r.pred, r.pred_type) = prediction(m, r.types, o.output);
  g.outputs.clear();
  for (const auto& init : g.initializers) {
    if (is_floating(init.value.dtype())) r.float_initializers.push_back(init.name);
  }
  size_t nodes = g.nodes.size(), inits = g.initializers.size();
  append_loss(m, b, o, r.pred, r.pred_type);
  type_appended(m, nodes, inits, r.types);
  return r;
}

ir::Model build_loss_model(const ir::Model& model, const TrainingOptions& options) {
  WithLoss r = with_loss(model, options);
  ir::Graph& g = *r.model.graph;
  g.outputs.push_back({r.pred, r.pred_type, ""});
  for (const auto& rs : r.running) g.outputs.push_back({rs.output, {}, ""});
  g.remove_unused();
  return r.model;
}

}  // namespace onyx::autodiff
