// The vector-Jacobian-product builder: appends to a graph the nodes that compute
// gradients of some of its values with respect to others, rule by rule in reverse
// topological order, accumulating where a value feeds several nodes.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::autodiff {

struct VjpSpec {
  std::vector<std::string> ys;     // values to differentiate
  std::vector<std::string> seeds;  // the gradient arriving at each y (names in the graph)
  std::vector<std::string> wrt;    // values to differentiate with respect to
  std::vector<std::string> names;  // name for each wrt value's gradient
};

// Appends the backward nodes to model.graph (first rewriting RNN, GRU, LSTM, Loop, Scan and
// GridSample nodes into primitive ops: see unroll.h); each names[i] becomes a value in the
// graph (zeros when no path leads from wrt[i] to a y). Returns, per wrt value, whether any
// gradient reached it. Throws Unsupported naming every node on a path that has no
// gradient rule.
std::vector<bool> append_vjp(ir::Model& model, const VjpSpec& spec);

// append_vjp on a model already rewritten for gradients (rewrite_for_gradients), with
// `types` covering its values: for builders that carry the types they inferred.
std::vector<bool> append_vjp_typed(ir::Model& model, const VjpSpec& spec,
                                   const std::unordered_map<std::string, ir::TypeInfo>& types);

// A node that lies on a differentiation path and has no gradient rule at the model's opset.
struct MissingRule {
  std::string node;  // its description: "node 'conv1' (Conv)"
  std::string reason;
};
// Nodes between `wrt` and `ys` without rules, all of them (for reports).
std::vector<MissingRule> missing_rules(const ir::Model& model, const std::vector<std::string>& ys,
                                       const std::vector<std::string>& wrt);

struct GradOptions {
  std::vector<std::string> wrt;  // default: every floating-point initializer
  int64_t opset = 0;             // 0: the model's own, raised to 17 when a rule needs it
                                 // (see `note`); else converted to this first
  // Told what the build decided by itself (the opset it raised, and why).
  std::function<void(const std::string&)> note;
};

// `onyx grad`: the model's inputs plus a seed input "<Y>_grad" per floating-point output
// Y; outputs: the model's outputs, then "<X>_grad" for each X in wrt.
ir::Model build_gradient_model(const ir::Model& model, const GradOptions& options);

// Replaces every ai.onnx.preview.training Gradient node by the gradient subgraph it
// stands for (seeded with ones). Returns whether anything changed.
bool lower_gradient_ops(ir::Model& model);

}  // namespace onyx::autodiff
