// GraphBuilder: the one way code makes graphs (tests, fusion, and later autodiff and the
// layer APIs). It names values uniquely, keeps inputs, initializers and outputs in step,
// and builds attributes without spelling out Attribute structs.
#pragma once

#include <initializer_list>
#include <string>
#include <unordered_set>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::ir {

// Attribute constructors: attr("alpha", 0.1f), attr("axes", std::vector<int64_t>{1}), ...
Attribute attr(const std::string& name, int64_t v);
Attribute attr(const std::string& name, int v);
Attribute attr(const std::string& name, float v);
Attribute attr(const std::string& name, const std::string& v);
Attribute attr(const std::string& name, const char* v);
Attribute attr(const std::string& name, std::vector<int64_t> v);
Attribute attr(const std::string& name, std::vector<float> v);
Attribute attr(const std::string& name, std::vector<std::string> v);
Attribute attr(const std::string& name, Tensor v);
Attribute attr(const std::string& name, std::shared_ptr<Graph> v);

// A node (unnamed) computing `outputs` by name, for callers that assemble node lists
// themselves (subgraph bodies).
Node make_node(const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attrs = {});

class GraphBuilder {
 public:
  // Builds into `graph` (which may already hold nodes; their names, and the names inside
  // their subgraphs, are never generated again).
  explicit GraphBuilder(Graph& graph);

  // A graph input; returns its name.
  std::string input(const std::string& name, TypeInfo type);
  // A constant initializer, named uniquely from `name`; returns the name.
  std::string constant(const std::string& name, Tensor value);
  // A scalar constant of floating-point type `t`: double for float64, else float.
  std::string scalar(double v, DType t);
  // Appends a node and returns its output names (`num_outputs` fresh names from the op).
  std::vector<std::string> add(const std::string& op_type, const std::vector<std::string>& inputs,
                               std::vector<Attribute> attrs = {}, size_t num_outputs = 1,
                               const std::string& domain = "");
  // As add, for the common single-output case.
  std::string op(const std::string& op_type, const std::vector<std::string>& inputs,
                 std::vector<Attribute> attrs = {}, const std::string& domain = "");
  // Appends a node that writes the value `output` (a name given, not a fresh one: a value
  // the graph's readers already expect), e.g. an Identity giving a result its final name.
  void write(const std::string& op_type, const std::vector<std::string>& inputs,
             const std::string& output, std::vector<Attribute> attrs = {});
  // Marks a value as a graph output.
  void output(const std::string& name, TypeInfo type = {});
  // A name not used anywhere in the graph yet, derived from `base`.
  std::string unique(const std::string& base);

  Graph& graph() { return graph_; }

 private:
  Graph& graph_;
  std::unordered_set<std::string> used_;
  int counter_ = 0;
};

}  // namespace onyx::ir
