#include "onyx/core/tensor.h"

#include "onyx/core/narrow.h"

namespace onyx {

Tensor Tensor::empty(DType dtype, Shape shape, BufferPool* pool) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  if (dtype == DType::Undefined) fail(ErrorKind::InvalidArgument, "tensor with undefined dtype");
  if (dtype == DType::String) {
    if (static_cast<size_t>(t.numel_) > memory_limit() / sizeof(std::string)) {
      fail(ErrorKind::ResourceLimit, "string tensor of shape ", shape_str(t.shape_),
           " exceeds the memory limit");
    }
    t.strings_ = std::make_shared<std::vector<std::string>>(static_cast<size_t>(t.numel_));
    return t;
  }
  size_t elem = dtype_size(dtype);
  if (static_cast<uint64_t>(t.numel_) > memory_limit() / elem) {
    fail(ErrorKind::ResourceLimit, "tensor of shape ", shape_str(t.shape_), " and type ",
         dtype_name(dtype), " exceeds the memory limit of ", memory_limit(), " bytes");
  }
  size_t bytes = static_cast<size_t>(t.numel_) * elem;
  t.buffer_ = pool ? pool->acquire(bytes) : std::make_shared<Buffer>(bytes);
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  if (dtype != DType::String && t.nbytes()) std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.buffer_ = std::make_shared<Buffer>(data, t.nbytes(), std::move(owner));
  return t;
}

void* Tensor::raw_data() const {
  if (strings_) return strings_->data();
  return buffer_ ? buffer_->data() : nullptr;
}

Tensor Tensor::reshape(Shape shape) const {
  int64_t n = shape_numel(shape);
  if (n != numel_) {
    fail(ErrorKind::InvalidArgument, "cannot reshape ", shape_str(shape_), " to ",
         shape_str(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(dtype_, shape_);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.dtype_ != dtype_ || src.numel_ != numel_) {
    fail(ErrorKind::Internal, "copy_from: mismatched tensors");
  }
  if (dtype_ == DType::String) {
    std::copy(src.strings_->begin(), src.strings_->end(), strings_->begin());
  } else if (nbytes() && raw_data() != src.raw_data()) {
    std::memcpy(raw_data(), src.raw_data(), nbytes());
  }
}

std::vector<int64_t> Tensor::to_int64s() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  switch (dtype_) {
    case DType::Int64:
      if (numel_) std::memcpy(out.data(), raw_data(), nbytes());
      break;
    case DType::Int32: {
      const int32_t* p = data<int32_t>();
      for (int64_t i = 0; i < numel_; ++i) out[i] = p[i];
      break;
    }
    default:
      if (!is_integer(dtype_) && dtype_ != DType::Bool) {
        fail(ErrorKind::InvalidArgument, "expected an integer tensor, got ", dtype_name(dtype_));
      }
      visit_numeric(dtype_, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T>) {
          const T* p = data<T>();
          for (int64_t i = 0; i < numel_; ++i) out[i] = static_cast<int64_t>(p[i]);
        }
      });
  }
  return out;
}

double Tensor::element_as_double(int64_t i) const {
  if (dtype_ == DType::String || dtype_ == DType::Complex64 || dtype_ == DType::Complex128) {
    fail(ErrorKind::InvalidArgument, "element_as_double: ", dtype_name(dtype_), " tensor");
  }
  if (is_narrow(dtype_)) return narrow_values(dtype_)[data<uint8_t>()[i]];
  return visit_numeric(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    return static_cast<double>(static_cast<compute_t<T>>(data<T>()[i]));
  });
}

bool Tensor::unique() const {
  if (strings_) return strings_.use_count() == 1;
  return buffer_ && buffer_.use_count() == 1;
}

}  // namespace onyx
