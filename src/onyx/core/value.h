// A runtime value: a tensor, a sequence of values, an optional (which may hold nothing), or
// a map (ai.onnx.ml's map(K, V): a 1-D tensor of keys, int64 or string, and one of as many
// values). Graph inputs, outputs and kernel arguments are Values.
#pragma once

#include <memory>
#include <vector>

#include "onyx/core/tensor.h"

namespace onyx {

class Value {
 public:
  enum class Kind { Empty, Tensor, Sequence, Optional, Map };

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

  // keys[i] -> values[i]; both 1-D, of one length (the caller checks).
  static Value map(Tensor keys, Tensor values) {
    Value v;
    v.kind_ = Kind::Map;
    v.tensor_ = std::move(keys);
    v.inner_ = std::make_shared<Value>(std::move(values));
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_optional() const { return kind_ == Kind::Optional; }
  bool is_map() const { return kind_ == Kind::Map; }
  bool empty() const { return kind_ == Kind::Empty; }
  // A map's keys and values.
  const Tensor& keys() const { return tensor_; }
  const Tensor& values() const { return inner_->tensor(); }

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
