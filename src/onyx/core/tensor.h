// Tensor: a dtype, a shape and a shared contiguous buffer (row-major). Copies share the
// buffer; clone() copies the elements. String tensors keep std::string elements.
#pragma once

#include <cassert>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "onyx/core/buffer.h"
#include "onyx/core/dtype.h"
#include "onyx/core/shape.h"

namespace onyx {

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised elements (strings are empty). Checks the element count and memory limit.
  static Tensor empty(DType dtype, Shape shape, BufferPool* pool = nullptr);
  static Tensor zeros(DType dtype, Shape shape);
  // Wraps existing memory without copying; `owner` keeps it alive.
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t = empty(dtype_of<T>, std::move(shape));
    if (static_cast<size_t>(t.numel()) != values.size()) {
      fail(ErrorKind::InvalidArgument, "tensor of shape ", shape_str(t.shape()), " needs ",
           t.numel(), " values, got ", values.size());
    }
    T* out = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, std::vector<T>{value});
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  // Elements as T. T may be any type of the element's size (kernels read float16 bits as
  // uint16_t); a T of another size is a kernel that forgot to check its input's type, and
  // builds without NDEBUG (the sanitizer build) stop there rather than read out of bounds.
  template <typename T>
  T* data() {
    assert_element_size(sizeof(T));
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    assert_element_size(sizeof(T));
    return static_cast<const T*>(raw_data());
  }
  void* raw_data() const;
  void assert_element_size([[maybe_unused]] size_t size) const {
    assert(!defined() || dtype_ == DType::String || size == dtype_size(dtype_));
  }

  // Same elements, new shape (element counts must match).
  Tensor reshape(Shape shape) const;
  Tensor clone() const;
  // Copies the elements of `src` (same dtype and element count) into this tensor.
  void copy_from(const Tensor& src);

  template <typename T>
  std::vector<T> to_vector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + numel_);
  }
  // Reads an integer tensor of any integer dtype as int64 (shape inputs, indices).
  std::vector<int64_t> to_int64s() const;
  // Reads any numeric tensor as doubles (for printing and comparing).
  double element_as_double(int64_t i) const;

  // True when the buffer is not shared with another tensor (safe to write in place).
  bool unique() const;

 private:
  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<Buffer> buffer_;
  std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace onyx
