// A model's graph in Graphviz DOT, for onyx draw and np::Array::to_dot: nodes as boxes
// labelled with op and name, values as edges labelled with their types, inputs and
// outputs as ellipses.
#pragma once

#include <string>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

std::string to_dot(const ir::Model& model);

// The DOT text laid out and rendered as SVG by Graphviz's library (dot layout).
std::string dot_to_svg(const std::string& dot);

}  // namespace onyx::onnx_io
