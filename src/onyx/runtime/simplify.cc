#include "onyx/runtime/simplify.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>
#include <unordered_set>

#include "onyx/runtime/session.h"

namespace onyx::runtime {

namespace {

bool is_fed(const ir::Graph& g, const std::string& v) {
  return g.find_input(v) != nullptr;
}

// An initializer the caller cannot replace by feeding it.
const ir::Initializer* constant_initializer(const ir::Graph& g, const std::string& v) {
  return is_fed(g, v) ? nullptr : g.find_initializer(v);
}

std::unordered_map<std::string, size_t> producers(const ir::Graph& g) {
  std::unordered_map<std::string, size_t> p;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) {
      if (!o.empty()) p[o] = i;
    }
  }
  return p;
}

bool is_graph_output(const ir::Graph& g, const std::string& v) {
  return std::any_of(g.outputs.begin(), g.outputs.end(),
                     [&](const ir::ValueInfo& o) { return o.name == v; });
}

// The graph without the nodes marked in `drop`.
std::shared_ptr<ir::Graph> without(const ir::Graph& g, std::vector<ir::Node> nodes,
                                   const std::vector<bool>& drop) {
  auto out = std::make_shared<ir::Graph>(g);
  out->nodes.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!drop[i]) out->nodes.push_back(std::move(nodes[i]));
  }
  return out;
}

// The output shape of Reshape(x of shape `in`, `target`), or nullopt when it is invalid.
std::optional<Shape> reshaped_target(const Shape& in, const Tensor& target, bool allowzero) {
  if (target.rank() != 1 || target.dtype() != DType::Int64) return std::nullopt;
  return reshaped_shape(in, target.to_int64s(), allowzero);
}

bool identity_perm(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

void set_ints(ir::Node& n, const std::string& name, const std::vector<int64_t>& v) {
  for (auto& a : n.attributes) {
    if (a.name == name) {
      a.ints = v;
      return;
    }
  }
}

// Dropout that passes its input through: not training and its mask unread.
bool inference_dropout(const ir::Node& n, const ir::Graph& g, int64_t opset,
                       std::unordered_map<std::string, int>& reads) {
  if (n.outputs.size() > 1 && !n.outputs[1].empty() && reads[n.outputs[1]] > 0) return false;
  if (opset < 7) return n.attr_int("is_test", 0) != 0;
  if (opset < 12 || !n.has_input(2)) return true;
  std::optional<int64_t> training = g.constant_int(n.inputs[2]);
  return training && *training == 0;
}

}  // namespace

std::shared_ptr<const ir::Graph> eliminate_no_ops(std::shared_ptr<const ir::Graph> graph,
                                                  PassContext& ctx) {
  const ir::Graph& g = *graph;
  const ir::Model& model = ctx.model();
  std::unordered_map<std::string, int> reads = ir::value_reads(g);
  std::unordered_map<std::string, size_t> producer = producers(g);
  std::vector<ir::Node> nodes = g.nodes;
  std::vector<bool> drop(nodes.size(), false);
  std::map<std::string, std::string> rename;
  // The node producing `v` when `v` has no other reader and the node is `op`.
  auto sole_producer = [&](const std::string& v, const char* op) -> ir::Node* {
    auto p = producer.find(v);
    if (p == producer.end() || drop[p->second] || reads[v] != 1) return nullptr;
    ir::Node& n = nodes[p->second];
    return n.domain.empty() && n.op_type == op ? &n : nullptr;
  };
  bool changed = false;
  for (size_t i = 0; i < nodes.size(); ++i) {
    ir::Node& n = nodes[i];
    if (!n.domain.empty() || n.inputs.empty() || n.outputs.empty() || n.inputs[0].empty()) continue;
    int64_t opset = model.opset("");
    bool no_op = false;
    if (n.op_type == "Identity") {
      no_op = true;
    } else if (n.op_type == "Dropout") {
      no_op = inference_dropout(n, g, opset, reads);
    } else if (n.op_type == "Transpose" && n.has_attr("perm")) {
      std::vector<int64_t> perm = n.attr_ints("perm", {});
      if (ir::Node* inner = sole_producer(n.inputs[0], "Transpose")) {
        std::vector<int64_t> p1 = inner->attr_ints("perm", {});
        if (inner->has_attr("perm") && p1.size() == perm.size()) {
          std::vector<int64_t> both(perm.size());
          bool valid = true;
          for (size_t k = 0; k < perm.size(); ++k) {
            valid &= perm[k] >= 0 && perm[k] < static_cast<int64_t>(p1.size());
            if (valid) both[k] = p1[static_cast<size_t>(perm[k])];
          }
          if (valid) {
            n.inputs[0] = inner->inputs[0];
            set_ints(n, "perm", both);
            drop[producer[inner->outputs[0]]] = true;
            perm = both;
            changed = true;
          }
        }
      }
      no_op = identity_perm(perm);
    } else if (n.op_type == "Reshape" && opset >= 5 && n.inputs.size() == 2) {
      std::optional<Tensor> target = g.constant_value(n.inputs[1]);
      bool allowzero = n.attr_int("allowzero", 0) != 0;
      if (!target) continue;
      if (ir::Node* inner = sole_producer(n.inputs[0], "Reshape")) {
        // The inner shape only matters through the element count, unless a 0 here copies
        // one of its dimensions.
        const int64_t* t = target->data<int64_t>();
        if (target->dtype() == DType::Int64 &&
            (allowzero || std::find(t, t + target->numel(), 0) == t + target->numel())) {
          n.inputs[0] = inner->inputs[0];
          drop[producer[inner->outputs[0]]] = true;
          changed = true;
        }
      }
      std::optional<Shape> in = ctx.static_shape(g, n.inputs[0]);
      std::optional<Shape> out = in ? reshaped_target(*in, *target, allowzero) : std::nullopt;
      no_op = out && *out == *in;
    } else if (n.op_type == "Cast" && opset >= 6) {
      auto t = ctx.types(g).find(n.inputs[0]);
      no_op =
          t != ctx.types(g).end() && static_cast<int64_t>(t->second.dtype) == n.attr_int("to", -1);
    }
    // A graph output keeps its producer: the session reads it by that node's output name.
    if (!no_op || is_graph_output(g, n.outputs[0])) continue;
    rename[n.outputs[0]] = n.inputs[0];
    drop[i] = true;
    changed = true;
  }
  if (!changed) return graph;
  for (auto& [from, to] : rename) {  // a no-op reading another one reads what that one read
    for (auto next = rename.find(to); next != rename.end(); next = rename.find(to))
      to = next->second;
  }
  std::shared_ptr<ir::Graph> out = without(g, std::move(nodes), drop);
  ir::rename_reads(*out, rename);
  return out;
}

namespace {

// Ops whose outputs are not a function of their inputs alone.
constexpr std::string_view kNotFoldable[] = {
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
    "Multinomial",  "Bernoulli",     "Dropout"};

// Ops whose output size comes from input values, not input sizes: folded only when the
// size they would make is known to be small (elements_made).
constexpr std::string_view kGenerators[] = {"ConstantOfShape", "Expand", "Tile",     "Range",
                                            "OneHot",          "Resize", "Upsample", "Pad",
                                            "CenterCropPad",   "EyeLike"};

// What a generator may make while folding (64 MiB of float32); whether its result is then
// stored is decided by size afterwards.
constexpr int64_t kFoldElements = 1 << 24;

bool listed(std::span<const std::string_view> ops, const std::string& op) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

int64_t product(const Tensor& t) {
  int64_t p = 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t v = static_cast<int64_t>(t.element_as_double(i));
    if (v < 0 || (v > 0 && p > kFoldElements / v + 1)) return kFoldElements + 1;
    p *= v;
  }
  return p;
}

// The element count a generator makes from constant inputs, or nullopt when it cannot be
// bounded cheaply here.
std::optional<int64_t> elements_made(const ir::Node& n, const ir::Graph& g,
                                     const std::unordered_map<std::string, Tensor>& known) {
  auto value = [&](size_t i) -> std::optional<Tensor> {
    if (!n.has_input(i)) return std::nullopt;
    auto k = known.find(n.inputs[i]);
    if (k != known.end()) return k->second;
    return g.constant_value(n.inputs[i]);
  };
  if (n.op_type == "ConstantOfShape") {
    std::optional<Tensor> s = value(0);
    return s ? std::optional<int64_t>(product(*s)) : std::nullopt;
  }
  if (n.op_type == "Expand" || n.op_type == "Tile") {
    std::optional<Tensor> x = value(0), s = value(1);
    if (!x || !s) return std::nullopt;
    int64_t p = product(*s);
    return n.op_type == "Tile" ? p * std::max<int64_t>(1, x->numel()) : std::max(p, x->numel());
  }
  return std::nullopt;
}

bool has_subgraph(const ir::Node& n) {
  return std::any_of(n.attributes.begin(), n.attributes.end(),
                     [](const ir::Attribute& a) { return a.g || !a.graphs.empty(); });
}

// Shape or Size of a value whose shape is static, computed here.
std::optional<Tensor> shape_of(const ir::Node& n, const ir::Graph& g, PassContext& ctx) {
  if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size") || n.inputs.size() != 1)
    return std::nullopt;
  std::optional<Shape> s = ctx.static_shape(g, n.inputs[0]);
  if (!s) return std::nullopt;
  if (n.op_type == "Size") {
    Tensor t = Tensor::empty(DType::Int64, {});
    t.data<int64_t>()[0] = shape_numel(*s);
    return t;
  }
  auto r = static_cast<int64_t>(s->size());
  auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
  int64_t start = clamp(n.attr_int("start", 0)), end = clamp(n.attr_int("end", r));
  Tensor t = Tensor::empty(DType::Int64, {std::max<int64_t>(0, end - start)});
  for (int64_t k = start; k < end; ++k) t.data<int64_t>()[k - start] = (*s)[k];
  return t;
}

}  // namespace

namespace {

std::shared_ptr<const ir::Graph> fold_once(std::shared_ptr<const ir::Graph> graph,
                                           PassContext& ctx) {
  const ir::Graph& g = *graph;
  std::unordered_set<std::string> constant;
  for (const auto& init : g.initializers) {
    if (!is_fed(g, init.name)) constant.insert(init.name);
  }
  std::unordered_map<std::string, Tensor> shapes;  // Shape/Size outputs computed here
  std::vector<bool> folded(g.nodes.size(), false);
  std::vector<size_t> order;
  try {
    order = g.topological_order();
  } catch (const Error&) {
    return graph;  // the plan reports the cycle or the missing value
  }
  bool any = false;
  for (size_t i : order) {
    const ir::Node& n = g.nodes[i];
    if ((!n.domain.empty() && n.domain != "ai.onnx.ml") || listed(kNotFoldable, n.op_type) ||
        has_subgraph(n) || n.outputs.empty())
      continue;
    if (std::any_of(n.outputs.begin(), n.outputs.end(),
                    [&](const std::string& o) { return is_graph_output(g, o); }))
      continue;
    bool inputs_known = std::all_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& v) {
      return v.empty() || constant.count(v);
    });
    if (!inputs_known) {
      std::optional<Tensor> s = shape_of(n, g, ctx);
      if (!s) continue;
      shapes[n.outputs[0]] = *s;
    } else if (listed(kGenerators, n.op_type)) {
      std::optional<int64_t> made = elements_made(n, g, shapes);
      if (!made || *made > kFoldElements) continue;
    }
    folded[i] = any = true;
    for (const auto& o : n.outputs) constant.insert(o);
  }
  if (!any) return graph;

  // Evaluate the folded nodes once, in a session of their own over the constants they read.
  ir::Model sub = ctx.model();
  sub.graph = std::make_shared<ir::Graph>();
  sub.training_info.clear();
  std::unordered_set<std::string> given;
  for (size_t i : order) {
    if (!folded[i]) continue;
    const ir::Node& n = g.nodes[i];
    if (shapes.count(n.outputs[0])) {
      sub.graph->initializers.push_back({n.outputs[0], shapes[n.outputs[0]], "", false});
      continue;
    }
    for (const auto& v : n.inputs) {
      const ir::Initializer* init = v.empty() ? nullptr : constant_initializer(g, v);
      if (init && given.insert(v).second) sub.graph->initializers.push_back(*init);
    }
    sub.graph->nodes.push_back(n);
    for (const auto& o : n.outputs) {
      if (!o.empty()) sub.graph->outputs.push_back({o, {}, ""});
    }
  }
  std::unordered_map<std::string, Value> values;
  for (const auto& init : sub.graph->initializers) values[init.name] = init.value;
  try {
    SessionOptions opts;
    opts.threads = 1;
    opts.optimize = false;
    Session s(sub, opts);
    std::vector<Value> outs = s.run({});
    for (size_t k = 0; k < outs.size(); ++k) values[sub.graph->outputs[k].name] = outs[k];
  } catch (const Error&) {
    return graph;  // left to fail, with the node named, when the model runs
  }

  // Values the remaining nodes read become initializers, unless they are not tensors or are
  // much larger than what made them: then their producer stays, reading its own inputs.
  std::unordered_map<std::string, size_t> producer = producers(g);
  auto bytes = [&](const std::string& v) -> size_t {
    auto it = values.find(v);
    if (it != values.end()) return it->second.is_tensor() ? it->second.tensor().nbytes() : 0;
    const ir::Initializer* init = g.find_initializer(v);
    return init ? init->value.nbytes() : 0;
  };
  std::vector<std::string> needed;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!folded[i]) {
      for (const auto& v : ir::node_reads(g.nodes[i])) needed.push_back(v);
    }
  }
  std::unordered_set<std::string> stored;
  while (!needed.empty()) {
    std::string v = std::move(needed.back());
    needed.pop_back();
    auto p = producer.find(v);
    if (p == producer.end() || !folded[p->second] || stored.count(v)) continue;
    const ir::Node& n = g.nodes[p->second];
    const Value& val = values[v];
    size_t in_bytes = 0;
    for (const auto& in : n.inputs) in_bytes += in.empty() ? 0 : bytes(in);
    if (val.is_tensor() && val.tensor().nbytes() <= std::max<size_t>(in_bytes, 1 << 20)) {
      stored.insert(v);
      continue;
    }
    folded[p->second] = false;  // kept as a node: its own inputs are needed now
    for (const auto& in : n.inputs) {
      if (!in.empty()) needed.push_back(in);
    }
  }
  auto out = std::make_shared<ir::Graph>(g);
  out->nodes.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!folded[i]) out->nodes.push_back(g.nodes[i]);
  }
  for (const auto& v : stored) out->initializers.push_back({v, values[v].tensor(), "", false});
  out->remove_unused();
  return out;
}

}  // namespace

std::shared_ptr<const ir::Graph> fold_constants(std::shared_ptr<const ir::Graph> graph,
                                                PassContext& ctx) {
  // A folded shape computation can make the shapes after it static (a Reshape to a computed
  // shape), which lets the next round fold the Shape nodes there.
  for (int round = 0; round < 8; ++round) {
    std::shared_ptr<const ir::Graph> next = fold_once(graph, ctx);
    if (next == graph) break;
    ctx.changed();
    graph = std::move(next);
  }
  return graph;
}

std::shared_ptr<const ir::Graph> fold_conv_batchnorm(std::shared_ptr<const ir::Graph> graph,
                                                     PassContext& ctx) {
  const ir::Graph& g = *graph;
  int64_t opset = ctx.model().opset("");
  std::unordered_map<std::string, int> reads = ir::value_reads(g);
  std::unordered_map<std::string, size_t> producer = producers(g);
  std::unordered_set<std::string> names;
  for (const auto& init : g.initializers) names.insert(init.name);
  for (const auto& n : g.nodes) names.insert(n.outputs.begin(), n.outputs.end());
  auto fresh = [&](const std::string& base) {
    std::string name = base;
    for (int k = 1; names.count(name); ++k) name = base + "_" + std::to_string(k);
    names.insert(name);
    return name;
  };
  auto float_const = [&](const std::string& v, int64_t numel) -> const Tensor* {
    const ir::Initializer* init = constant_initializer(g, v);
    if (!init || init->value.dtype() != DType::Float32) return nullptr;
    if (numel >= 0 && (init->value.rank() != 1 || init->value.numel() != numel)) return nullptr;
    return &init->value;
  };
  std::vector<ir::Node> nodes = g.nodes;
  std::vector<bool> drop(nodes.size(), false);
  std::vector<ir::Initializer> added;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& bn = nodes[i];
    if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.size() != 5 ||
        (opset >= 14 && bn.attr_int("training_mode", 0) != 0) ||
        (opset < 7 && bn.attr_int("is_test", 0) == 0) ||
        (opset < 9 && bn.attr_int("spatial", 1) != 1))
      continue;
    bool extra_outputs_read = false;
    for (size_t k = 1; k < bn.outputs.size(); ++k)
      extra_outputs_read |= !bn.outputs[k].empty() && reads[bn.outputs[k]] > 0;
    auto p = producer.find(bn.inputs[0]);
    if (extra_outputs_read || p == producer.end() || reads[bn.inputs[0]] != 1) continue;
    ir::Node& conv = nodes[p->second];
    if (!conv.domain.empty() || conv.op_type != "Conv" || conv.inputs.size() < 2) continue;
    const Tensor* w = float_const(conv.inputs[1], -1);
    if (!w || w->rank() < 3) continue;
    int64_t m = w->dim(0);
    const Tensor* b = conv.has_input(2) ? float_const(conv.inputs[2], m) : nullptr;
    const Tensor* scale = float_const(bn.inputs[1], m);
    const Tensor* shift = float_const(bn.inputs[2], m);
    const Tensor* mean = float_const(bn.inputs[3], m);
    const Tensor* var = float_const(bn.inputs[4], m);
    if ((conv.has_input(2) && !b) || !scale || !shift || !mean || !var) continue;
    double eps = bn.attr_float("epsilon", 1e-5f);
    Tensor nw = Tensor::empty(DType::Float32, w->shape());
    Tensor nb = Tensor::empty(DType::Float32, {m});
    int64_t per = w->numel() / m;
    for (int64_t c = 0; c < m; ++c) {
      double s = scale->data<float>()[c] / std::sqrt(double(var->data<float>()[c]) + eps);
      for (int64_t k = 0; k < per; ++k)
        nw.data<float>()[c * per + k] = static_cast<float>(w->data<float>()[c * per + k] * s);
      double bias = b ? b->data<float>()[c] : 0.0;
      nb.data<float>()[c] =
          static_cast<float>((bias - mean->data<float>()[c]) * s + shift->data<float>()[c]);
    }
    std::string wn = fresh(conv.inputs[1] + "_bn"), bname = fresh(conv.outputs[0] + "_bias");
    added.push_back({wn, nw, "", false});
    added.push_back({bname, nb, "", false});
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bname;
    conv.outputs[0] = bn.outputs[0];
    drop[i] = true;
  }
  if (added.empty()) return graph;
  std::shared_ptr<ir::Graph> out = without(g, std::move(nodes), drop);
  for (auto& init : added) out->initializers.push_back(std::move(init));
  out->remove_unused();
  return out;
}

}  // namespace onyx::runtime
