#include "onyx/runtime/fusion.h"

#include <limits>
#include <unordered_map>

#include "onyx/ops/registry.h"

namespace onyx::runtime {

namespace {

// A constant scalar: an initializer that is not also a graph input (so cannot be fed).
bool constant_scalar(const ir::Graph& g, const std::string& name, float* out) {
  for (const auto& in : g.inputs) {
    if (in.name == name) return false;
  }
  for (const auto& n : g.nodes) {  // exporters often spell constants as Constant nodes
    if (n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1 &&
        n.outputs[0] == name) {
      const ir::Attribute* v = n.find_attr("value");
      if (!v || v->type != ir::AttrType::Tensor || v->t.numel() != 1 ||
          v->t.dtype() != DType::Float32)
        return false;
      *out = v->t.data<float>()[0];
      return true;
    }
  }
  const ir::Initializer* init = g.find_initializer(name);
  if (!init || init->value.numel() != 1 || init->value.dtype() != DType::Float32) return false;
  *out = init->value.data<float>()[0];
  return true;
}

ir::Attribute float_attr(const std::string& name, float v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::Float;
  a.f = v;
  return a;
}

}  // namespace

std::shared_ptr<const ir::Graph> fuse_activations(std::shared_ptr<const ir::Graph> graph,
                                                  const ir::Model& model) {
  const ir::Graph& g = *graph;
  // A graph output counts as a reader, so an output is never folded away.
  std::unordered_map<std::string, int> readers = ir::value_reads(g);
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) producer[o] = i;
  }

  auto out = std::make_shared<ir::Graph>(g);
  std::vector<bool> dropped(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& act = g.nodes[i];
    if (!act.domain.empty() || act.inputs.empty() || act.outputs.size() != 1) continue;
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity(),
          alpha = 0;
    std::string kind;
    if (act.op_type == "Relu") {
      kind = "Relu";
    } else if (act.op_type == "LeakyRelu") {
      kind = "LeakyRelu";
      alpha = act.attr_float("alpha", 0.01f);
    } else if (act.op_type == "Clip") {
      kind = "Clip";
      if (model.opset("") < 11) {
        lo = act.attr_float("min", lo);
        hi = act.attr_float("max", hi);
      } else {
        if (act.has_input(1) && !constant_scalar(g, act.inputs[1], &lo)) continue;
        if (act.has_input(2) && !constant_scalar(g, act.inputs[2], &hi)) continue;
      }
    } else {
      continue;
    }
    const std::string& x = act.inputs[0];
    auto p = producer.find(x);
    if (p == producer.end() || readers[x] != 1) continue;
    ir::Node& conv = out->nodes[p->second];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.has_attr("_onyx_activation"))
      continue;
    ir::Attribute a;
    a.name = "_onyx_activation";
    a.type = ir::AttrType::String;
    a.s = kind;
    conv.attributes.push_back(a);
    conv.attributes.push_back(float_attr("_onyx_alpha", alpha));
    conv.attributes.push_back(float_attr("_onyx_min", lo));
    conv.attributes.push_back(float_attr("_onyx_max", hi));
    conv.outputs[0] = act.outputs[0];
    dropped[i] = true;
    changed = true;
  }
  if (!changed) return graph;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < out->nodes.size(); ++i) {
    if (!dropped[i]) kept.push_back(std::move(out->nodes[i]));
  }
  out->nodes = std::move(kept);
  return out;
}

std::shared_ptr<const ir::Graph> fuse_swish(std::shared_ptr<const ir::Graph> graph) {
  const ir::Graph& g = *graph;
  std::unordered_map<std::string, int> reads = ir::value_reads(g);
  std::unordered_map<std::string, size_t> sigmoid_of;  // Sigmoid output -> node index
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.domain.empty() && n.op_type == "Sigmoid" && n.inputs.size() == 1 && n.outputs.size() == 1)
      sigmoid_of[n.outputs[0]] = i;
  }
  std::vector<bool> dropped(g.nodes.size(), false);
  std::vector<ir::Node> nodes = g.nodes;
  bool changed = false;
  for (auto& n : nodes) {
    if (!n.domain.empty() || n.op_type != "Mul" || n.inputs.size() != 2 || n.outputs.size() != 1)
      continue;
    for (size_t side = 0; side < 2; ++side) {
      auto s = sigmoid_of.find(n.inputs[side]);
      if (s == sigmoid_of.end() || dropped[s->second] || reads[n.inputs[side]] != 1 ||
          g.nodes[s->second].inputs[0] != n.inputs[1 - side])
        continue;
      dropped[s->second] = true;
      n.domain = ops::kRuntimeDomain;
      n.op_type = "Swish";
      n.inputs = {n.inputs[1 - side]};
      changed = true;
      break;
    }
  }
  if (!changed) return graph;
  auto out = std::make_shared<ir::Graph>(g);
  out->nodes.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!dropped[i]) out->nodes.push_back(std::move(nodes[i]));
  }
  return out;
}

}  // namespace onyx::runtime
