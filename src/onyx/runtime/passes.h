// The graph passes a session applies to its own copy of a model before planning, in one
// table (passes.cc), so that the session and `onyx optimize` run the same rewrites. A pass
// takes a graph and returns it rewritten, or the same pointer when nothing changes; every
// pass keeps the graph's inputs and outputs, and the values they compute, to rounding.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "onyx/ir/graph.h"
#include "onyx/runtime/static_shapes.h"

namespace onyx::runtime {

enum class PassLevel {
  Standard,  // rewrites whose result is standard ONNX at the model's opsets
  Runtime,   // also the runtime's own fused ops and layouts (ops::kRuntimeDomain)
};

// What a pass may ask about the model besides its graph.
class PassContext {
 public:
  PassContext(const ir::Model& model, PassLevel level) : model_(model), level_(level) {}
  const ir::Model& model() const { return model_; }
  // The level being applied: a pass whose result is standard ONNX only from some opset on
  // (LayerNormalization from 17) writes the runtime's op below it, at the Runtime level only.
  PassLevel level() const { return level_; }
  // Static types of the values of `graph` (runtime/static_shapes.h), computed on first use
  // and kept until a pass reports a change with `changed`.
  const StaticTypes& types(const ir::Graph& graph);
  void changed() { types_.reset(); }
  // The static shape of `value` when every dimension is known.
  std::optional<Shape> static_shape(const ir::Graph& graph, const std::string& value);

 private:
  const ir::Model& model_;
  PassLevel level_;
  std::optional<StaticTypes> types_;
};

using GraphRewrite =
    std::function<std::shared_ptr<const ir::Graph>(std::shared_ptr<const ir::Graph>, PassContext&)>;

struct GraphPass {
  const char* name;
  PassLevel level;      // the lowest level that includes the pass
  bool keeps_training;  // the result trains as the original would (no folding into weights)
  GraphRewrite run;
};

// Every pass, in the order they run.
std::span<const GraphPass> graph_passes();

// `graph` (a graph of `model`) after every pass at `level` or below; with `training`, only
// those that keep training behaviour.
std::shared_ptr<const ir::Graph> optimize_graph(std::shared_ptr<const ir::Graph> graph,
                                                const ir::Model& model, PassLevel level,
                                                bool training = false);

}  // namespace onyx::runtime
