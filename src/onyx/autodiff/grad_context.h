// GradContext: what a gradient rule sees of one forward node, and the small builder it
// emits backward nodes with. The vocabulary follows PyTorch's derivatives.yaml and
// onnxruntime's gradient builders: x(i) (forward input), y(i) (forward output), dy(i)
// (gradient arriving at output i), needs(i), and set_dx(i, ...) (gradient of input i).
// Broadcast reduction, absent output gradients and opset differences are handled here,
// once, so that rules stay short.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onyx/autodiff/needs_opset.h"
#include "onyx/ir/builder.h"
#include "onyx/ir/graph.h"

namespace onyx::autodiff {

using Types = std::unordered_map<std::string, ir::TypeInfo>;

// A tensor of shape `shape` (an int64 value) filled with `v`, of element type `t` (float
// when Undefined). ConstantOfShape, not Mul by 0, which would turn inf into NaN.
std::string fill(ir::GraphBuilder& b, const std::string& shape, double v, DType t);

// Unsqueeze in the form opset `opset` takes: axes an attribute before 13, an input after.
std::string unsqueeze(ir::GraphBuilder& b, const std::string& v, const std::vector<int64_t>& axes,
                      int64_t opset);

// first, first + 1, ..., last - 1: axis lists.
std::vector<int64_t> axes_range(int64_t first, int64_t last);

class GradContext {
 public:
  GradContext(ir::Graph& graph, ir::GraphBuilder& builder, size_t node_index, int64_t opset,
              const Types& types, std::vector<std::string> dy, std::vector<bool> needs);

  // A copy of the forward node: rules emit nodes into the same graph, which may move it.
  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  size_t num_inputs() const { return node().inputs.size(); }
  bool has_x(size_t i) const { return node().has_input(i); }
  const std::string& x(size_t i) const { return node().input(i); }
  // Forward output i; an output the forward node leaves out (MaxPool's Indices, Dropout's
  // mask) is added to it under a fresh name, so rules can ask for what they need.
  std::string y(size_t i);
  // Changes the forward node itself, for rules whose backward pass needs the forward node
  // to keep more than it does (Loop's per-iteration state); node() follows.
  template <typename F>
  void edit_node(F&& f) {
    f(graph_.nodes[node_index_]);
    node_ = graph_.nodes[node_index_];
  }
  // Gradient arriving at output i: zeros shaped like y(i) when none does.
  std::string dy(size_t i);
  bool has_dy(size_t i) const { return i < dy_.size() && !dy_[i].empty(); }
  bool needs(size_t i) const { return i < needs_.size() && needs_[i]; }

  // The gradient of input i: `g` has x(i)'s shape ...
  void set_dx(size_t i, const std::string& g);
  // ... or the shape of output 0, a broadcast of x(i)'s (NumPy rules); it is summed back
  // to x(i)'s shape.
  void set_dx_broadcast(size_t i, const std::string& g);
  const std::vector<std::string>& dx() const { return dx_; }

  // Values of this scope the node's subgraphs read and that need a gradient (If's
  // branches): a rule sets theirs by name. `model` is the model being differentiated.
  void set_outer(std::vector<std::string> outer, const ir::Model* model) {
    outer_ = std::move(outer);
    model_ = model;
  }
  const std::vector<std::string>& outer() const { return outer_; }
  const ir::Model& model() const { return *model_; }
  const Types& types() const { return types_; }
  void set_outer_dx(const std::string& value, const std::string& g) {
    outer_dx_.emplace_back(value, g);
  }
  const std::vector<std::pair<std::string, std::string>>& outer_dx() const { return outer_dx_; }

  // Emitting nodes. Names are fresh; attributes come from ir::attr().
  std::string op(const std::string& op_type, const std::vector<std::string>& inputs,
                 std::vector<ir::Attribute> attrs = {});
  std::vector<std::string> ops(const std::string& op_type, const std::vector<std::string>& inputs,
                               std::vector<ir::Attribute> attrs, size_t num_outputs);
  std::string add(const std::string& a, const std::string& b) { return op("Add", {a, b}); }
  std::string sub(const std::string& a, const std::string& b) { return op("Sub", {a, b}); }
  std::string mul(const std::string& a, const std::string& b) { return op("Mul", {a, b}); }
  std::string div(const std::string& a, const std::string& b) { return op("Div", {a, b}); }
  std::string neg(const std::string& a) { return op("Neg", {a}); }

  // A scalar constant of `like`'s element type.
  std::string scalar(double v, const std::string& like);
  // A name not used in the graph yet, derived from `base`.
  std::string unique(const std::string& base) { return b_.unique(base); }
  // A 1-D int64 constant.
  std::string ints(const std::vector<int64_t>& v);
  // A 1-D float constant (Resize's scales and roi).
  std::string floats(const std::vector<float>& v);
  // Any constant tensor.
  std::string constant(const Tensor& v);
  std::string shape(const std::string& v) { return op("Shape", {v}); }
  std::string zeros_like(const std::string& v);
  // A tensor of shape `shape` (an int64 value) filled with `v`, in `like`'s element type.
  std::string fill(const std::string& shape, double v, const std::string& like) {
    return autodiff::fill(b_, shape, v, dtype(like));
  }
  // `v` cast to `like`'s element type (`fallback` when inference could not type `like`).
  std::string as_type_of(const std::string& v, const std::string& like,
                         DType fallback = DType::Float32);
  // OneHot of `indices` over `depth` (an int64 value) along `axis`: 1 where an index points,
  // 0 elsewhere, in `like`'s element type.
  std::string one_hot(const std::string& indices, const std::string& depth, int64_t axis,
                      const std::string& like);
  // Opset-aware forms of the ops whose axes moved from attribute to input.
  std::string reduce_sum(const std::string& v, const std::vector<int64_t>& axes, bool keepdims);
  std::string reduce(const std::string& op_type, const std::string& v,
                     const std::vector<int64_t>& axes, bool keepdims);
  std::string unsqueeze(const std::string& v, const std::vector<int64_t>& axes);
  std::string squeeze(const std::string& v, const std::vector<int64_t>& axes);
  // Sums `g` (a broadcast of `like`'s shape, and of the same shape as the forward value
  // `g_like`, whose static shape is known where g's is not) back to `like`'s shape.
  std::string reduce_to_shape_of(const std::string& g, const std::string& like,
                                 const std::string& g_like) {
    return reduce_to(g, dims(g_like), like);
  }
  // The same with g's dimensions given (-1 where unknown; nullopt when even the rank is).
  std::string reduce_to(const std::string& g, const std::optional<std::vector<int64_t>>& g_dims,
                        const std::string& like);
  // An int64 tensor shaped like `like` holding each element's flat (row-major) index:
  // gathering from it with a forward op's own indices says where each output came from.
  std::string index_grid(const std::string& like);
  // Zeros shaped like `like` with `g` added at the flat indices `idx` (shaped like g);
  // repeated indices accumulate (opset 16) unless `unique_indices` says none repeat.
  std::string scatter_add_flat(const std::string& idx, const std::string& g,
                               const std::string& like, bool unique_indices = false);
  // Transposes the last two axes (rank known statically).
  std::string transpose_last2(const std::string& v);

  // The value of `v` when it is an initializer or a Constant node's output.
  std::optional<Tensor> constant_value(const std::string& v) const;
  // Static facts from shape inference; nullopt when unknown.
  DType dtype(const std::string& v) const;
  std::optional<int64_t> rank(const std::string& v) const;
  // Dimensions. One inference could not fix is negative: -1 when anonymous, and the same
  // value below -1 for every dimension named by the same symbol ("batch"), so that equal
  // values mean equal sizes.
  std::optional<std::vector<int64_t>> dims(const std::string& v) const;

  // An error about this node, prefixed with its description.
  template <typename... Args>
  [[noreturn]] void fail(const Args&... args) const;

 private:
  ir::Graph& graph_;
  ir::GraphBuilder& b_;
  size_t node_index_;
  ir::Node node_;
  int64_t opset_;
  const Types& types_;
  std::vector<std::string> dy_;
  std::vector<bool> needs_;
  std::vector<std::string> dx_;
  std::vector<std::string> outer_;
  const ir::Model* model_ = nullptr;
  std::vector<std::pair<std::string, std::string>> outer_dx_;
  mutable std::unordered_map<std::string, int64_t> symbols_;  // dim_param -> code < -1
};

template <typename... Args>
void GradContext::fail(const Args&... args) const {
  onyx::fail(ErrorKind::Unsupported, node().describe(), ": gradient: ", args...);
}

}  // namespace onyx::autodiff
