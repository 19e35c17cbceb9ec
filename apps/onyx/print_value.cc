#include "print_value.h"

#include <sstream>

namespace onyx::cli {

std::string describe_value(const Value& v, int max_values) {
  std::ostringstream out;
  if (v.is_tensor()) {
    const Tensor& t = v.tensor();
    out << dtype_name(t.dtype()) << " " << shape_str(t.shape());
    int64_t n = std::min<int64_t>(t.numel(), max_values);
    if (n) out << " =";
    for (int64_t i = 0; i < n; ++i) {
      out << (i ? ", " : " ");
      if (t.dtype() == DType::String) {
        out << '"' << t.data<std::string>()[i] << '"';
      } else if (t.dtype() == DType::Complex64 || t.dtype() == DType::Complex128) {
        out << "(complex)";
      } else if (t.dtype() == DType::Bool) {
        out << (t.data<bool>()[i] ? "true" : "false");
      } else {
        out << t.element_as_double(i);
      }
    }
    if (t.numel() > n) out << ", ... (" << t.numel() << " values)";
  } else if (v.is_sequence()) {
    out << "sequence of " << v.items().size();
    for (size_t i = 0; i < v.items().size() && i < 3; ++i) {
      out << (i ? "; " : ": ") << describe_value(v.items()[i], 3);
    }
  } else if (v.is_optional()) {
    out << (v.inner() ? "optional: " + describe_value(*v.inner(), max_values) : "optional: none");
  } else if (v.is_map()) {
    out << "map of " << v.keys().numel() << ": keys " << describe_value(v.keys(), max_values)
        << "; values " << describe_value(v.values(), max_values);
  } else {
    out << "(none)";
  }
  return out.str();
}

}  // namespace onyx::cli
