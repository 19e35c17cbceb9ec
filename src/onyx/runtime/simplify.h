// Graph simplifications that keep a model standard ONNX at its own opsets: what the session
// runs and what `onyx optimize` writes. Each returns `graph` itself when nothing changes,
// and never touches the graph's inputs or outputs (a session indexes them).
#pragma once

#include <memory>

#include "onyx/ir/graph.h"
#include "onyx/runtime/passes.h"

namespace onyx::runtime {

// Removes nodes that compute their input unchanged: Identity, Dropout in inference (no mask
// read), Transpose by the identity permutation, Cast to the input's own type, Reshape to the
// input's own static shape; a Transpose of a Transpose becomes one, and so does a Reshape of
// a Reshape.
std::shared_ptr<const ir::Graph> eliminate_no_ops(std::shared_ptr<const ir::Graph> graph,
                                                  PassContext& ctx);

// Evaluates, once, every node whose inputs are all constants (initializers that cannot be
// fed, Constant nodes, Shape and Size of values whose shape is static) and stores its
// outputs as initializers. Random ops, ops with subgraphs and outputs much larger than
// their inputs (an Expand of a scalar) stay as nodes.
std::shared_ptr<const ir::Graph> fold_constants(std::shared_ptr<const ir::Graph> graph,
                                                PassContext& ctx);

// An inference-mode BatchNormalization that is the only reader of a Conv with constant
// float32 weights is folded into the Conv's weights and bias.
std::shared_ptr<const ir::Graph> fold_conv_batchnorm(std::shared_ptr<const ir::Graph> graph,
                                                     PassContext& ctx);

}  // namespace onyx::runtime
