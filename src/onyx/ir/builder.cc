#include "onyx/ir/builder.h"

namespace onyx::ir {

namespace {
Attribute make(const std::string& name, AttrType type) {
  Attribute a;
  a.name = name;
  a.type = type;
  return a;
}
}  // namespace

Attribute attr(const std::string& name, int64_t v) {
  Attribute a = make(name, AttrType::Int);
  a.i = v;
  return a;
}
Attribute attr(const std::string& name, int v) {
  return attr(name, static_cast<int64_t>(v));
}
Attribute attr(const std::string& name, float v) {
  Attribute a = make(name, AttrType::Float);
  a.f = v;
  return a;
}
Attribute attr(const std::string& name, const std::string& v) {
  Attribute a = make(name, AttrType::String);
  a.s = v;
  return a;
}
Attribute attr(const std::string& name, const char* v) {
  return attr(name, std::string(v));
}
Attribute attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a = make(name, AttrType::Ints);
  a.ints = std::move(v);
  return a;
}
Attribute attr(const std::string& name, std::vector<float> v) {
  Attribute a = make(name, AttrType::Floats);
  a.floats = std::move(v);
  return a;
}
Attribute attr(const std::string& name, std::vector<std::string> v) {
  Attribute a = make(name, AttrType::Strings);
  a.strings = std::move(v);
  return a;
}
Attribute attr(const std::string& name, Tensor v) {
  Attribute a = make(name, AttrType::Tensor);
  a.t = std::move(v);
  return a;
}
Attribute attr(const std::string& name, std::shared_ptr<Graph> v) {
  Attribute a = make(name, AttrType::Graph);
  a.g = std::move(v);
  return a;
}

namespace {

// Every name `g` and its subgraphs define: a new value must repeat none of them, or it would
// clash with (be shadowed by) a subgraph's own value of that name.
void collect_names(const Graph& g, std::unordered_set<std::string>& used) {
  for (const auto& in : g.inputs) used.insert(in.name);
  for (const auto& init : g.initializers) used.insert(init.name);
  for (const auto& n : g.nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
    for (const auto& a : n.attributes) {
      if (a.g) collect_names(*a.g, used);
      for (const auto& sg : a.graphs) collect_names(*sg, used);
    }
  }
}

}  // namespace

GraphBuilder::GraphBuilder(Graph& graph) : graph_(graph) {
  collect_names(graph, used_);
}

Node make_node(const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attrs) {
  Node n;
  n.op_type = op_type;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attrs);
  return n;
}

void GraphBuilder::write(const std::string& op_type, const std::vector<std::string>& inputs,
                         const std::string& output, std::vector<Attribute> attrs) {
  used_.insert(output);
  Node n = make_node(op_type, inputs, {output}, std::move(attrs));
  n.name = unique(output + "_" + op_type);
  graph_.nodes.push_back(std::move(n));
}

std::string GraphBuilder::unique(const std::string& base) {
  std::string b = base.empty() ? "v" : base;
  std::string name = b;
  while (used_.count(name)) name = b + "_" + std::to_string(++counter_);
  used_.insert(name);
  return name;
}

std::string GraphBuilder::input(const std::string& name, TypeInfo type) {
  if (used_.count(name))
    fail(ErrorKind::InvalidArgument, "graph input '", name, "' is already defined");
  used_.insert(name);
  graph_.inputs.push_back({name, std::move(type), ""});
  return name;
}

std::string GraphBuilder::constant(const std::string& name, Tensor value) {
  std::string n = unique(name);
  graph_.initializers.push_back({n, std::move(value), ""});
  return n;
}

std::string GraphBuilder::scalar(double v, DType t) {
  if (t == DType::Float64) return constant("c", Tensor::scalar<double>(v));
  return constant("c", Tensor::scalar<float>(static_cast<float>(v)));
}

std::vector<std::string> GraphBuilder::add(const std::string& op_type,
                                           const std::vector<std::string>& inputs,
                                           std::vector<Attribute> attrs, size_t num_outputs,
                                           const std::string& domain) {
  Node n;
  n.op_type = op_type;
  n.domain = domain;
  n.name = unique(op_type);
  n.inputs = inputs;
  n.attributes = std::move(attrs);
  for (size_t i = 0; i < num_outputs; ++i)
    n.outputs.push_back(unique(n.name + "_out" + std::to_string(i)));
  std::vector<std::string> outs = n.outputs;
  graph_.nodes.push_back(std::move(n));
  return outs;
}

std::string GraphBuilder::op(const std::string& op_type, const std::vector<std::string>& inputs,
                             std::vector<Attribute> attrs, const std::string& domain) {
  return add(op_type, inputs, std::move(attrs), 1, domain)[0];
}

void GraphBuilder::output(const std::string& name, TypeInfo type) {
  graph_.outputs.push_back({name, std::move(type), ""});
}

}  // namespace onyx::ir
