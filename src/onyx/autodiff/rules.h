// The gradient-rule table: one entry per op (and opset range), in the spirit of PyTorch's
// derivatives.yaml. Each family file ends with its table; rules.cc registers the families
// explicitly, in one place.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "onyx/autodiff/grad_context.h"

namespace onyx::autodiff {

using GradRule = void (*)(GradContext&);

struct GradDef {
  const char* domain;  // "" is ai.onnx
  const char* op_type;
  int64_t first_opset;
  int64_t last_opset;
  GradRule rule;
};

inline constexpr int64_t kLatestOpset = 1000;

// The rule for op_type at `opset`, or null.
const GradDef* find_rule(const std::string& domain, const std::string& op_type, int64_t opset);

// Ops whose output gradient is zero almost everywhere (Floor, Sign, ...): they have a rule
// that lets no gradient through.
void no_gradient(GradContext& g);

// For ops that pick elements of input 0 (Gather, DepthToSpace, ...): the op applied to an
// index grid of x says where each output element came from, and dy is scattered back
// there (accumulating unless `unique`: no element picked twice).
void selection_rule(GradContext& g, bool unique);

std::span<const GradDef> elementwise_rules();
std::span<const GradDef> activation_rules();
std::span<const GradDef> linalg_rules();
std::span<const GradDef> reduce_rules();
std::span<const GradDef> shape_rules();
std::span<const GradDef> index_rules();
std::span<const GradDef> conv_rules();
std::span<const GradDef> resize_rules();
std::span<const GradDef> signal_rules();
std::span<const GradDef> nn_rules();
std::span<const GradDef> control_rules();

}  // namespace onyx::autodiff
