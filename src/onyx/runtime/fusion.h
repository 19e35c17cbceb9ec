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

}  // namespace onyx::runtime
