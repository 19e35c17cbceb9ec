// Graph rewrites the runtime applies to its own copy of a model before planning. The
// user's model is never changed; the rewritten graph computes the same values.
#pragma once

#include <memory>

#include "onyx/ir/graph.h"

namespace onyx::runtime {

// Folds an activation (Relu, LeakyRelu, Clip with constant bounds) that is the only reader
// of a Conv output into the Conv node, as internal attributes that the Conv kernel applies
// while its output is still in cache. Returns `graph` itself when nothing changes.
std::shared_ptr<const ir::Graph> fuse_activations(std::shared_ptr<const ir::Graph> graph,
                                                  const ir::Model& model);

// Mul(x, Sigmoid(x)) (SiLU as exporters write it), where the Sigmoid has no other reader,
// becomes the runtime's Swish: one pass over memory instead of two, and no Sigmoid output.
// Returns `graph` itself when nothing changes.
std::shared_ptr<const ir::Graph> fuse_swish(std::shared_ptr<const ir::Graph> graph);

}  // namespace onyx::runtime
