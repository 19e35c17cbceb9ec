// The expression DAG behind np::Array, and its lowering to an ONNX model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::np {

struct Expr {
  std::string op;  // "" for a leaf
  std::vector<ir::Attribute> attrs;
  std::vector<std::shared_ptr<Expr>> inputs;
  Tensor value;          // a leaf's data, or a node's computed result (cached)
  int placeholder = -1;  // the argument index of a traced function's input
  ir::TypeInfo type;     // a placeholder's type
};

// A model computing `outputs` (named "out0", ...): leaves become initializers,
// placeholders graph inputs named "arg<i>", computed values constants.
// `names`, when given, receives the graph value each expression became.
ir::Model lower(const std::vector<std::shared_ptr<Expr>>& outputs,
                std::map<const Expr*, std::string>* names = nullptr);

}  // namespace onyx::np
