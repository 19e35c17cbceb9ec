// The patterns exporters write for transformer blocks, each fused into one op: GELU in its
// Erf form, LayerNormalization spelled out in reductions (PyTorch below opset 17), and a
// MatMul by constant weights followed by a bias Add and an activation.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "onyx/ir/builder.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/fusion.h"
#include "onyx/runtime/graph_view.h"
#include "onyx/runtime/rewrite.h"

namespace onyx::runtime {

namespace {

bool near(std::optional<double> v, double want) {
  return v && std::abs(*v - want) <= 1e-6 * std::abs(want);
}

// The other input of a two-input node, when one of its inputs is `v`.
std::optional<std::string> other_input(const ir::Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return std::nullopt;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return std::nullopt;
}

// Reduction over the last axis only, keeping it (the axes in an attribute or, from opset
// 18, in a constant input).
bool mean_of_last_axis(const ir::Node& n, const GraphView& view) {
  if (n.attr_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes = n.attr_ints("axes", {});
  if (n.inputs.size() > 1) {
    std::optional<Tensor> t = view.constant(n.inputs[1]);
    if (!t || t->dtype() != DType::Int64) return false;
    axes.assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  }
  return axes == std::vector<int64_t>{-1};
}

}  // namespace

std::shared_ptr<const ir::Graph> fuse_gelu(std::shared_ptr<const ir::Graph> graph,
                                           PassContext& ctx) {
  bool standard = ctx.model().opset("") >= 20;
  if (!standard && ctx.level() == PassLevel::Standard) return graph;
  const ir::Graph& g = *graph;
  GraphView view(g);
  Rewrite rw(g);
  // 0.5 * x * (1 + Erf(x / sqrt(2))), as PyTorch writes it: Div (or Mul by 1/sqrt(2)), Erf,
  // Add 1, Mul by x, Mul by 0.5.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& erf = g.nodes[i];
    if (!erf.domain.empty() || erf.op_type != "Erf" || erf.inputs.size() != 1) continue;
    std::optional<size_t> scaled = view.producer(erf.inputs[0]);
    if (!scaled || view.reads(erf.inputs[0]) != 1) continue;
    const ir::Node& s = g.nodes[*scaled];
    if (!s.domain.empty() || s.inputs.size() != 2) continue;
    const std::string& x = s.inputs[0];
    if (!((s.op_type == "Div" && near(view.scalar(s.inputs[1]), std::sqrt(2.0))) ||
          (s.op_type == "Mul" && near(view.scalar(s.inputs[1]), std::sqrt(0.5)))))
      continue;
    std::optional<size_t> add = view.sole_reader(erf.outputs[0], "Add");
    if (!add) continue;
    std::optional<std::string> one = other_input(g.nodes[*add], erf.outputs[0]);
    if (!one || !near(view.scalar(*one), 1.0)) continue;
    std::optional<size_t> mul = view.sole_reader(g.nodes[*add].outputs[0], "Mul");
    if (!mul || other_input(g.nodes[*mul], g.nodes[*add].outputs[0]) != x) continue;
    std::optional<size_t> half = view.sole_reader(g.nodes[*mul].outputs[0], "Mul");
    if (!half) continue;
    std::optional<std::string> h = other_input(g.nodes[*half], g.nodes[*mul].outputs[0]);
    if (!h || !near(view.scalar(*h), 0.5)) continue;
    std::vector<size_t> matched{*scaled, i, *add, *mul, *half};
    if (std::any_of(matched.begin(), matched.end(), [&](size_t k) { return rw.taken(k); }))
      continue;
    rw.replace(matched,
               fused_node(g.nodes[*half], standard ? "" : ops::kRuntimeDomain, "Gelu", {x}));
  }
  return rw.result(std::move(graph));
}

std::shared_ptr<const ir::Graph> fuse_layer_norm(std::shared_ptr<const ir::Graph> graph,
                                                 PassContext& ctx) {
  bool standard = ctx.model().opset("") >= 17;
  if (!standard && ctx.level() == PassLevel::Standard) return graph;
  const ir::Graph& g = *graph;
  GraphView view(g);
  Rewrite rw(g);
  // d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * scale + bias.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& div = g.nodes[i];
    if (!div.domain.empty() || div.op_type != "Div" || div.inputs.size() != 2) continue;
    const std::string& d = div.inputs[0];
    const ir::Node* sub = view.made_by(d, "Sub");
    const ir::Node* sqrt = view.made_by(div.inputs[1], "Sqrt");
    if (!sub || !sqrt || view.reads(d) != 2 || view.reads(div.inputs[1]) != 1) continue;
    const std::string& x = sub->inputs[0];
    const ir::Node* mean = view.made_by(sub->inputs[1], "ReduceMean");
    if (!mean || mean->inputs[0] != x || view.reads(sub->inputs[1]) != 1 ||
        !mean_of_last_axis(*mean, view))
      continue;
    const ir::Node* add_eps = view.made_by(sqrt->inputs[0], "Add");
    if (!add_eps || view.reads(sqrt->inputs[0]) != 1 || add_eps->inputs.size() != 2) continue;
    const ir::Node* var = nullptr;
    std::optional<double> eps;
    for (size_t side = 0; side < 2 && !var; ++side) {
      var = view.made_by(add_eps->inputs[side], "ReduceMean");
      eps = view.scalar(add_eps->inputs[1 - side]);
      if (!eps || view.reads(add_eps->inputs[side]) != 1) var = nullptr;
    }
    if (!var || !mean_of_last_axis(*var, view)) continue;
    const ir::Node* pow = view.made_by(var->inputs[0], "Pow");
    if (!pow || pow->inputs[0] != d || view.reads(var->inputs[0]) != 1 ||
        !near(view.scalar(pow->inputs[1]), 2.0))
      continue;
    // The scale is required by LayerNormalization; the bias is not.
    std::optional<size_t> mul = view.sole_reader(div.outputs[0], "Mul");
    if (!mul) continue;
    std::optional<std::string> scale = other_input(g.nodes[*mul], div.outputs[0]);
    std::optional<Tensor> scale_t = scale ? view.constant(*scale) : std::nullopt;
    if (!scale_t || scale_t->rank() != 1) continue;
    std::vector<size_t> matched{*view.producer(mean->outputs[0]),
                                *view.producer(d),
                                *view.producer(pow->outputs[0]),
                                *view.producer(var->outputs[0]),
                                *view.producer(add_eps->outputs[0]),
                                *view.producer(sqrt->outputs[0]),
                                i,
                                *mul};
    std::vector<std::string> inputs{x, *scale};
    if (std::optional<size_t> add = view.sole_reader(g.nodes[*mul].outputs[0], "Add")) {
      std::optional<std::string> bias = other_input(g.nodes[*add], g.nodes[*mul].outputs[0]);
      std::optional<Tensor> bias_t = bias ? view.constant(*bias) : std::nullopt;
      if (bias_t && bias_t->rank() == 1 && bias_t->numel() == scale_t->numel()) {
        inputs.push_back(*bias);
        matched.push_back(*add);
      }
    }
    if (std::any_of(matched.begin(), matched.end(), [&](size_t k) { return rw.taken(k); }))
      continue;
    ir::Node fused = fused_node(g.nodes[matched.back()], standard ? "" : ops::kRuntimeDomain,
                                "LayerNormalization", inputs);
    fused.attributes.push_back(ir::attr("axis", int64_t{-1}));
    fused.attributes.push_back(ir::attr("epsilon", static_cast<float>(*eps)));
    rw.replace(matched, std::move(fused));
  }
  return rw.result(std::move(graph));
}

std::shared_ptr<const ir::Graph> fuse_matmul_bias(std::shared_ptr<const ir::Graph> graph) {
  const ir::Graph& g = *graph;
  GraphView view(g);
  Rewrite rw(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& mm = g.nodes[i];
    if (!mm.domain.empty() || mm.inputs.size() < 2) continue;
    bool gemm = mm.op_type == "Gemm";
    if (!gemm && (mm.op_type != "MatMul" || mm.inputs.size() != 2)) continue;
    std::optional<Tensor> b = view.constant(mm.inputs[1]);
    if (!b || b->dtype() != DType::Float32 || b->rank() != 2) continue;
    bool trans_b = gemm && mm.attr_int("transB", 0) != 0;
    int64_t n = trans_b ? b->dim(0) : b->dim(1);
    // A bias per output column, [N] (a [1, N] one would broadcast a 1-D A's result).
    auto bias = [&](const std::string& c) {
      std::optional<Tensor> ct = view.constant(c);
      return ct && ct->dtype() == DType::Float32 && ct->rank() == 1 && ct->numel() == n;
    };
    std::vector<size_t> matched{i};
    std::vector<std::string> inputs{mm.inputs[0], mm.inputs[1]};
    std::string value = mm.outputs[0];
    if (gemm) {
      // Gemm's own C is the bias; scaled or transposed operands stay with Gemm.
      if (mm.attr_int("transA", 0) != 0 || mm.attr_float("alpha", 1) != 1.0f ||
          (mm.has_input(2) && (mm.attr_float("beta", 1) != 1.0f || !bias(mm.inputs[2]))))
        continue;
      if (mm.has_input(2)) inputs.push_back(mm.inputs[2]);
    } else if (std::optional<size_t> add = view.sole_reader(value, "Add")) {
      std::optional<std::string> c = other_input(g.nodes[*add], value);
      if (c && bias(*c)) {
        inputs.push_back(*c);
        matched.push_back(*add);
        value = g.nodes[*add].outputs[0];
      }
    }
    std::string activation;
    if (std::optional<size_t> r = view.sole_reader(value)) {
      const ir::Node& n = g.nodes[*r];
      bool runtime_gelu = n.domain == ops::kRuntimeDomain && n.op_type == "Gelu";
      bool standard_gelu =
          n.domain.empty() && n.op_type == "Gelu" && n.attr_string("approximate", "none") == "none";
      if (n.domain.empty() && n.op_type == "Relu") activation = "Relu";
      if (runtime_gelu || standard_gelu) activation = "Gelu";
      if (!activation.empty()) matched.push_back(*r);
    }
    if (matched.size() == 1) continue;  // a MatMul or Gemm alone stays as it is
    if (std::any_of(matched.begin(), matched.end(), [&](size_t k) { return rw.taken(k); }))
      continue;
    ir::Node fused = fused_node(g.nodes[matched.back()], ops::kRuntimeDomain, "MatMulBias", inputs);
    if (!activation.empty()) fused.attributes.push_back(ir::attr("activation", activation));
    if (trans_b) fused.attributes.push_back(ir::attr("transB", int64_t{1}));
    if (gemm) fused.attributes.push_back(ir::attr("a_rank", int64_t{2}));  // as Gemm requires
    rw.replace(matched, std::move(fused));
  }
  return rw.result(std::move(graph));
}

}  // namespace onyx::runtime
