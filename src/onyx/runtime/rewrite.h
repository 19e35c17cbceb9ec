// How the pattern passes rewrite a graph: matched nodes dropped, one fused node put where
// the last of them was (which follows everything the fused node reads).
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::runtime {

// Nodes rewritten in place: each match drops the nodes it replaces and puts the fused node
// where its last node was, which follows everything the fused node reads.
class Rewrite {
 public:
  explicit Rewrite(const ir::Graph& g) : g_(g), nodes_(g.nodes), drop_(g.nodes.size(), false) {}
  bool taken(size_t i) const { return drop_[i] || replaced_.count(i); }
  void replace(const std::vector<size_t>& matched, ir::Node fused) {
    for (size_t k = 0; k + 1 < matched.size(); ++k) drop_[matched[k]] = true;
    nodes_[matched.back()] = std::move(fused);
    replaced_.insert(matched.back());
  }
  std::shared_ptr<const ir::Graph> result(std::shared_ptr<const ir::Graph> graph) {
    if (replaced_.empty()) return graph;
    auto out = std::make_shared<ir::Graph>(g_);
    out->nodes.clear();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!drop_[i]) out->nodes.push_back(std::move(nodes_[i]));
    }
    return out;
  }

 private:
  const ir::Graph& g_;
  std::vector<ir::Node> nodes_;
  std::vector<bool> drop_;
  std::unordered_set<size_t> replaced_;
};

inline ir::Node fused_node(const ir::Node& last, const char* domain, const char* op,
                           std::vector<std::string> inputs) {
  ir::Node n;
  n.name = last.name;
  n.domain = domain;
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = {last.outputs[0]};
  return n;
}

}  // namespace onyx::runtime
