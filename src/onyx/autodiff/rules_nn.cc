// Gradient rules for neural-network layers: convolution, pooling, normalization, dropout
// and the loss ops.
#include "onyx/autodiff/rules.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// Dropout: the kept elements' gradient, scaled like the forward pass; in inference mode
// (no training_mode, or a constant false) Dropout is the identity.
void dropout_rule(GradContext& g) {
  const ir::Node& n = g.node();
  bool training_input = g.opset() >= 12 && g.has_x(2);
  if (!training_input) return g.set_dx(0, g.dy(0));
  if (auto t = g.constant_value(g.x(2)); t && t->numel() == 1 && t->element_as_double(0) == 0) {
    return g.set_dx(0, g.dy(0));
  }
  std::string x = g.x(0);
  std::string ratio = g.has_x(1) ? g.op("CastLike", {g.x(1), x}) : g.scalar(0.5, x);
  std::string scale = g.div(g.scalar(1, x), g.sub(g.scalar(1, x), ratio));
  std::string mask = g.op("Cast", {g.y(1)}, {attr("to", static_cast<int64_t>(g.dtype(x)))});
  std::string kept = g.mul(g.dy(0), g.mul(mask, scale));
  g.set_dx(0, g.op("Where", {g.x(2), kept, g.dy(0)}));
  (void)n;
}

constexpr GradDef kDefs[] = {
    {"", "Dropout", 1, kLatestOpset, dropout_rule},
};

}  // namespace

std::span<const GradDef> nn_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
