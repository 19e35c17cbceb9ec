// onyx draw: a model's graph in Graphviz DOT (nodes as boxes labelled with op and name,
// values as edges labelled with their shapes, inputs and outputs as ellipses).
#pragma once

#include <string>

#include "onyx/ir/graph.h"

namespace onyx::tools {

std::string to_dot(const ir::Model& model);

}  // namespace onyx::tools
