#include "onyx/autodiff/rules.h"

#include <map>
#include <utility>
#include <vector>

namespace onyx::autodiff {

namespace {

using Table = std::map<std::pair<std::string, std::string>, std::vector<GradDef>>;

Table build() {
  Table t;
  for (auto family :
       {elementwise_rules(), activation_rules(), linalg_rules(), reduce_rules(), shape_rules(),
        index_rules(), conv_rules(), resize_rules(), signal_rules(), nn_rules(), control_rules()}) {
    for (const GradDef& d : family) t[{d.domain, d.op_type}].push_back(d);
  }
  return t;
}

}  // namespace

const GradDef* find_rule(const std::string& domain, const std::string& op_type, int64_t opset) {
  static const Table table = build();
  std::string d = domain == "ai.onnx" ? "" : domain;
  auto it = table.find({d, op_type});
  if (it == table.end()) return nullptr;
  for (const GradDef& def : it->second) {
    if (opset >= def.first_opset && opset <= def.last_opset) return &def;
  }
  return nullptr;
}

void no_gradient(GradContext&) {}

}  // namespace onyx::autodiff
