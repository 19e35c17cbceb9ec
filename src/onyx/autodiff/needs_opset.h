// The error a gradient rule or a rewrite throws when the model's opset lacks an op it needs
// (ScatterElements' reduction, Slice with inputs): build_gradient_model catches it, raises
// the model's opset and builds again, unless the caller chose the opset.
#pragma once

#include <cstdint>
#include <string>

#include "onyx/core/error.h"

namespace onyx::autodiff {

class NeedsOpset : public Error {
 public:
  NeedsOpset(const std::string& reason, int64_t have, int64_t need)
      : Error(ErrorKind::Unsupported,
              cat(reason, " (the model has ", have, "); convert the model (--opset 17)")),
        reason_(reason),
        opset_(need) {}
  // "<where>: <what> needs opset N", without the advice.
  const std::string& reason() const { return reason_; }
  int64_t opset() const { return opset_; }

 private:
  std::string reason_;
  int64_t opset_;
};

// Throws NeedsOpset when `have` < `need`.
inline void require_opset(int64_t have, int64_t need, const std::string& where,
                          const std::string& what) {
  if (have < need) throw NeedsOpset(cat(where, ": ", what, " needs opset ", need), have, need);
}

}  // namespace onyx::autodiff
