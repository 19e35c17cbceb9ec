// The patterns gradient graphs hold, fused into the runtime's own ops.
#include <algorithm>

#include "onyx/ir/builder.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/fusion.h"
#include "onyx/runtime/graph_view.h"
#include "onyx/runtime/rewrite.h"

namespace onyx::runtime {

namespace {

// The constant int64 values of `v`, or nullopt.
std::optional<std::vector<int64_t>> ints(const GraphView& view, const std::string& v) {
  std::optional<Tensor> t = view.constant(v);
  if (!t || t->dtype() != DType::Int64 || t->rank() != 1) return std::nullopt;
  return t->to_int64s();
}

// A Transpose swapping axes 0 and 1 only, of a tensor with rank >= 3.
bool swaps_first_two(const ir::Node& t) {
  std::vector<int64_t> p = t.attr_ints("perm");
  if (p.size() < 3 || p[0] != 1 || p[1] != 0) return false;
  for (size_t i = 2; i < p.size(); ++i) {
    if (p[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// The node making `v` when it is the standard `op` with at least `inputs` inputs (a graph
// not yet checked may hold fewer) and `v`'s only reader is `reader`.
const ir::Node* feeding(const GraphView& view, const std::string& v, std::string_view op,
                        size_t inputs, size_t reader, size_t* index) {
  const ir::Node* n = view.made_by(v, op);
  if (!n || n->inputs.size() < inputs || view.sole_reader(v) != reader) return nullptr;
  *index = *view.producer(v);
  return n;
}

// `shape` holds the shape of `like`: Shape(like), or a constant equal to its static shape
// (what folding makes of Shape when the shape is known).
bool is_shape_of(const GraphView& view, PassContext& ctx, const std::string& shape,
                 const std::string& like) {
  if (const ir::Node* s = view.made_by(shape, "Shape"))
    return s->inputs.size() == 1 && s->inputs[0] == like && s->attributes.empty();
  auto dims = ints(view, shape);
  std::optional<Shape> known = ctx.static_shape(view.graph(), like);
  return dims && known && *dims == std::vector<int64_t>(known->begin(), known->end());
}

}  // namespace

std::shared_ptr<const ir::Graph> fuse_scatter_relu_grad(std::shared_ptr<const ir::Graph> graph,
                                                        PassContext& ctx) {
  const ir::Graph& g = *graph;
  GraphView view(g);
  Rewrite rw(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // Where(Greater(y, 0), Reshape(ScatterElements(Reshape(ConstantOfShape(0)), I, U), shape
    // of y), 0), read from the end.
    const ir::Node& where = g.nodes[i];
    if (!where.domain.empty() || where.op_type != "Where" || where.inputs.size() != 3 ||
        view.scalar(where.inputs[2]) != 0.0)
      continue;
    size_t ig, ir2, isc, ir1, iz;
    const ir::Node* greater = feeding(view, where.inputs[0], "Greater", 2, i, &ig);
    if (!greater || view.scalar(greater->inputs[1]) != 0.0) continue;
    const std::string& y = greater->inputs[0];
    const ir::Node* back = feeding(view, where.inputs[1], "Reshape", 2, i, &ir2);
    if (!back || !is_shape_of(view, ctx, back->inputs[1], y)) continue;
    const ir::Node* scatter = feeding(view, back->inputs[0], "ScatterElements", 3, ir2, &isc);
    if (!scatter || scatter->attr_int("axis", 0) != 0) continue;
    std::string reduction = scatter->attr_string("reduction", "none");
    if (reduction != "none" && reduction != "add") continue;
    const ir::Node* flat = feeding(view, scatter->inputs[0], "Reshape", 2, isc, &ir1);
    if (!flat || ints(view, flat->inputs[1]) != std::vector<int64_t>{-1}) continue;
    const ir::Node* zeros = feeding(view, flat->inputs[0], "ConstantOfShape", 1, ir1, &iz);
    if (!zeros || !is_shape_of(view, ctx, zeros->inputs[0], y)) continue;
    const ir::Attribute* value = zeros->find_attr("value");
    if (value && (value->t.numel() != 1 || !is_floating(value->t.dtype()) ||
                  value->t.element_as_double(0) != 0.0))
      continue;  // without a value, ConstantOfShape makes float32 zeros
    std::vector<size_t> matched{iz, ir1, isc, ir2, ig, i};
    // The Shape nodes the matched ones read, when nothing else reads them.
    for (const std::string* shape : {&zeros->inputs[0], &back->inputs[1]}) {
      std::optional<size_t> p = view.producer(*shape);
      if (p && g.nodes[*p].op_type == "Shape" && view.reads(*shape) == 1)
        matched.insert(matched.begin(), *p);
    }
    if (std::any_of(matched.begin(), matched.end(), [&](size_t k) { return rw.taken(k); }))
      continue;
    ir::Node fused = fused_node(where, ops::kRuntimeDomain, "ScatterReluGrad",
                                {y, scatter->inputs[1], scatter->inputs[2]});
    fused.attributes = {ir::attr("reduction", reduction)};
    rw.replace(matched, std::move(fused));
  }
  return rw.result(std::move(graph));
}

std::shared_ptr<const ir::Graph> fuse_conv_weight_grad(std::shared_ptr<const ir::Graph> graph) {
  const ir::Graph& g = *graph;
  GraphView view(g);
  Rewrite rw(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // Transpose(Slice(Conv(Reshape(Transpose(Reshape(X))), Transpose(dY)))), read from the end.
    const ir::Node& t2 = g.nodes[i];
    if (!t2.domain.empty() || t2.op_type != "Transpose" || t2.inputs.size() != 1 ||
        !swaps_first_two(t2))
      continue;
    size_t n = t2.attr_ints("perm").size() - 2, is, ic, it1, ir2, itp, ir1;
    const ir::Node* slice = feeding(view, t2.inputs[0], "Slice", 4, i, &is);
    if (!slice) continue;
    auto starts = ints(view, slice->inputs[1]), kernel = ints(view, slice->inputs[2]),
         axes = ints(view, slice->inputs[3]);
    std::vector<int64_t> spatial_axes(n);
    for (size_t d = 0; d < n; ++d) spatial_axes[d] = static_cast<int64_t>(d) + 2;
    if (!starts || !kernel || !axes || *axes != spatial_axes || kernel->size() != n ||
        *starts != std::vector<int64_t>(n, 0))
      continue;
    if (slice->inputs.size() > 4) {
      auto steps = ints(view, slice->inputs[4]);
      if (!steps || *steps != std::vector<int64_t>(n, 1)) continue;
    }
    const ir::Node* conv = feeding(view, slice->inputs[0], "Conv", 2, is, &ic);
    if (!conv || conv->inputs.size() != 2 || conv->attr_string("auto_pad", "NOTSET") != "NOTSET")
      continue;
    int64_t group = conv->attr_int("group", 1);
    const ir::Node* t1 = feeding(view, conv->inputs[1], "Transpose", 1, ic, &it1);
    const ir::Node* r2 = feeding(view, conv->inputs[0], "Reshape", 2, ic, &ir2);
    if (!t1 || !swaps_first_two(*t1) || !r2) continue;
    // X [N, G*Cg, S...] -> [N, G, Cg, S] -> [Cg, G, N, S] -> [Cg, G*N, S...].
    const ir::Node* tp = feeding(view, r2->inputs[0], "Transpose", 1, ir2, &itp);
    if (!tp || tp->attr_ints("perm") != std::vector<int64_t>{2, 1, 0, 3}) continue;
    const ir::Node* r1 = feeding(view, tp->inputs[0], "Reshape", 2, itp, &ir1);
    if (!r1) continue;
    auto split = ints(view, r1->inputs[1]), merged = ints(view, r2->inputs[1]);
    if (!split || split->size() != 4 || (*split)[0] != 0 || (*split)[1] != group ||
        (*split)[3] != -1 || !merged || merged->size() != n + 2 || (*merged)[0] != (*split)[2] ||
        (*merged)[1] != -1)
      continue;
    std::vector<size_t> matched{ir1, itp, ir2, it1, ic, is, i};
    if (std::any_of(matched.begin(), matched.end(), [&](size_t k) { return rw.taken(k); }))
      continue;
    ir::Node fused =
        fused_node(t2, ops::kRuntimeDomain, "ConvWeightGrad", {r1->inputs[0], t1->inputs[0]});
    // The forward convolution's window: the gradient's Conv swapped strides and dilations.
    std::vector<int64_t> ones(n, 1);
    fused.attributes = {
        ir::attr("kernel_shape", *kernel), ir::attr("strides", conv->attr_ints("dilations", ones)),
        ir::attr("dilations", conv->attr_ints("strides", ones)),
        ir::attr("pads", conv->attr_ints("pads", std::vector<int64_t>(2 * n, 0))),
        ir::attr("group", group),
        // X's spatial sizes as the Reshape saw them (the same elements).
        ir::attr("input_spatial", std::vector<int64_t>(merged->begin() + 2, merged->end()))};
    rw.replace(matched, std::move(fused));
  }
  return rw.result(std::move(graph));
}

}  // namespace onyx::runtime
