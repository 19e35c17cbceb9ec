#include "onyx/runtime/static_shapes.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>

namespace onyx::runtime {

namespace {

using In = std::vector<const StaticType*>;  // per input; null when unknown or omitted

struct RuleArgs {
  const ir::Node& node;
  const In& in;
  const ir::Graph& graph;
  // The constant value of input i (initializer that cannot be fed, or Constant node).
  std::optional<Tensor> constant(size_t i) const {
    if (!node.has_input(i) || graph.find_input(node.inputs[i])) return std::nullopt;
    return graph.constant_value(node.inputs[i]);
  }
};

using Rule = std::function<std::optional<StaticType>(const RuleArgs&)>;

std::optional<int64_t> axis_in(int64_t axis, size_t rank) {
  auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return std::nullopt;
  return axis < 0 ? axis + r : axis;
}

std::optional<std::vector<int64_t>> ints_of(const std::optional<Tensor>& t) {
  if (!t || t->rank() > 1) return std::nullopt;
  if (t->dtype() == DType::Int64)
    return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  if (t->dtype() == DType::Int32)
    return std::vector<int64_t>(t->data<int32_t>(), t->data<int32_t>() + t->numel());
  return std::nullopt;
}

std::optional<StaticType> same_as_first(const RuleArgs& a) {
  if (a.in.empty() || !a.in[0]) return std::nullopt;
  return *a.in[0];
}

// NumPy broadcasting of every present input; the element type of input `typed_by` or a
// fixed one (comparisons give bool).
Rule broadcast(size_t typed_by, DType fixed = DType::Undefined) {
  return [=](const RuleArgs& a) -> std::optional<StaticType> {
    if (a.in.empty() || typed_by >= a.in.size()) return std::nullopt;
    Shape s;
    for (const StaticType* t : a.in) {
      if (!t || !broadcast_shapes(s, t->shape, &s)) return std::nullopt;
    }
    return StaticType{fixed != DType::Undefined ? fixed : a.in[typed_by]->dtype, s};
  };
}

std::optional<StaticType> cast(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  return StaticType{static_cast<DType>(a.node.attr_int("to", 0)), a.in[0]->shape};
}

std::optional<StaticType> matmul(const RuleArgs& a) {
  if (a.in.size() != 2 || !a.in[0] || !a.in[1]) return std::nullopt;
  Shape x = a.in[0]->shape, y = a.in[1]->shape;
  if (x.empty() || y.empty()) return std::nullopt;
  bool xv = x.size() == 1, yv = y.size() == 1;
  if (xv) x.insert(x.begin(), 1);
  if (yv) y.push_back(1);
  if (x.back() != y[y.size() - 2]) return std::nullopt;
  Shape batch;
  if (!broadcast_shapes(Shape(x.begin(), x.end() - 2), Shape(y.begin(), y.end() - 2), &batch))
    return std::nullopt;
  if (!xv) batch.push_back(x[x.size() - 2]);
  if (!yv) batch.push_back(y.back());
  return StaticType{a.in[0]->dtype, batch};
}

std::optional<StaticType> gemm(const RuleArgs& a) {
  if (a.in.size() < 2 || !a.in[0] || !a.in[1] || a.in[0]->shape.size() != 2 ||
      a.in[1]->shape.size() != 2)
    return std::nullopt;
  int64_t m = a.node.attr_int("transA", 0) ? a.in[0]->shape[1] : a.in[0]->shape[0];
  int64_t n = a.node.attr_int("transB", 0) ? a.in[1]->shape[0] : a.in[1]->shape[1];
  return StaticType{a.in[0]->dtype, {m, n}};
}

std::optional<StaticType> transpose(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  const Shape& s = a.in[0]->shape;
  std::vector<int64_t> perm = a.node.attr_ints("perm", {});
  if (!a.node.has_attr("perm")) {
    for (size_t i = s.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  }
  if (perm.size() != s.size()) return std::nullopt;
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(s.size())) return std::nullopt;
    out.push_back(s[static_cast<size_t>(p)]);
  }
  return StaticType{a.in[0]->dtype, out};
}

std::optional<StaticType> reshape(const RuleArgs& a) {
  std::optional<std::vector<int64_t>> target = ints_of(a.constant(1));
  if (!a.in[0] || !target) return std::nullopt;
  std::optional<Shape> out =
      reshaped_shape(a.in[0]->shape, *target, a.node.attr_int("allowzero", 0) != 0);
  if (!out) return std::nullopt;
  return StaticType{a.in[0]->dtype, *out};
}

std::optional<StaticType> flatten(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  const Shape& s = a.in[0]->shape;
  int64_t axis = a.node.attr_int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(s.size());
  if (axis < 0 || axis > static_cast<int64_t>(s.size())) return std::nullopt;
  int64_t lead = 1, rest = 1;
  for (size_t i = 0; i < s.size(); ++i) (static_cast<int64_t>(i) < axis ? lead : rest) *= s[i];
  return StaticType{a.in[0]->dtype, {lead, rest}};
}

// Squeeze and Unsqueeze: axes in an attribute before opset 13, in input 1 from it.
std::optional<std::vector<int64_t>> axes_of(const RuleArgs& a) {
  if (a.node.has_attr("axes")) return a.node.attr_ints("axes", {});
  if (a.node.inputs.size() > 1) return ints_of(a.constant(1));
  return std::vector<int64_t>{};
}

std::optional<StaticType> unsqueeze(const RuleArgs& a) {
  std::optional<std::vector<int64_t>> axes = axes_of(a);
  if (!a.in[0] || !axes || axes->empty()) return std::nullopt;
  size_t rank = a.in[0]->shape.size() + axes->size();
  std::vector<bool> inserted(rank, false);
  for (int64_t ax : *axes) {
    std::optional<int64_t> k = axis_in(ax, rank);
    if (!k || inserted[static_cast<size_t>(*k)]) return std::nullopt;
    inserted[static_cast<size_t>(*k)] = true;
  }
  Shape out;
  size_t next = 0;
  for (size_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : a.in[0]->shape[next++]);
  return StaticType{a.in[0]->dtype, out};
}

std::optional<StaticType> squeeze(const RuleArgs& a) {
  std::optional<std::vector<int64_t>> axes = axes_of(a);
  if (!a.in[0] || !axes) return std::nullopt;
  const Shape& s = a.in[0]->shape;
  std::vector<bool> drop(s.size(), axes->empty());
  if (axes->empty()) {
    for (size_t i = 0; i < s.size(); ++i) drop[i] = s[i] == 1;
  }
  for (int64_t ax : *axes) {
    std::optional<int64_t> k = axis_in(ax, s.size());
    if (!k || s[static_cast<size_t>(*k)] != 1) return std::nullopt;
    drop[static_cast<size_t>(*k)] = true;
  }
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!drop[i]) out.push_back(s[i]);
  }
  return StaticType{a.in[0]->dtype, out};
}

std::optional<StaticType> shape(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  auto r = static_cast<int64_t>(a.in[0]->shape.size());
  auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
  int64_t start = clamp(a.node.attr_int("start", 0)), end = clamp(a.node.attr_int("end", r));
  return StaticType{DType::Int64, {std::max<int64_t>(0, end - start)}};
}

std::optional<StaticType> size(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  return StaticType{DType::Int64, {}};
}

std::optional<StaticType> concat(const RuleArgs& a) {
  if (a.in.empty() || !a.in[0]) return std::nullopt;
  Shape out = a.in[0]->shape;
  std::optional<int64_t> axis = axis_in(a.node.attr_int("axis", 0), out.size());
  if (!axis) return std::nullopt;
  auto k = static_cast<size_t>(*axis);
  out[k] = 0;
  for (const StaticType* t : a.in) {
    if (!t || t->shape.size() != out.size()) return std::nullopt;
    for (size_t d = 0; d < out.size(); ++d) {
      if (d != k && t->shape[d] != out[d]) return std::nullopt;
    }
    out[k] += t->shape[k];
  }
  return StaticType{a.in[0]->dtype, out};
}

std::optional<StaticType> gather(const RuleArgs& a) {
  if (a.in.size() != 2 || !a.in[0] || !a.in[1]) return std::nullopt;
  const Shape& s = a.in[0]->shape;
  std::optional<int64_t> axis = axis_in(a.node.attr_int("axis", 0), s.size());
  if (!axis) return std::nullopt;
  Shape out(s.begin(), s.begin() + *axis);
  out.insert(out.end(), a.in[1]->shape.begin(), a.in[1]->shape.end());
  out.insert(out.end(), s.begin() + *axis + 1, s.end());
  return StaticType{a.in[0]->dtype, out};
}

// Slice with constant starts, ends, axes and steps (inputs from opset 10, attributes before).
std::optional<StaticType> slice(const RuleArgs& a) {
  if (!a.in[0]) return std::nullopt;
  Shape out = a.in[0]->shape;
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (a.node.inputs.size() == 1) {
    starts = a.node.attr_ints("starts", {});
    ends = a.node.attr_ints("ends", {});
    axes = a.node.attr_ints("axes", {});
  } else {
    starts = ints_of(a.constant(1));
    ends = ints_of(a.constant(2));
    axes = a.node.has_input(3) ? ints_of(a.constant(3)) : std::vector<int64_t>{};
    steps = a.node.has_input(4) ? ints_of(a.constant(4)) : std::vector<int64_t>{};
  }
  if (!starts || !ends || !axes || starts->size() != ends->size()) return std::nullopt;
  if (axes->empty()) {
    for (size_t i = 0; i < starts->size(); ++i) axes->push_back(static_cast<int64_t>(i));
  }
  if (!steps || steps->empty()) steps = std::vector<int64_t>(starts->size(), 1);
  if (axes->size() != starts->size() || steps->size() != starts->size()) return std::nullopt;
  for (size_t i = 0; i < starts->size(); ++i) {
    std::optional<int64_t> ax = axis_in((*axes)[i], out.size());
    int64_t step = (*steps)[i];
    if (!ax || step == 0) return std::nullopt;
    int64_t dim = a.in[0]->shape[static_cast<size_t>(*ax)];
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0) v += dim;
      return std::clamp(v, lo, hi);
    };
    int64_t b = step > 0 ? clamp((*starts)[i], 0, dim) : clamp((*starts)[i], 0, dim - 1);
    int64_t e = step > 0 ? clamp((*ends)[i], 0, dim) : clamp((*ends)[i], -1, dim - 1);
    int64_t n = step > 0 ? (e - b + step - 1) / step : (b - e - step - 1) / -step;
    out[static_cast<size_t>(*ax)] = std::max<int64_t>(0, n);
  }
  return StaticType{a.in[0]->dtype, out};
}

struct Entry {
  std::string_view op;
  Rule rule;
};

// Ops whose first output has the first input's type and shape.
constexpr std::string_view kSameShape[] = {"Relu",
                                           "LeakyRelu",
                                           "Sigmoid",
                                           "Tanh",
                                           "Erf",
                                           "Sqrt",
                                           "Exp",
                                           "Log",
                                           "Neg",
                                           "Abs",
                                           "Reciprocal",
                                           "Softmax",
                                           "LogSoftmax",
                                           "Identity",
                                           "Dropout",
                                           "Gelu",
                                           "Elu",
                                           "Selu",
                                           "HardSigmoid",
                                           "HardSwish",
                                           "Softplus",
                                           "Clip",
                                           "LayerNormalization",
                                           "BatchNormalization",
                                           "InstanceNormalization",
                                           "LRN",
                                           "Floor",
                                           "Ceil",
                                           "Round",
                                           "Sign",
                                           "Not",
                                           "Cos",
                                           "Sin",
                                           "Mish",
                                           "PRelu"};

const std::vector<Entry>& rules() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> t;
    for (std::string_view op : kSameShape) t.push_back({op, same_as_first});
    for (std::string_view op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean"})
      t.push_back({op, broadcast(0)});
    for (std::string_view op :
         {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"})
      t.push_back({op, broadcast(0, DType::Bool)});
    t.push_back({"Where", broadcast(1)});
    t.push_back({"Cast", cast});
    t.push_back({"MatMul", matmul});
    t.push_back({"Gemm", gemm});
    t.push_back({"Transpose", transpose});
    t.push_back({"Reshape", reshape});
    t.push_back({"Flatten", flatten});
    t.push_back({"Unsqueeze", unsqueeze});
    t.push_back({"Squeeze", squeeze});
    t.push_back({"Shape", shape});
    t.push_back({"Size", size});
    t.push_back({"Concat", concat});
    t.push_back({"Gather", gather});
    t.push_back({"Slice", slice});
    return t;
  }();
  return table;
}

const Rule* rule_for(const ir::Node& n) {
  if (!n.domain.empty()) return nullptr;
  for (const Entry& e : rules()) {
    if (e.op == n.op_type) return &e.rule;
  }
  return nullptr;
}

std::optional<StaticType> static_of(const ir::TypeInfo& t) {
  if (t.kind != ir::TypeInfo::Kind::Tensor || t.elem == DType::Undefined || !t.shape)
    return std::nullopt;
  StaticType s{t.elem, {}};
  for (const ir::Dim& d : *t.shape) {
    if (!d.value || *d.value < 0) return std::nullopt;
    s.shape.push_back(*d.value);
  }
  return s;
}

}  // namespace

StaticTypes static_types(const ir::Graph& g) {
  StaticTypes types;
  for (const auto& in : g.inputs) {
    // An input with an initializer may be fed any value of its declared type.
    if (std::optional<StaticType> s = static_of(in.type)) types[in.name] = *s;
  }
  for (const auto& init : g.initializers) {
    if (!g.find_input(init.name)) types[init.name] = {init.value.dtype(), init.value.shape()};
  }
  std::vector<size_t> order;
  try {
    order = g.topological_order();
  } catch (const Error&) {
    return types;  // the plan reports the cycle or the missing value
  }
  for (size_t i : order) {
    const ir::Node& n = g.nodes[i];
    if (n.outputs.empty() || n.outputs[0].empty()) continue;
    if (n.domain.empty() && n.op_type == "Constant") {
      if (std::optional<Tensor> v = g.constant_value(n.outputs[0]))
        types[n.outputs[0]] = {v->dtype(), v->shape()};
      continue;
    }
    const Rule* rule = rule_for(n);
    if (!rule) continue;
    In in;
    for (const auto& v : n.inputs) {
      auto it = v.empty() ? types.end() : types.find(v);
      in.push_back(it == types.end() ? nullptr : &it->second);
    }
    if (std::optional<StaticType> t = (*rule)({n, in, g})) types[n.outputs[0]] = *t;
  }
  return types;
}

}  // namespace onyx::runtime
