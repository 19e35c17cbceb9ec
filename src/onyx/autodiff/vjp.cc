#include "onyx/autodiff/vjp.h"

#include <algorithm>
#include <map>
#include <set>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/rules.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/version_convert.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

bool maybe_floating(const Types& types, const std::string& v) {
  auto it = types.find(v);
  if (it == types.end() || it->second.kind != ir::TypeInfo::Kind::Tensor) return true;
  return it->second.elem == DType::Undefined || is_floating(it->second.elem);
}

// Which values depend on wrt (forward) and which ys depend on (backward), in topological
// order: a node is on a path when it reads the first and writes the second.
struct Paths {
  std::vector<size_t> order;
  std::set<std::string> requires_grad;
  std::set<std::string> reaches_y;
  bool on_path(const ir::Node& n) const {
    bool in = false, out = false;
    for (const auto& i : ir::node_reads(n)) in |= requires_grad.count(i) > 0;
    // Integer outputs (Shape, ArgMax, ...) carry no gradient even when they reach a y.
    for (const auto& o : n.outputs)
      out |= !o.empty() && reaches_y.count(o) && requires_grad.count(o);
    return in && out;
  }
};

Paths find_paths(const ir::Graph& g, const Types& types, const std::vector<std::string>& ys,
                 const std::vector<std::string>& wrt) {
  Paths p;
  p.order = g.topological_order();
  p.requires_grad.insert(wrt.begin(), wrt.end());
  for (size_t idx : p.order) {
    const ir::Node& n = g.nodes[idx];
    bool any = false;
    for (const auto& i : ir::node_reads(n)) any |= p.requires_grad.count(i) > 0;
    if (!any) continue;
    for (const auto& o : n.outputs) {
      if (!o.empty() && maybe_floating(types, o)) p.requires_grad.insert(o);
    }
  }
  p.reaches_y.insert(ys.begin(), ys.end());
  for (auto it = p.order.rbegin(); it != p.order.rend(); ++it) {
    const ir::Node& n = g.nodes[*it];
    bool any = false;
    for (const auto& o : n.outputs) any |= !o.empty() && p.reaches_y.count(o);
    if (!any) continue;
    for (auto& i : ir::node_reads(n)) p.reaches_y.insert(std::move(i));
  }
  return p;
}

std::string rule_problem(const ir::Model& model, const ir::Node& n) {
  int64_t opset = model.opset(n.domain);
  if (find_rule(n.domain, n.op_type, opset)) return "";
  if (rewritten_op(n)) {  // still here: rewriting it failed
    std::string why = rewrite_problem(model, n);
    if (!why.empty()) return why;
  }
  if (find_rule(n.domain, n.op_type, kLatestOpset) || find_rule(n.domain, n.op_type, 1)) {
    return cat("no gradient rule for this op at opset ", opset);
  }
  return "no gradient rule for this op";
}

// Every node on a path without a rule at the model's opset.
std::vector<MissingRule> missing_on_paths(const ir::Model& model, const Paths& p) {
  std::vector<MissingRule> missing;
  for (size_t idx : p.order) {
    const ir::Node& n = model.graph->nodes[idx];
    if (!p.on_path(n)) continue;
    std::string why = rule_problem(model, n);
    if (!why.empty()) missing.push_back({n.describe(), why});
  }
  return missing;
}

}  // namespace

std::vector<bool> append_vjp_typed(ir::Model& model, const VjpSpec& spec, const Types& types) {
  ir::Graph& g = *model.graph;
  Paths p = find_paths(g, types, spec.ys, spec.wrt);
  std::string problems;
  for (const MissingRule& m : missing_on_paths(model, p)) {
    problems += cat("\n  ", m.node, ": ", m.reason);
  }
  if (!problems.empty()) {
    fail(ErrorKind::Unsupported, model.name_for_errors(), ": cannot differentiate:", problems);
  }

  ir::GraphBuilder b(g);
  // Gradient contributions per value, summed when first needed.
  std::map<std::string, std::vector<std::string>> contributions;
  for (size_t i = 0; i < spec.ys.size(); ++i) contributions[spec.ys[i]].push_back(spec.seeds[i]);
  auto total = [&](const std::string& v) -> std::string {
    auto it = contributions.find(v);
    if (it == contributions.end() || it->second.empty()) return "";
    std::vector<std::string>& c = it->second;
    if (c.size() > 1) c = {b.op("Sum", c)};
    return c[0];
  };

  for (auto it = p.order.rbegin(); it != p.order.rend(); ++it) {
    size_t idx = *it;
    if (!p.on_path(g.nodes[idx])) continue;
    std::vector<std::string> dy;
    bool any = false;
    for (const auto& o : g.nodes[idx].outputs) {
      dy.push_back(o.empty() ? "" : total(o));
      any |= !dy.back().empty();
    }
    if (!any) continue;
    std::vector<bool> needs;
    for (const auto& i : g.nodes[idx].inputs) {
      needs.push_back(!i.empty() && p.requires_grad.count(i) && maybe_floating(types, i));
    }
    // Values the node's subgraphs read from this scope that need a gradient (If, Loop).
    std::vector<std::string> outer;
    std::set<std::string> own(g.nodes[idx].inputs.begin(), g.nodes[idx].inputs.end());
    for (const auto& v : ir::node_reads(g.nodes[idx])) {
      if (!own.count(v) && p.requires_grad.count(v) && maybe_floating(types, v) &&
          std::find(outer.begin(), outer.end(), v) == outer.end()) {
        outer.push_back(v);
      }
    }
    const GradDef* def =
        find_rule(g.nodes[idx].domain, g.nodes[idx].op_type, model.opset(g.nodes[idx].domain));
    GradContext ctx(g, b, idx, model.opset(""), types, std::move(dy), std::move(needs));
    ctx.set_outer(outer, &model);
    def->rule(ctx);
    for (const auto& [v, grad] : ctx.outer_dx()) contributions[v].push_back(grad);
    // Copy: the rule may have grown g.nodes, and ctx.node() reads through the index.
    std::vector<std::string> inputs = g.nodes[idx].inputs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!ctx.dx()[i].empty()) contributions[inputs[i]].push_back(ctx.dx()[i]);
    }
  }

  std::vector<bool> reached(spec.wrt.size(), false);
  for (size_t i = 0; i < spec.wrt.size(); ++i) {
    std::string t = total(spec.wrt[i]);
    reached[i] = !t.empty();
    if (t.empty()) {
      // No path: the gradient is zero, shaped like the value.
      auto type = types.find(spec.wrt[i]);
      t = fill(b, b.op("Shape", {spec.wrt[i]}), 0.0,
               type != types.end() ? type->second.elem : DType::Undefined);
    }
    b.write("Identity", {t}, spec.names[i]);
  }
  return reached;
}

std::vector<MissingRule> missing_rules(const ir::Model& source, const std::vector<std::string>& ys,
                                       const std::vector<std::string>& wrt) {
  ir::Model model = source;
  model.graph = ir::deep_copy(*source.graph);
  rewrite_for_gradients(model);
  Types types = onnx_io::infer_value_types(model);
  return missing_on_paths(model, find_paths(*model.graph, types, ys, wrt));
}

std::vector<bool> append_vjp(ir::Model& model, const VjpSpec& spec) {
  rewrite_for_gradients(model);
  return append_vjp_typed(model, spec, onnx_io::infer_value_types(model));
}

namespace {

ir::Model build_gradient_at(const ir::Model& source, const GradOptions& options) {
  ir::Model model = source;
  model.graph = std::make_shared<ir::Graph>(*source.graph);
  if (options.opset && options.opset != model.opset("")) {
    model = onnx_io::convert_opset(model, options.opset);
  }
  // The outputs as the model computes them: rewriting may leave inference knowing less
  // (a Loop standing for a Scan), and the seeds are typed like the outputs. (Inferred
  // only when there is something to rewrite: inference is the costly part here.)
  bool rewrites = std::any_of(model.graph->nodes.begin(), model.graph->nodes.end(), rewritten_op);
  Types before = rewrites ? onnx_io::infer_value_types(model) : Types{};
  rewrite_for_gradients(model);
  ir::Graph& g = *model.graph;
  Types types = onnx_io::infer_value_types(model);
  for (const auto& out : g.outputs) {
    auto b = before.find(out.name);
    auto a = types.find(out.name);
    if (b != before.end() && b->second.shape && (a == types.end() || !a->second.shape)) {
      types[out.name] = b->second;
    }
  }
  VjpSpec spec;
  spec.wrt = options.wrt;
  if (spec.wrt.empty()) {
    for (const auto& init : g.initializers) {
      if (is_floating(init.value.dtype())) spec.wrt.push_back(init.name);
    }
  }
  std::set<std::string> known;
  for (const auto& in : g.inputs) known.insert(in.name);
  for (const auto& init : g.initializers) known.insert(init.name);
  for (const auto& w : spec.wrt) {
    if (!known.count(w)) {
      fail(ErrorKind::InvalidArgument, source.name_for_errors(), ": '", w,
           "' is neither an initializer nor a graph input");
    }
  }
  ir::GraphBuilder b(g);
  std::vector<ir::ValueInfo> outputs = g.outputs;
  for (const auto& out : outputs) {
    auto t = types.find(out.name);
    DType elem = t != types.end() ? t->second.elem : out.type.elem;
    if (!is_floating(elem)) continue;
    spec.ys.push_back(out.name);
    std::string seed = b.unique(out.name + "_grad");
    g.inputs.push_back({seed, t != types.end() ? t->second : out.type, ""});
    types[seed] = g.inputs.back().type;
    spec.seeds.push_back(seed);
  }
  if (spec.ys.empty()) {
    fail(ErrorKind::InvalidArgument, source.name_for_errors(),
         ": no floating-point output to differentiate");
  }
  for (const auto& w : spec.wrt) spec.names.push_back(b.unique(w + "_grad"));
  append_vjp_typed(model, spec, types);
  for (size_t i = 0; i < spec.wrt.size(); ++i) {
    auto t = types.find(spec.wrt[i]);
    g.outputs.push_back({spec.names[i], t != types.end() ? t->second : ir::TypeInfo{}, ""});
  }
  return model;
}

}  // namespace

ir::Model build_gradient_model(const ir::Model& source, const GradOptions& options) {
  if (options.opset) return build_gradient_at(source, options);
  try {
    return build_gradient_at(source, options);
  } catch (const NeedsOpset& e) {
    // A rule needs a newer op than the model's opset has: convert the model to 17 (where
    // every rule has what it needs) and say so, rather than stopping.
    GradOptions raised = options;
    raised.opset = std::max<int64_t>(e.opset(), 17);
    if (options.note) {
      options.note(cat("converted the model from opset ", source.opset(""), " to ", raised.opset,
                       " (", e.reason(), ")"));
    }
    return build_gradient_at(source, raised);
  }
}

bool lower_gradient_ops(ir::Model& model) {
  ir::Graph& g = *model.graph;
  bool any = std::any_of(g.nodes.begin(), g.nodes.end(), [](const ir::Node& n) {
    return n.domain == "ai.onnx.preview.training" && n.op_type == "Gradient";
  });
  if (!any) return false;
  rewrite_for_gradients(model);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.domain != "ai.onnx.preview.training" || n.op_type != "Gradient") continue;
    VjpSpec spec;
    spec.wrt = n.attr_strings("xs");
    std::string y = n.attr_string("y", "");
    if (y.empty()) fail(ErrorKind::InvalidModel, n.describe(), ": attribute 'y' is required");
    if (n.outputs.size() != spec.wrt.size()) {
      fail(ErrorKind::InvalidModel, n.describe(), ": has ", n.outputs.size(), " outputs for ",
           spec.wrt.size(), " values in 'xs'");
    }
    spec.names = n.outputs;
    // Typed while the node is still there: without it the graph outputs it made are
    // undefined, and such a graph is not handed to libonnx.
    Types types = onnx_io::infer_value_types(model);
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    --i;
    ir::GraphBuilder b(g);
    // The Gradient op differentiates y itself: the seed is ones shaped like y.
    auto t = types.find(y);
    spec.ys = {y};
    spec.seeds = {
        fill(b, b.op("Shape", {y}), 1.0, t != types.end() ? t->second.elem : DType::Undefined)};
    append_vjp_typed(model, spec, types);
    changed = true;
  }
  return changed;
}

}  // namespace onyx::autodiff
