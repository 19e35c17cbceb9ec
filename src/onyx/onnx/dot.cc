#include "onyx/onnx/dot.h"

#include <map>
#include <set>
#include <sstream>

#include "onyx/onnx/checker.h"

namespace onyx::onnx_io {

namespace {

// A DOT string literal.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "n3": built by append, which GCC 12's -Wrestrict does not misread as the prefix + form is.
std::string dot_id(const char* prefix, size_t i) {
  return std::string(prefix).append(std::to_string(i));
}

}  // namespace

std::string to_dot(const ir::Model& model) {
  const ir::Graph& g = *model.graph;
  auto types = onnx_io::infer_value_types(model);
  std::set<std::string> inits;
  for (const auto& i : g.initializers) inits.insert(i.name);
  std::ostringstream dot;
  dot << "digraph " << quoted(g.name.empty() ? "model" : g.name) << " {\n"
      << "  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n";
  std::map<std::string, std::string> producer;  // value -> DOT node id
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (inits.count(g.inputs[i].name)) continue;
    std::string id = dot_id("in", i);
    producer[g.inputs[i].name] = id;
    dot << "  " << id << " [shape=ellipse, style=filled, fillcolor=\"#d8ecff\", label="
        << quoted(g.inputs[i].name + "\n" + g.inputs[i].type.str()) << "];\n";
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    std::string id = dot_id("n", i);
    // Parameters shown inside the node: "W [32,1,3,3]".
    std::string label = n.op_type;
    if (!n.name.empty()) label.append("\n").append(n.name);
    for (const auto& in : n.inputs) {
      const ir::Initializer* init = inits.count(in) ? g.find_initializer(in) : nullptr;
      if (init) label.append("\n").append(in).append(" ").append(shape_str(init->value.shape()));
    }
    dot << "  " << id
        << " [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", label=" << quoted(label)
        << "];\n";
    for (const auto& o : n.outputs) {
      if (!o.empty()) producer[o] = id;
    }
  }
  auto edge_label = [&](const std::string& v) {
    auto it = types.find(v);
    return it == types.end() ? std::string() : it->second.str();
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      auto p = producer.find(in);
      if (in.empty() || p == producer.end()) continue;
      dot << "  " << p->second << " -> n" << i << " [label=" << quoted(edge_label(in)) << "];\n";
    }
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    std::string id = dot_id("out", i);
    dot << "  " << id << " [shape=ellipse, style=filled, fillcolor=\"#ffe8cc\", label="
        << quoted(g.outputs[i].name + "\n" + edge_label(g.outputs[i].name)) << "];\n";
    auto p = producer.find(g.outputs[i].name);
    if (p != producer.end()) dot << "  " << p->second << " -> " << id << ";\n";
  }
  dot << "}\n";
  return dot.str();
}

}  // namespace onyx::onnx_io
