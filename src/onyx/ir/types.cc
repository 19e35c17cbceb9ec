#include "onyx/ir/types.h"

namespace onyx::ir {

std::string TypeInfo::str() const {
  switch (kind) {
    case Kind::Tensor:
    case Kind::SparseTensor: {
      std::string s = kind == Kind::SparseTensor ? "sparse(" : "";
      s += dtype_name(elem);
      if (shape) {
        s += "[";
        for (size_t i = 0; i < shape->size(); ++i) {
          if (i) s += ",";
          const Dim& d = (*shape)[i];
          s += d.value ? std::to_string(*d.value) : (d.param.empty() ? "?" : d.param);
        }
        s += "]";
      }
      return kind == Kind::SparseTensor ? s + ")" : s;
    }
    case Kind::Sequence:
      return "seq(" + (inner ? inner->str() : std::string("?")) + ")";
    case Kind::Optional:
      return "optional(" + (inner ? inner->str() : std::string("?")) + ")";
    case Kind::Map:
      return std::string("map(") + dtype_name(elem) + "," + (inner ? inner->str() : "?") + ")";
    case Kind::Unknown:
      break;
  }
  return "?";
}

}  // namespace onyx::ir
