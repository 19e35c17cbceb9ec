// A runtime value: a tensor, a sequence of tensors, or an optional (which may hold
// nothing). Graph inputs, outputs and kernel arguments are Values.
#pragma once

#include <memory>
#include <vector>

#include "onyx/core/tensor.h"

namespace onyx {

class Value {
 public:
  enum class Kind { Empty, Tensor, Sequence, Optional };

  Value() = default;
  Value(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}  // NOLINT: implicit on purpose
  static Value sequence(std::vector<Value> items) {
    Value v;
    v.kind_ = Kind::Sequence;
    v.items_ = std::move(items);
    return v;
  }
  // An optional holding `inner`, or nothing when `inner` is null.
  static Value optional(std::shared_ptr<Value> inner) {
    Value v;
    v.kind_ = Kind::Optional;
    v.inner_ = std::move(inner);
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_optional() const { return kind_ == Kind::Optional; }
  bool empty() const { return kind_ == Kind::Empty; }

  const Tensor& tensor() const { return tensor_; }
  Tensor& tensor() { return tensor_; }
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  const std::shared_ptr<Value>& inner() const { return inner_; }

 private:
  Kind kind_ = Kind::Empty;
  Tensor tensor_;
  std::vector<Value> items_;
  std::shared_ptr<Value> inner_;
};

}  // namespace onyx
