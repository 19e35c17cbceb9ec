// onyx inspect: what a model is made of and what it costs: inputs and outputs, an op
// histogram, parameters, multiply-accumulates and FLOPs per node, activation memory.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::tools {

struct NodeCost {
  std::string node;  // its description: "node 'conv1' (Conv)"
  std::string op_type;
  int64_t macs = 0;   // multiply-accumulates (Conv, Gemm, MatMul, ...)
  int64_t flops = 0;  // 2 per MAC, 1 per element for elementwise work
  bool known = true;  // false when a shape it needs could not be inferred
};

struct Inspection {
  std::vector<ir::ValueInfo> inputs, outputs;
  std::map<std::string, int64_t> op_counts;
  int64_t parameters = 0, parameter_bytes = 0;  // floating-point initializers
  std::vector<NodeCost> nodes;
  int64_t macs = 0, flops = 0;
  // Bytes of every value nodes produce, and the most alive at once in graph order (a
  // value lives from its producer to its last reader).
  int64_t activation_bytes = 0, peak_activation_bytes = 0;
};

// Symbolic dimensions of the inputs (a batch "N") are taken as `batch`.
Inspection inspect(const ir::Model& model, int64_t batch = 1);

}  // namespace onyx::tools
