// Static types of graph values, as ONNX TypeProto describes them: tensors with element
// type and (possibly symbolic) shape, sequences, optionals, maps and sparse tensors.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onyx/core/dtype.h"

namespace onyx::ir {

struct Dim {
  std::optional<int64_t> value;  // known size
  std::string param;             // symbolic name, e.g. "batch"
  std::string denotation;
};

struct TypeInfo {
  enum class Kind { Unknown, Tensor, SparseTensor, Sequence, Optional, Map };
  Kind kind = Kind::Unknown;
  DType elem = DType::Undefined;          // tensors; map key type for maps
  std::optional<std::vector<Dim>> shape;  // tensors: absent when the rank is unknown
  std::shared_ptr<TypeInfo> inner;        // sequence/optional element, map value
  std::string denotation;

  static TypeInfo tensor(DType elem, std::optional<std::vector<Dim>> shape = std::nullopt) {
    TypeInfo t;
    t.kind = Kind::Tensor;
    t.elem = elem;
    t.shape = std::move(shape);
    return t;
  }
  // A tensor whose every dimension is known (an initializer's, a fed value's).
  static TypeInfo tensor(DType elem, const std::vector<int64_t>& dims) {
    std::vector<Dim> d;
    for (int64_t v : dims) d.push_back({v, "", ""});
    return tensor(elem, std::optional<std::vector<Dim>>(std::move(d)));
  }
  std::string str() const;  // "float[N,3]", "seq(float[?])"
};

struct ValueInfo {
  std::string name;
  TypeInfo type;
  std::string doc_string;
};

}  // namespace onyx::ir
