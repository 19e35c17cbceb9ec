#include "onyx/ir/graph.h"

#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace onyx::ir {

const Initializer* Graph::find_initializer(const std::string& value_name) const {
  for (const auto& init : initializers) {
    if (init.name == value_name) return &init;
  }
  return nullptr;
}

const ValueInfo* Graph::find_input(const std::string& value_name) const {
  for (const auto& in : inputs) {
    if (in.name == value_name) return &in;
  }
  return nullptr;
}

std::vector<ValueInfo> Graph::fed_inputs() const {
  std::vector<ValueInfo> out;
  for (const auto& in : inputs) {
    if (!find_initializer(in.name)) out.push_back(in);
  }
  return out;
}

std::optional<Tensor> Graph::constant_value(const std::string& value_name) const {
  if (const Initializer* init = find_initializer(value_name)) return init->value;
  for (const Node& n : nodes) {
    if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 ||
        n.outputs[0] != value_name) {
      continue;
    }
    if (const Attribute* a = n.find_attr("value"); a && a->type == AttrType::Tensor) return a->t;
    if (const Attribute* a = n.find_attr("value_ints")) {
      return Tensor::from_vector<int64_t>({static_cast<int64_t>(a->ints.size())}, a->ints);
    }
    if (const Attribute* a = n.find_attr("value_int")) return Tensor::scalar<int64_t>(a->i);
  }
  return std::nullopt;
}

std::optional<int64_t> Graph::constant_int(const std::string& value_name) const {
  std::optional<Tensor> t = constant_value(value_name);
  if (!t || t->numel() != 1 || !(is_integer(t->dtype()) || t->dtype() == DType::Bool)) {
    return std::nullopt;
  }
  return t->to_int64s()[0];
}

std::shared_ptr<Graph> deep_copy(const Graph& g) {
  auto copy = std::make_shared<Graph>(g);
  for (auto& n : copy->nodes) {
    for (auto& a : n.attributes) {
      if (a.g) a.g = deep_copy(*a.g);
      for (auto& sg : a.graphs) sg = deep_copy(*sg);
    }
  }
  return copy;
}

bool Graph::expose_initializer(const std::string& value_name) {
  if (find_input(value_name)) return true;
  const Initializer* init = find_initializer(value_name);
  if (!init) return false;
  inputs.push_back({value_name, TypeInfo::tensor(init->value.dtype(), init->value.shape()), ""});
  return true;
}

// Values a node reads: its inputs plus what its subgraphs take from enclosing scopes.
std::vector<std::string> node_reads(const Node& node) {
  std::vector<std::string> reads;
  for (const auto& in : node.inputs) {
    if (!in.empty()) reads.push_back(in);
  }
  for (const auto& attr : node.attributes) {
    if (attr.g) {
      for (auto& v : attr.g->free_variables()) reads.push_back(v);
    }
    for (const auto& g : attr.graphs) {
      for (auto& v : g->free_variables()) reads.push_back(v);
    }
  }
  return reads;
}

std::unordered_map<std::string, int> value_reads(const Graph& g) {
  std::unordered_map<std::string, int> reads;
  for (const auto& n : g.nodes) {
    for (const auto& v : node_reads(n)) ++reads[v];
  }
  for (const auto& o : g.outputs) ++reads[o.name];
  return reads;
}

void rename_reads(Graph& g, const std::map<std::string, std::string>& rename) {
  auto apply = [&](std::string& v) {
    auto it = rename.find(v);
    if (it != rename.end()) v = it->second;
  };
  for (auto& n : g.nodes) {
    for (auto& in : n.inputs) apply(in);
    for (auto& a : n.attributes) {  // subgraphs read enclosing values by name
      if (a.g) rename_reads(*a.g, rename);
      for (auto& sg : a.graphs) rename_reads(*sg, rename);
    }
  }
  for (auto& out : g.outputs) apply(out.name);
}

std::vector<std::string> Graph::free_variables() const {
  std::unordered_set<std::string> defined;
  for (const auto& in : inputs) defined.insert(in.name);
  for (const auto& init : initializers) defined.insert(init.name);
  for (const auto& node : nodes) {
    for (const auto& out : node.outputs) defined.insert(out);
  }
  std::vector<std::string> free;
  std::unordered_set<std::string> seen;
  auto visit = [&](const std::string& v) {
    if (!v.empty() && !defined.count(v) && seen.insert(v).second) free.push_back(v);
  };
  for (const auto& node : nodes) {
    for (const auto& v : node_reads(node)) visit(v);
  }
  for (const auto& out : outputs) visit(out.name);
  return free;
}

size_t Graph::remove_unused() {
  std::unordered_set<std::string> needed;
  for (const auto& out : outputs) needed.insert(out.name);
  std::vector<size_t> order = topological_order(free_variables());  // a subgraph's too
  std::vector<bool> keep(nodes.size(), false);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& n = nodes[*it];
    bool live = false;
    for (const auto& o : n.outputs) live |= !o.empty() && needed.count(o);
    if (!live) continue;
    keep[*it] = true;
    for (auto& v : node_reads(n)) needed.insert(std::move(v));
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(nodes[i]));
  }
  size_t removed = nodes.size() - kept.size();
  nodes = std::move(kept);
  std::erase_if(initializers, [&](const Initializer& init) {
    return !needed.count(init.name) && !find_input(init.name);
  });
  return removed;
}

void Graph::check_references(const std::vector<std::string>& outer_scope) const {
  topological_order(outer_scope);
  std::vector<std::string> visible = outer_scope;
  for (const auto& in : inputs) visible.push_back(in.name);
  for (const auto& init : initializers) visible.push_back(init.name);
  for (const auto& n : nodes) {
    for (const auto& o : n.outputs) {
      if (!o.empty()) visible.push_back(o);
    }
  }
  std::unordered_set<std::string> defined(visible.begin(), visible.end());
  for (const auto& out : outputs) {
    if (!defined.count(out.name)) {
      fail(ErrorKind::InvalidModel, "graph '", name, "': output '", out.name,
           "' is not produced by any node, input or initializer");
    }
  }
  for (const auto& n : nodes) {
    for (const auto& attr : n.attributes) {
      if (attr.g) attr.g->check_references(visible);
      for (const auto& g : attr.graphs) g->check_references(visible);
    }
  }
}

std::vector<size_t> Graph::topological_order(const std::vector<std::string>& outer_scope) const {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& out : nodes[i].outputs) {
      if (out.empty()) continue;
      if (!producer.emplace(out, i).second) {
        fail(ErrorKind::InvalidModel, nodes[i].describe(), ": output '", out,
             "' is already produced by ", nodes[producer[out]].describe());
      }
    }
  }
  std::unordered_set<std::string> available(outer_scope.begin(), outer_scope.end());
  for (const auto& in : inputs) available.insert(in.name);
  for (const auto& init : initializers) available.insert(init.name);

  std::vector<int> missing(nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<size_t> deps;
    for (const auto& v : node_reads(nodes[i])) {
      auto it = producer.find(v);
      if (it != producer.end()) {
        // A value that is also a graph input or initializer is overridden by its producer.
        deps.insert(it->second);
      } else if (!available.count(v)) {
        fail(ErrorKind::InvalidModel, nodes[i].describe(), ": input '", v,
             "' is not a graph input, an initializer, nor produced by any node");
      }
    }
    for (size_t d : deps) {
      if (d == i) fail(ErrorKind::InvalidModel, nodes[i].describe(), ": node reads its own output");
      consumers[d].push_back(i);
    }
    missing[i] = static_cast<int>(deps.size());
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (missing[i] == 0) ready.push(i);
  }
  std::vector<size_t> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t c : consumers[i]) {
      if (--missing[c] == 0) ready.push(c);
    }
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (missing[i] > 0) {
        fail(ErrorKind::InvalidModel, "graph '", name, "' has a cycle through ",
             nodes[i].describe());
      }
    }
  }
  return order;
}

int64_t Model::opset(const std::string& dom) const {
  std::string d = dom == "ai.onnx" ? "" : dom;
  for (const auto& op : opset_import) {
    std::string od = op.domain == "ai.onnx" ? "" : op.domain;
    if (od == d) return op.version;
  }
  return 0;
}

void Model::set_opset(const std::string& dom, int64_t version) {
  for (auto& op : opset_import) {
    if (op.domain == dom) {
      op.version = version;
      return;
    }
  }
  opset_import.push_back({dom, version});
}

}  // namespace onyx::ir
