#include "onyx/runtime/passes.h"

#include "onyx/runtime/fusion.h"
#include "onyx/runtime/layout.h"
#include "onyx/runtime/simplify.h"

namespace onyx::runtime {

const StaticTypes& PassContext::types(const ir::Graph& graph) {
  if (!types_) types_ = static_types(graph);
  return *types_;
}

std::optional<Shape> PassContext::static_shape(const ir::Graph& graph, const std::string& value) {
  const StaticTypes& t = types(graph);
  auto it = t.find(value);
  if (it == t.end()) return std::nullopt;
  return it->second.shape;
}

namespace {

// Folding and no-op removal first, so that the fusions below see the simplest graph; the
// layout pass last, since it reads the fused Convs.
const GraphPass kPasses[] = {
    {"eliminate-no-ops", PassLevel::Standard, true, eliminate_no_ops},
    {"fold-constants", PassLevel::Standard, true, fold_constants},
    {"fold-conv-batchnorm", PassLevel::Standard, false, fold_conv_batchnorm},
    {"fuse-layer-norm", PassLevel::Standard, true, fuse_layer_norm},
    {"fuse-gelu", PassLevel::Standard, true, fuse_gelu},
    {"fuse-matmul-bias", PassLevel::Runtime, true,
     [](std::shared_ptr<const ir::Graph> g, PassContext&) {
       return fuse_matmul_bias(std::move(g));
     }},
    {"fuse-conv-weight-grad", PassLevel::Runtime, true,
     [](std::shared_ptr<const ir::Graph> g, PassContext&) {
       return fuse_conv_weight_grad(std::move(g));
     }},
    {"fuse-scatter-relu-grad", PassLevel::Runtime, true, fuse_scatter_relu_grad},
    {"fuse-activations", PassLevel::Runtime, true,
     [](std::shared_ptr<const ir::Graph> g, PassContext& ctx) {
       return fuse_activations(std::move(g), ctx.model());
     }},
    {"fuse-swish", PassLevel::Runtime, true,
     [](std::shared_ptr<const ir::Graph> g, PassContext&) { return fuse_swish(std::move(g)); }},
    {"block-conv-layouts", PassLevel::Runtime, true,
     [](std::shared_ptr<const ir::Graph> g, PassContext&) {
       return block_conv_layouts(std::move(g));
     }},
};

}  // namespace

std::span<const GraphPass> graph_passes() {
  return kPasses;
}

std::shared_ptr<const ir::Graph> optimize_graph(std::shared_ptr<const ir::Graph> graph,
                                                const ir::Model& model, PassLevel level,
                                                bool training) {
  PassContext ctx(model, level);
  for (const GraphPass& p : kPasses) {
    if (static_cast<int>(p.level) > static_cast<int>(level) || (training && !p.keeps_training))
      continue;
    std::shared_ptr<const ir::Graph> next = p.run(graph, ctx);
    if (next != graph) ctx.changed();
    graph = std::move(next);
  }
  return graph;
}

}  // namespace onyx::runtime
