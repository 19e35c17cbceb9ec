// What the pattern passes ask of a graph while they match: who produces a value, how often
// it is read, whether it is a constant. Built once per pass over the graph it was given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::runtime {

class GraphView {
 public:
  explicit GraphView(const ir::Graph& g) : g_(g), reads_(ir::value_reads(g)) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& o : g.nodes[i].outputs) {
        if (!o.empty()) producer_[o] = i;
      }
      for (const auto& v : g.nodes[i].inputs) readers_[v].push_back(i);
    }
  }

  const ir::Graph& graph() const { return g_; }
  // Reads of `v` by nodes, subgraphs and the graph's outputs.
  int reads(const std::string& v) const {
    auto it = reads_.find(v);
    return it == reads_.end() ? 0 : it->second;
  }
  // Index of the node producing `v`, or nullopt for inputs, initializers and unknowns.
  std::optional<size_t> producer(const std::string& v) const {
    auto it = producer_.find(v);
    return it == producer_.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
  // The node producing `v` when it is the standard op `op` (nullptr otherwise).
  const ir::Node* made_by(const std::string& v, std::string_view op) const {
    std::optional<size_t> p = producer(v);
    if (!p) return nullptr;
    const ir::Node& n = g_.nodes[*p];
    return n.domain.empty() && n.op_type == op ? &n : nullptr;
  }
  // Index of the node that is the only reader of `v` (nullopt when there are others, or
  // the graph outputs it).
  std::optional<size_t> sole_reader(const std::string& v) const {
    auto it = readers_.find(v);
    if (reads(v) != 1 || it == readers_.end() || it->second.size() != 1) return std::nullopt;
    return it->second[0];
  }
  // The same when that reader is the standard op `op`.
  std::optional<size_t> sole_reader(const std::string& v, std::string_view op) const {
    std::optional<size_t> r = sole_reader(v);
    if (!r || !g_.nodes[*r].domain.empty() || g_.nodes[*r].op_type != op) return std::nullopt;
    return r;
  }
  // An initializer the caller cannot feed, or a Constant node's value.
  std::optional<Tensor> constant(const std::string& v) const {
    if (v.empty() || g_.find_input(v)) return std::nullopt;
    return g_.constant_value(v);
  }
  // A constant holding one floating-point value.
  std::optional<double> scalar(const std::string& v) const {
    std::optional<Tensor> t = constant(v);
    if (!t || t->numel() != 1 || !is_floating(t->dtype())) return std::nullopt;
    return t->element_as_double(0);
  }

 private:
  const ir::Graph& g_;
  std::unordered_map<std::string, int> reads_;
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;  // node inputs only
};

}  // namespace onyx::runtime
