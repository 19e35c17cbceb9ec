#include "onyx/ops/registry.h"

#include "onyx/ops/families.h"

namespace onyx::ops {

void Registry::add(std::span<const KernelDef> defs) {
  for (const auto& d : defs) defs_[{d.domain, d.op_type}].push_back(d);
}

const KernelDef* Registry::find(const std::string& domain, const std::string& op_type,
                                int64_t opset) const {
  auto it = defs_.find({domain == "ai.onnx" ? "" : domain, op_type});
  if (it == defs_.end()) return nullptr;
  for (const auto& d : it->second) {
    if (opset >= d.since && opset <= d.until) return &d;
  }
  return nullptr;
}

bool Registry::knows(const std::string& domain, const std::string& op_type) const {
  return defs_.count({domain == "ai.onnx" ? "" : domain, op_type}) > 0;
}

std::vector<std::string> Registry::op_names() const {
  std::vector<std::string> names;
  for (const auto& [key, defs] : defs_) {
    names.push_back(key.first.empty() ? key.second : key.first + "." + key.second);
  }
  return names;
}

const Registry& registry() {
  static const Registry reg = [] {
    Registry r;
    for (auto family : kFamilies) family(r);
    return r;
  }();
  return reg;
}

}  // namespace onyx::ops
