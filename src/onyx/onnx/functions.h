// Function expansion: an op whose ONNX schema defines a function body can run as that
// body when onyx has no native kernel for it (e.g. Celu, MeanVarianceNormalization,
// the _expanded backend cases' ops).
#pragma once

#include <functional>
#include <memory>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

using HasKernel = std::function<bool(const ir::Node& node)>;

// Returns `graph` with every node that has no kernel, and whose schema at the model's
// opset has a (possibly context-dependent) function body, replaced by that body,
// recursively and inside subgraphs too. Nodes that cannot be expanded are kept as they
// are, so the planner reports them. Returns the same graph when nothing changes.
std::shared_ptr<const ir::Graph> expand_functions(std::shared_ptr<const ir::Graph> graph,
                                                  const ir::Model& model,
                                                  const HasKernel& has_kernel);

// True when the op's schema at `opset` has a function body onyx could expand.
bool has_function_body(const std::string& domain, const std::string& op_type, int64_t opset);

}  // namespace onyx::onnx_io
