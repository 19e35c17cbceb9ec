// Static element types and shapes of a graph's values, found by onyx itself (not by
// libonnx's shape inference, which crashes on some models the runtime must refuse cleanly):
// a small table of rules for the ops that shape computations and no-op checks meet. A value
// is listed only when its element type and every dimension are known; a rule that cannot
// tell leaves its outputs out, which the passes read as "unknown".
#pragma once

#include <string>
#include <unordered_map>

#include "onyx/ir/graph.h"

namespace onyx::runtime {

struct StaticType {
  DType dtype = DType::Undefined;
  Shape shape;
};

using StaticTypes = std::unordered_map<std::string, StaticType>;

// From the graph's declared inputs, initializers and Constant nodes, forward through the
// nodes in topological order.
StaticTypes static_types(const ir::Graph& g);

}  // namespace onyx::runtime
