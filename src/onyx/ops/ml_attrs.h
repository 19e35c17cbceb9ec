// Attribute and input helpers shared by the ai.onnx.ml kernels: the many list attributes
// (which converters also write as a single scalar, or as a double *_as_tensor twin), length
// checks, class labels, and the [N, C] / [C] batch inputs.
#pragma once

#include <string>
#include <vector>

#include "onyx/ops/kernel.h"

namespace onyx::ops::ml {

// A tensor attribute's values as doubles.
inline std::vector<double> tensor_doubles(const KernelInfo& info, const std::string& name,
                                          const Tensor& t) {
  if (t.dtype() == DType::String || t.dtype() == DType::Complex64 ||
      t.dtype() == DType::Complex128) {
    info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must hold numbers, not ",
              dtype_name(t.dtype()));
  }
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = t.element_as_double(i);
  return out;
}

// A float list attribute as doubles (empty when absent). A FLOAT counts as a one-element
// list and a TENSOR is read element by element.
inline std::vector<double> doubles(const KernelInfo& info, const std::string& name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a) return {};
  switch (a->type) {
    case ir::AttrType::Floats:
      return std::vector<double>(a->floats.begin(), a->floats.end());
    case ir::AttrType::Float:
      return {static_cast<double>(a->f)};
    case ir::AttrType::Tensor:
      return tensor_doubles(info, name, a->t);
    default:
      info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must be a list of floats, got ",
                ir::attr_type_name(a->type));
  }
}

// `name`, or its double twin `name`_as_tensor when that is given (TreeEnsemble*-3).
inline std::vector<double> doubles_or_tensor(const KernelInfo& info, const std::string& name) {
  const std::string twin = name + "_as_tensor";
  return info.node.has_attr(twin) ? doubles(info, twin) : doubles(info, name);
}

// An int list attribute (empty when absent); an INT counts as a one-element list.
inline std::vector<int64_t> ints(const KernelInfo& info, const std::string& name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::Ints) return a->ints;
  if (a->type == ir::AttrType::Int) return {a->i};
  info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must be a list of ints, got ",
            ir::attr_type_name(a->type));
}

// A string list attribute (empty when absent); a STRING counts as a one-element list.
inline std::vector<std::string> strings(const KernelInfo& info, const std::string& name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::Strings) return a->strings;
  if (a->type == ir::AttrType::String) return {a->s};
  info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must be a list of strings, got ",
            ir::attr_type_name(a->type));
}

// The TENSOR attribute `name`, or null when absent.
inline const Tensor* tensor(const KernelInfo& info, const std::string& name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a) return nullptr;
  if (a->type != ir::AttrType::Tensor) {
    info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must be a tensor, got ",
              ir::attr_type_name(a->type));
  }
  return &a->t;
}

// Parallel list attributes must line up: fails unless `got` is `want`.
inline void check_size(const KernelInfo& info, const std::string& name, size_t got, size_t want,
                       const char* why) {
  if (got != want) {
    info.fail(ErrorKind::InvalidModel, "attribute '", name, "' has ", got, " values, expected ",
              want, " (", why, ")");
  }
}

// Class labels: an int list (classlabels_ints or classlabels_int64s, by op) or
// classlabels_strings, at most one of them. With neither, labels are class indices.
class ClassLabels {
 public:
  ClassLabels(const KernelInfo& info, const char* ints_name)
      : ints_(ints(info, ints_name)), strings_(strings(info, "classlabels_strings")) {
    if (!ints_.empty() && !strings_.empty()) {
      info.fail(ErrorKind::InvalidModel, "only one of '", ints_name,
                "' and 'classlabels_strings' may be given");
    }
  }
  bool is_string() const { return !strings_.empty(); }
  int64_t size() const {
    return static_cast<int64_t>(is_string() ? strings_.size() : ints_.size());
  }
  DType dtype() const { return is_string() ? DType::String : DType::Int64; }
  const std::vector<int64_t>& int_labels() const { return ints_; }

  // Label of class `index` (< size() when there are labels).
  void put_index(Tensor& y, int64_t row, int64_t index) const {
    if (is_string()) {
      y.data<std::string>()[row] = strings_[static_cast<size_t>(index)];
    } else {
      y.data<int64_t>()[row] = ints_.empty() ? index : ints_[static_cast<size_t>(index)];
    }
  }
  // A plain value: itself for int labels, the string at that position for string labels
  // ("" when there is none).
  void put_value(Tensor& y, int64_t row, int64_t value) const {
    if (!is_string()) {
      y.data<int64_t>()[row] = value;
    } else {
      y.data<std::string>()[row] =
          value >= 0 && value < size() ? strings_[static_cast<size_t>(value)] : std::string();
    }
  }
  // No class: 0, or "" for string labels.
  void put_none(Tensor& y, int64_t row) const {
    if (is_string()) {
      y.data<std::string>()[row].clear();
    } else {
      y.data<int64_t>()[row] = 0;
    }
  }

 private:
  std::vector<int64_t> ints_;
  std::vector<std::string> strings_;
};

// A [N, C] input, or a [C] one taken as one row.
struct Batch {
  int64_t rows = 0, cols = 0;
};

inline Batch batch_of(const KernelContext& ctx, size_t i) {
  const Tensor& x = ctx.input(i);
  if (x.rank() == 2) return {x.dim(0), x.dim(1)};
  if (x.rank() == 1) return {1, x.dim(0)};
  ctx.fail(ctx.input_name(i), " must have shape [N, C] or [C], got ", shape_str(x.shape()));
}

// A numeric input's elements as doubles (the linear and SVM models compute in double).
inline std::vector<double> input_doubles(const KernelContext& ctx, size_t i) {
  const Tensor& x = ctx.input(i);
  if (x.dtype() == DType::String || x.dtype() == DType::Bool || !x.defined()) {
    ctx.fail(ctx.input_name(i), " must be numeric, got ", dtype_name(x.dtype()));
  }
  std::vector<double> out(static_cast<size_t>(x.numel()));
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    for (int64_t k = 0; k < x.numel(); ++k) out[static_cast<size_t>(k)] = to_double(p[k]);
  });
  return out;
}

}  // namespace onyx::ops::ml
