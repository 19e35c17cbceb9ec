// The kernel registry: every op family registers its table of KernelDefs, explicitly and
// in one place (registry.cc), so nothing depends on static-initialisation order.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "onyx/ops/kernel.h"

namespace onyx::ops {

// The runtime's own ops (graph rewrites of runtime/layout.cc), never in a saved model.
inline constexpr char kRuntimeDomain[] = "ai.onyx.runtime";

class Registry {
 public:
  void add(std::span<const KernelDef> defs);
  // The kernel for op_type in domain at the imported opset version, or null.
  const KernelDef* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  // Whether any version of the op has a kernel (for messages).
  bool knows(const std::string& domain, const std::string& op_type) const;
  std::vector<std::string> op_names() const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<KernelDef>> defs_;
};

const Registry& registry();

}  // namespace onyx::ops
