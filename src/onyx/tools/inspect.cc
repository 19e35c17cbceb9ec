#include "onyx/tools/inspect.h"

#include <algorithm>
#include <set>

#include "onyx/onnx/checker.h"

namespace onyx::tools {

namespace {

using Types = std::unordered_map<std::string, ir::TypeInfo>;

std::optional<int64_t> numel(const Types& types, const std::string& v) {
  auto it = types.find(v);
  if (it == types.end() || !it->second.shape) return std::nullopt;
  int64_t n = 1;
  for (const auto& d : *it->second.shape) {
    if (!d.value) return std::nullopt;
    n *= *d.value;
  }
  return n;
}

std::optional<std::vector<int64_t>> dims(const Types& types, const std::string& v) {
  auto it = types.find(v);
  if (it == types.end() || !it->second.shape) return std::nullopt;
  std::vector<int64_t> d;
  for (const auto& x : *it->second.shape) {
    if (!x.value) return std::nullopt;
    d.push_back(*x.value);
  }
  return d;
}

int64_t product(const std::vector<int64_t>& v, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= v[i];
  return p;
}

// MACs of the ops that are mostly multiply-accumulate; 0 for the rest.
std::optional<int64_t> node_macs(const ir::Node& n, const Types& t) {
  if (n.op_type == "Conv" || n.op_type == "ConvInteger" || n.op_type == "QLinearConv") {
    size_t w = n.op_type == "QLinearConv" ? 3 : 1;
    auto out = numel(t, n.outputs[0]);
    auto wd = dims(t, n.input(w));
    if (!out || !wd) return std::nullopt;
    return *out * product(*wd, 1);  // each output: C/group * kernel products
  }
  if (n.op_type == "ConvTranspose") {
    auto in = numel(t, n.input(0));
    auto wd = dims(t, n.input(1));
    if (!in || !wd) return std::nullopt;
    return *in * product(*wd, 1);
  }
  if (n.op_type == "Gemm" || n.op_type == "MatMul" || n.op_type == "MatMulInteger") {
    auto out = numel(t, n.outputs[0]);
    auto a = dims(t, n.input(0));
    if (!out || !a || a->empty()) return std::nullopt;
    bool trans_a = n.op_type == "Gemm" && n.attr_int("transA", 0);
    int64_t k = trans_a && a->size() >= 2 ? (*a)[a->size() - 2] : a->back();
    return *out * k;
  }
  return 0;
}

}  // namespace

Inspection inspect(const ir::Model& source, int64_t batch) {
  // Fix symbolic input dimensions so that shapes, and costs, are numbers.
  ir::Model model = source;
  model.graph = std::make_shared<ir::Graph>(*source.graph);
  for (auto& in : model.graph->inputs) {
    if (!in.type.shape) continue;
    for (auto& d : *in.type.shape) {
      if (!d.value) d = {batch, "", ""};
    }
  }
  // Declared shapes with symbols elsewhere (outputs, value_info) would hide the inferred
  // numbers: let inference redo them.
  auto symbolic = [](const ir::ValueInfo& v) {
    return v.type.shape && std::any_of(v.type.shape->begin(), v.type.shape->end(),
                                       [](const ir::Dim& d) { return !d.value; });
  };
  for (auto& out : model.graph->outputs) {
    if (symbolic(out)) out.type.shape.reset();
  }
  std::erase_if(model.graph->value_info, symbolic);
  const ir::Graph& g = *model.graph;
  Types types = onnx_io::infer_value_types(model);
  Inspection r;
  std::set<std::string> inits;
  for (const auto& init : g.initializers) {
    inits.insert(init.name);
    if (is_floating(init.value.dtype())) {
      r.parameters += init.value.numel();
      r.parameter_bytes += static_cast<int64_t>(init.value.nbytes());
    }
  }
  for (const auto& in : source.graph->inputs) {
    if (!inits.count(in.name)) r.inputs.push_back(in);
  }
  r.outputs = source.graph->outputs;
  std::vector<size_t> order = g.topological_order();
  std::map<std::string, size_t> last_use;
  for (size_t k = 0; k < order.size(); ++k) {
    for (const auto& in : g.nodes[order[k]].inputs) last_use[in] = k;
  }
  for (const auto& out : g.outputs) last_use[out.name] = order.size();
  int64_t live = 0;
  std::map<size_t, int64_t> frees;  // step -> bytes released after it
  for (size_t k = 0; k < order.size(); ++k) {
    const ir::Node& n = g.nodes[order[k]];
    ++r.op_counts[n.op_type];
    NodeCost c{n.describe(), n.op_type};
    auto macs = node_macs(n, types);
    auto out = n.outputs.empty() ? std::optional<int64_t>(0) : numel(types, n.outputs[0]);
    c.known = macs.has_value() && out.has_value();
    c.macs = macs.value_or(0);
    c.flops = c.macs ? 2 * c.macs : out.value_or(0);
    r.macs += c.macs;
    r.flops += c.flops;
    for (const auto& o : n.outputs) {
      auto e = numel(types, o);
      auto it = types.find(o);
      if (!e || it == types.end() || it->second.elem == DType::Undefined) continue;
      int64_t bytes = *e * static_cast<int64_t>(dtype_size(it->second.elem));
      r.activation_bytes += bytes;
      live += bytes;
      auto lu = last_use.find(o);
      frees[lu == last_use.end() ? k : lu->second] += bytes;
    }
    r.peak_activation_bytes = std::max(r.peak_activation_bytes, live);
    live -= frees[k];
    r.nodes.push_back(std::move(c));
  }
  return r;
}

}  // namespace onyx::tools
