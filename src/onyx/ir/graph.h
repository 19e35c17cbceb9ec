// Graph and Model: the in-memory form of ONNX's GraphProto and ModelProto. Fields the IR
// does not model are kept as serialized protobuf bytes ("extra") so that a load/save
// round trip loses nothing, fields unknown to this protobuf version included.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "onyx/ir/node.h"

namespace onyx::ir {

struct Initializer {
  std::string name;
  Tensor value;
  std::string doc_string;
  bool from_sparse = false;  // densified from a sparse_initializer (saved back as sparse)
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<Initializer> initializers;
  std::string doc_string;
  std::string extra;  // serialized GraphProto holding the fields not above

  const Initializer* find_initializer(const std::string& value_name) const;
  const ValueInfo* find_input(const std::string& value_name) const;
  // The inputs a caller must feed: those without an initializer (the others are defaults).
  std::vector<ValueInfo> fed_inputs() const;
  // The value of `value_name` when it is an initializer or the output of a Constant node
  // (value, value_int or value_ints), else nullopt.
  std::optional<Tensor> constant_value(const std::string& value_name) const;
  // The same for a one-element integer or bool constant, as int64 (nullopt otherwise).
  std::optional<int64_t> constant_int(const std::string& value_name) const;
  // Lists initializer `value_name` among the inputs too (so that callers may feed it),
  // typed by its value. False when it is neither an input already nor an initializer.
  bool expose_initializer(const std::string& value_name);
  // Node indices in an order where each node follows the producers of its inputs
  // (including values its subgraphs read from this scope). Throws InvalidModel on a cycle
  // or on a value that nothing produces.
  std::vector<size_t> topological_order(const std::vector<std::string>& outer_scope = {}) const;
  // Throws InvalidModel unless every value read or output is defined (by a node, an input,
  // an initializer or `outer_scope`), here and in every subgraph against what its node
  // sees, with no cycles. libonnx's converter dereferences what it looks up.
  void check_references(const std::vector<std::string>& outer_scope = {}) const;
  // Names this graph (and its subgraphs) read but do not define: outer-scope references.
  std::vector<std::string> free_variables() const;
  // Drops nodes none of whose outputs the graph outputs need, then initializers nothing
  // reads (graph inputs stay: they are the graph's interface). Returns the nodes removed.
  size_t remove_unused();
};

// Values a node reads: its inputs, then what its subgraphs take from enclosing scopes.
std::vector<std::string> node_reads(const Node& node);
// How many times each value is read in `g`: node inputs, subgraph references and graph
// outputs (what graph rewrites check before they remove a value).
std::unordered_map<std::string, int> value_reads(const Graph& g);

// A copy of `g` that shares no subgraph with it (a plain copy shares them through the
// attributes' pointers), for callers that rewrite the copy's subgraphs.
std::shared_ptr<Graph> deep_copy(const Graph& g);

// Every read of a value in `g` (node inputs, subgraph references, graph outputs) whose
// name `rename` maps now reads the new name. Producers are not renamed.
void rename_reads(Graph& g, const std::map<std::string, std::string>& rename);

struct OpsetId {
  std::string domain;
  int64_t version = 0;
};

// ONNX's TrainingInfoProto: a training algorithm stored next to the inference graph.
struct TrainingInfo {
  // Computes initial values; no inputs. Empty graph: nothing is initialised.
  std::shared_ptr<Graph> initialization = std::make_shared<Graph>();
  // One training step, run as the inference graph followed by these nodes.
  std::shared_ptr<Graph> algorithm = std::make_shared<Graph>();
  // (initializer, output): the output becomes the initializer's value.
  std::vector<std::pair<std::string, std::string>> initialization_binding;
  std::vector<std::pair<std::string, std::string>> update_binding;
};

struct Model {
  int64_t ir_version = 8;
  std::vector<OpsetId> opset_import;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();
  // Copies of a Model share these graphs: code that changes one copies it first.
  std::vector<TrainingInfo> training_info;
  std::string extra;  // serialized ModelProto holding the fields not above (functions,
                      // fields newer than this protobuf)
  std::string path;   // file it was loaded from, for messages; "" when built in memory

  // The model as error messages name it: its file, or "model".
  std::string name_for_errors() const { return path.empty() ? "model" : path; }

  // Opset version imported for `domain` ("" and "ai.onnx" are the same); 0 when absent.
  int64_t opset(const std::string& domain) const;
  void set_opset(const std::string& domain, int64_t version);
};

}  // namespace onyx::ir
