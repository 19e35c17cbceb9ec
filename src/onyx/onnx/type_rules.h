// onyx's own type and shape rules, for the ops libonnx 1.12 cannot infer (those of opsets
// 18 to 28, the ai.onnx.preview ones, RoiAlign before 16) or infers wrongly (STFT's
// onesided bins), and the ranks it drops (Slice with computed starts, Reshape to a computed
// shape). One table (type_rules.cc); infer_value_types (checker.h) applies it between
// rounds of libonnx's inference, so the checker, the runtime's planning and autodiff all see
// the same types.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

using ValueTypes = std::unordered_map<std::string, ir::TypeInfo>;

// When a rule applies to a node whose outputs libonnx already typed.
enum class RuleUse {
  Untyped,   // only outputs libonnx left untyped
  Unranked,  // also outputs typed without a rank (Slice, Reshape)
  Always,    // replaces libonnx's type (it is wrong for this op)
};

// The types of n's outputs (one entry per output; nullopt where unknown) from its inputs'
// types in `types` and the graph's constants; empty when onyx has no rule for n.
std::vector<std::optional<ir::TypeInfo>> own_output_types(const ir::Node& n, const ir::Graph& g,
                                                          const ValueTypes& types);
// How the rule for n is used; nullopt when there is none.
std::optional<RuleUse> own_rule_use(const ir::Node& n);

}  // namespace onyx::onnx_io
