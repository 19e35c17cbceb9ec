#include "onyx/autodiff/grad_context.h"

#include <numeric>

#include "onyx/core/half.h"

namespace onyx::autodiff {

using ir::attr;

GradContext::GradContext(ir::Graph& graph, ir::GraphBuilder& builder, size_t node_index,
                         int64_t opset, const Types& types, std::vector<std::string> dy,
                         std::vector<bool> needs)
    : graph_(graph),
      b_(builder),
      node_index_(node_index),
      node_(graph.nodes[node_index]),
      opset_(opset),
      types_(types),
      dy_(std::move(dy)),
      needs_(std::move(needs)),
      dx_(graph.nodes[node_index].inputs.size()) {}

std::string GradContext::y(size_t i) {
  ir::Node& n = graph_.nodes[node_index_];
  if (n.outputs.size() <= i) n.outputs.resize(i + 1);
  if (n.outputs[i].empty()) {
    n.outputs[i] = b_.unique((n.name.empty() ? n.op_type : n.name) + "_out" + std::to_string(i));
  }
  node_.outputs = n.outputs;
  return n.outputs[i];
}

std::string GradContext::dy(size_t i) {
  if (has_dy(i)) return dy_[i];
  if (dy_.size() <= i) dy_.resize(i + 1);
  dy_[i] = zeros_like(y(i));
  return dy_[i];
}

void GradContext::set_dx(size_t i, const std::string& g) {
  if (i < dx_.size() && needs(i)) dx_[i] = g;
}

void GradContext::set_dx_broadcast(size_t i, const std::string& g) {
  if (i < dx_.size() && needs(i)) dx_[i] = reduce_to_shape_of(g, x(i), node().outputs[0]);
}

std::string GradContext::op(const std::string& op_type, const std::vector<std::string>& inputs,
                            std::vector<ir::Attribute> attrs) {
  return b_.op(op_type, inputs, std::move(attrs));
}

std::vector<std::string> GradContext::ops(const std::string& op_type,
                                          const std::vector<std::string>& inputs,
                                          std::vector<ir::Attribute> attrs, size_t num_outputs) {
  return b_.add(op_type, inputs, std::move(attrs), num_outputs);
}

std::string GradContext::scalar(double v, const std::string& like) {
  DType t = dtype(like);
  switch (t) {
    case DType::Float64:
      return b_.constant("c", Tensor::scalar<double>(v));
    case DType::Float16:
      return b_.constant("c", Tensor::scalar<Float16>(Float16(static_cast<float>(v))));
    case DType::BFloat16:
      return b_.constant("c", Tensor::scalar<BFloat16>(BFloat16(static_cast<float>(v))));
    case DType::Float32:
    case DType::Undefined:  // unknown: float is by far the likeliest
      return b_.constant("c", Tensor::scalar<float>(static_cast<float>(v)));
    default:
      fail("no gradient for element type ", dtype_name(t), " ('", like, "')");
  }
}

std::string GradContext::ints(const std::vector<int64_t>& v) {
  return b_.constant("c", Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

std::string GradContext::constant(const Tensor& v) {
  return b_.constant("c", v);
}

std::string GradContext::floats(const std::vector<float>& v) {
  return b_.constant("c", Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v));
}

std::string fill(ir::GraphBuilder& b, const std::string& shape, double v, DType t) {
  Tensor value = t == DType::Float64 ? Tensor::from_vector<double>({1}, {v})
                                     : Tensor::from_vector<float>({1}, {static_cast<float>(v)});
  std::string z = b.op("ConstantOfShape", {shape}, {attr("value", value)});
  if (t == DType::Float16 || t == DType::BFloat16) {
    z = b.op("Cast", {z}, {attr("to", static_cast<int64_t>(t))});
  }
  return z;
}

std::string unsqueeze(ir::GraphBuilder& b, const std::string& v, const std::vector<int64_t>& axes,
                      int64_t opset) {
  if (opset < 13) return b.op("Unsqueeze", {v}, {attr("axes", axes)});
  std::string a =
      b.constant("axes", Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes));
  return b.op("Unsqueeze", {v, a});
}

std::vector<int64_t> axes_range(int64_t first, int64_t last) {
  std::vector<int64_t> v;
  for (int64_t i = first; i < last; ++i) v.push_back(i);
  return v;
}

std::string GradContext::zeros_like(const std::string& v) {
  return fill(shape(v), 0.0, v);
}

std::string GradContext::as_type_of(const std::string& v, const std::string& like, DType fallback) {
  DType t = dtype(like) == DType::Undefined ? fallback : dtype(like);
  return op("Cast", {v}, {attr("to", static_cast<int64_t>(t))});
}

std::string GradContext::reduce(const std::string& op_type, const std::string& v,
                                const std::vector<int64_t>& axes, bool keepdims) {
  // ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
  bool axes_input = op_type == "ReduceSum" ? opset_ >= 13 : opset_ >= 18;
  if (axes_input) {
    return op(op_type, {v, ints(axes)}, {attr("keepdims", static_cast<int64_t>(keepdims))});
  }
  return op(op_type, {v}, {attr("axes", axes), attr("keepdims", static_cast<int64_t>(keepdims))});
}

std::string GradContext::reduce_sum(const std::string& v, const std::vector<int64_t>& axes,
                                    bool keepdims) {
  return reduce("ReduceSum", v, axes, keepdims);
}

std::string GradContext::one_hot(const std::string& indices, const std::string& depth, int64_t axis,
                                 const std::string& like) {
  std::string values = as_type_of(floats({0, 1}), like);
  return op("OneHot", {indices, depth, values}, {attr("axis", axis)});
}

std::string GradContext::unsqueeze(const std::string& v, const std::vector<int64_t>& axes) {
  return autodiff::unsqueeze(b_, v, axes, opset_);
}

std::string GradContext::squeeze(const std::string& v, const std::vector<int64_t>& axes) {
  if (opset_ >= 13) return op("Squeeze", {v, ints(axes)});
  return op("Squeeze", {v}, {attr("axes", axes)});
}

std::string GradContext::reduce_to(const std::string& g,
                                   const std::optional<std::vector<int64_t>>& gd,
                                   const std::string& like) {
  auto ld = dims(like);
  if (gd && ld && gd->size() >= ld->size()) {
    // Static: sum the leading axes like lacks and the axes where like has 1 and g does not.
    // An axis whose size in like is unknown (and not g's own symbol) may be 1 at run time:
    // then only the dynamic form is right.
    size_t lead = gd->size() - ld->size();
    std::vector<int64_t> axes;
    bool decided = true, like_known = true;
    for (size_t a = 0; a < gd->size(); ++a) {
      if (a < lead) {
        axes.push_back(static_cast<int64_t>(a));
        continue;
      }
      int64_t l = (*ld)[a - lead], d = (*gd)[a];
      like_known = like_known && l >= 0;
      if (l == 1) {
        if (d != 1) axes.push_back(static_cast<int64_t>(a));
      } else if (l < 0 && (l == -1 || l != d)) {
        decided = false;
      }
    }
    if (decided) {
      if (axes.empty()) return g;
      std::string r = reduce_sum(g, axes, true);
      if (lead) r = op("Reshape", {r, like_known ? ints(*ld) : shape(like)});
      return r;
    }
  }
  // Dynamic: pad like's shape with leading ones to g's rank, sum every axis where it is 1
  // (summing an axis that is 1 in g too is harmless), then reshape to like's shape.
  std::string sg = shape(g), sl = shape(like);
  std::string rank_g = op("Shape", {sg}), rank_l = op("Shape", {sl});
  std::string ones = op("ConstantOfShape", {sub(rank_g, rank_l)},
                        {attr("value", Tensor::from_vector<int64_t>({1}, {1}))});
  std::string padded = op("Concat", {ones, sl}, {attr("axis", int64_t{0})});
  std::string is_one = op("Equal", {padded, ints({1})});
  std::string axes = op("Reshape", {op("NonZero", {is_one}), ints({-1})});
  std::string summed;
  require_opset(opset_, 13, node().describe() + ": gradient",
                "summing a broadcast gradient whose shapes are only known at run time");
  summed = op("ReduceSum", {g, axes},
              {attr("keepdims", int64_t{1}), attr("noop_with_empty_axes", int64_t{1})});
  return op("Reshape", {summed, sl});
}

std::string GradContext::index_grid(const std::string& like) {
  std::string n = op("Size", {like});
  std::string r = op("Range", {b_.constant("c", Tensor::scalar<int64_t>(0)), n,
                               b_.constant("c", Tensor::scalar<int64_t>(1))});
  return op("Reshape", {r, shape(like)});
}

std::string GradContext::scatter_add_flat(const std::string& idx, const std::string& g,
                                          const std::string& like, bool unique_indices) {
  if (!unique_indices) {
    require_opset(opset_, 16, node().describe() + ": gradient",
                  "scattering with ScatterElements(reduction='add')");
  }
  std::string flat_zeros = op("Reshape", {zeros_like(like), ints({-1})});
  std::string s = op("ScatterElements",
                     {flat_zeros, op("Reshape", {idx, ints({-1})}), op("Reshape", {g, ints({-1})})},
                     unique_indices ? std::vector<ir::Attribute>{attr("axis", int64_t{0})}
                                    : std::vector<ir::Attribute>{attr("axis", int64_t{0}),
                                                                 attr("reduction", "add")});
  return op("Reshape", {s, shape(like)});
}

std::string GradContext::transpose_last2(const std::string& v) {
  auto r = rank(v);
  if (!r || *r < 2) fail("rank of '", v, "' must be known and at least 2");
  std::vector<int64_t> perm(static_cast<size_t>(*r));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return op("Transpose", {v}, {attr("perm", perm)});
}

std::optional<Tensor> GradContext::constant_value(const std::string& v) const {
  return graph_.constant_value(v);
}

DType GradContext::dtype(const std::string& v) const {
  auto it = types_.find(v);
  if (it == types_.end() || it->second.kind != ir::TypeInfo::Kind::Tensor) return DType::Undefined;
  return it->second.elem;
}

std::optional<int64_t> GradContext::rank(const std::string& v) const {
  auto it = types_.find(v);
  if (it == types_.end() || !it->second.shape) return std::nullopt;
  return static_cast<int64_t>(it->second.shape->size());
}

std::optional<std::vector<int64_t>> GradContext::dims(const std::string& v) const {
  auto it = types_.find(v);
  if (it == types_.end() || !it->second.shape) return std::nullopt;
  std::vector<int64_t> d;
  for (const auto& dim : *it->second.shape) {
    if (dim.value) {
      d.push_back(*dim.value);
    } else if (dim.param.empty()) {
      d.push_back(-1);
    } else {
      auto [code, added] = symbols_.emplace(dim.param, -2 - static_cast<int64_t>(symbols_.size()));
      d.push_back(code->second);
    }
  }
  return d;
}

}  // namespace onyx::autodiff
