#include "onyx/autodiff/embedded_training.h"

#include <algorithm>
#include <map>
#include <set>

#include "onyx/ir/builder.h"
#include "onyx/onnx/version_convert.h"
#include "onyx/runtime/session.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// A node computing zeros shaped like `like` (initialization graphs have no inputs).
std::string zeros_node(ir::GraphBuilder& b, const Tensor& like) {
  Tensor shape = Tensor::from_vector<int64_t>({like.rank()}, like.shape());
  std::string s = b.op("Constant", {}, {attr("value", shape)});
  Tensor zero = Tensor::zeros(like.dtype(), {1});
  return b.op("ConstantOfShape", {s}, {attr("value", zero)});
}

}  // namespace

ir::Model embed_training_step(const ir::Model& source, const TrainingOptions& options) {
  ir::Model model = source;
  model.graph = std::make_shared<ir::Graph>(*source.graph);
  if (options.opset && model.opset("") < options.opset) {
    model = onnx_io::convert_opset(model, options.opset);
  }
  TrainingStep step = build_training_step(model, options);
  const ir::Graph& inference = *model.graph;
  ir::Graph& sg = *step.model.graph;

  // The algorithm runs after the inference graph in one scope: values the step computes
  // under an inference name (its training-mode copy of the forward pass) get new names.
  std::set<std::string> taken, inference_values;
  for (const auto& in : inference.inputs) inference_values.insert(in.name);
  for (const auto& init : inference.initializers) inference_values.insert(init.name);
  std::set<std::string> produced;
  for (const auto& n : inference.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
  taken = inference_values;
  taken.insert(produced.begin(), produced.end());
  ir::GraphBuilder b(sg);
  std::map<std::string, std::string> rename;
  for (auto& n : sg.nodes) {
    for (auto& o : n.outputs) {
      if (o.empty() || !produced.count(o)) continue;
      std::string fresh = b.unique("train/" + o);
      while (taken.count(fresh)) fresh = b.unique(fresh);
      rename[o] = fresh;
      o = fresh;
    }
    if (!n.name.empty()) n.name = "train/" + n.name;
  }
  ir::rename_reads(sg, rename);

  ir::TrainingInfo info;
  ir::Graph& alg = *info.algorithm;
  alg.name = "training_step";
  alg.nodes = sg.nodes;
  alg.outputs = sg.outputs;
  for (const auto& init : sg.initializers) {
    if (!inference_values.count(init.name)) alg.initializers.push_back(init);
  }
  for (const auto& in : sg.inputs) {
    // The labels, and `lr` (an initializer a caller may override); state is not fed.
    bool carried = std::any_of(step.bindings.begin(), step.bindings.end(),
                               [&](const Binding& bd) { return bd.input == in.name; });
    if (!inference_values.count(in.name) && !carried) alg.inputs.push_back(in);
  }
  ir::GraphBuilder init_b(*info.initialization);
  info.initialization->name = "reset_optimizer_state";
  for (const Binding& bd : step.bindings) {
    info.update_binding.emplace_back(bd.input, bd.output);
    if (inference_values.count(bd.input)) continue;  // parameters and running statistics
    const ir::Initializer* init = alg.find_initializer(bd.input);
    std::string z = zeros_node(init_b, init->value);
    info.initialization->outputs.push_back({z, {}, ""});
    info.initialization_binding.emplace_back(bd.input, z);
  }
  model.ir_version = std::max<int64_t>(model.ir_version, 7);  // training_info needs IR 7
  model.training_info = {info};
  return model;
}

TrainingStep training_step_of(const ir::Model& model) {
  TrainingStep step;
  step.model = model;
  step.model.graph = std::make_shared<ir::Graph>(*model.graph);
  ir::Graph& g = *step.model.graph;
  const std::vector<ir::TrainingInfo>& infos = model.training_info;
  if (infos.empty()) {
    for (const auto& out : g.outputs) {
      const std::string suffix = "_new";
      if (out.name.size() <= suffix.size() || !out.name.ends_with(suffix)) continue;
      std::string in = out.name.substr(0, out.name.size() - suffix.size());
      if (g.find_input(in)) step.bindings.push_back({in, out.name});
    }
    if (step.bindings.empty()) {
      fail(ErrorKind::InvalidArgument, model.name_for_errors(),
           ": not a training step: no TrainingInfoProto and no output '<X>_new' for an input "
           "X (onyx make-training writes one)");
    }
    return step;
  }
  if (infos.size() > 1) {
    fail(ErrorKind::Unsupported, model.name_for_errors(), ": ", infos.size(),
         " training_info entries; onyx runs models with one");
  }
  const ir::TrainingInfo& t = infos[0];
  const ir::Graph& alg = *t.algorithm;
  std::set<std::string> inputs;
  for (const auto& in : g.inputs) inputs.insert(in.name);
  for (const auto& in : alg.inputs) {
    if (!inputs.count(in.name)) g.inputs.push_back(in);
  }
  g.initializers.insert(g.initializers.end(), alg.initializers.begin(), alg.initializers.end());
  g.nodes.insert(g.nodes.end(), alg.nodes.begin(), alg.nodes.end());
  g.value_info.insert(g.value_info.end(), alg.value_info.begin(), alg.value_info.end());
  std::vector<ir::ValueInfo> outputs = alg.outputs;
  for (const auto& binding : t.update_binding) {
    const std::string &key = binding.first, &value = binding.second;
    if (!g.expose_initializer(key)) {
      fail(ErrorKind::InvalidModel, model.name_for_errors(), ": update_binding names '", key,
           "', which is not an initializer");
    }
    bool listed = std::any_of(outputs.begin(), outputs.end(),
                              [&](const ir::ValueInfo& v) { return v.name == value; });
    if (!listed) outputs.push_back({value, {}, ""});  // an inference output may be bound too
    step.bindings.push_back({key, value});
    if (model.graph->find_initializer(key)) step.params.push_back(key);
  }
  g.outputs = outputs;
  step.model.training_info.clear();
  g.remove_unused();
  return step;
}

std::vector<std::pair<std::string, Tensor>> initial_state(const ir::Model& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& t : model.training_info) {
    if (t.initialization->nodes.empty() && t.initialization->outputs.empty()) continue;
    ir::Model init = model;
    init.graph = t.initialization;
    init.training_info.clear();
    runtime::Session session(init);
    std::vector<Value> values = session.run({});
    for (const auto& binding : t.initialization_binding) {
      const std::string &key = binding.first, &value = binding.second;
      const auto& outs = t.initialization->outputs;
      auto it = std::find_if(outs.begin(), outs.end(),
                             [&](const ir::ValueInfo& v) { return v.name == value; });
      if (it == outs.end()) {
        fail(ErrorKind::InvalidModel, model.name_for_errors(), ": initialization_binding names '",
             value, "', which is not an output of the initialization graph");
      }
      out.emplace_back(key, values[static_cast<size_t>(it - outs.begin())].tensor());
    }
  }
  return out;
}

void store_state(ir::Model& model, const std::vector<std::pair<std::string, Tensor>>& values) {
  // Other copies of the model share its graphs: write into copies of them.
  model.graph = std::make_shared<ir::Graph>(*model.graph);
  for (auto& t : model.training_info) t.algorithm = std::make_shared<ir::Graph>(*t.algorithm);
  for (const auto& named : values) {
    const std::string& name = named.first;
    const Tensor& value = named.second;
    auto set = [&](ir::Graph& g) {
      for (auto& init : g.initializers) {
        if (init.name == name) {
          init.value = value;
          return true;
        }
      }
      return false;
    };
    bool found = set(*model.graph);
    for (auto& t : model.training_info) found = found || set(*t.algorithm);
    if (!found) {
      fail(ErrorKind::InvalidArgument, model.name_for_errors(), ": no initializer '", name,
           "' to store a value in");
    }
  }
}

}  // namespace onyx::autodiff
