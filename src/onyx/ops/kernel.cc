#include "onyx/ops/kernel.h"

namespace onyx::ops {

std::string KernelContext::input_name(size_t i) const {
  return "input '" + node_.input(i) + "' (#" + std::to_string(i) + ")";
}

const Value& KernelContext::input_value(size_t i) const {
  if (!has_input(i)) fail(input_name(i), " is required but missing");
  return *inputs_[i];
}

const Tensor& KernelContext::input(size_t i) const {
  const Value& v = input_value(i);
  if (!v.is_tensor()) fail(input_name(i), " must be a tensor");
  return v.tensor();
}

Tensor& KernelContext::allocate(size_t i, DType dtype, const Shape& shape) {
  if (i >= outputs_.size() || !outputs_[i]) {
    // The graph does not use this output; give the kernel a throwaway tensor of its own.
    if (discarded_.size() <= i) discarded_.resize(i + 1);
    if (!discarded_[i]) discarded_[i] = std::make_unique<Value>();
    *discarded_[i] = Value(Tensor::empty(dtype, shape, buffers_));
    return discarded_[i]->tensor();
  }
  *outputs_[i] = Value(Tensor::empty(dtype, shape, buffers_));
  return outputs_[i]->tensor();
}

Tensor* KernelContext::reuse_input(size_t in, size_t out) {
  if (!last_reads_ || in >= last_reads_->size() || !(*last_reads_)[in]) return nullptr;
  if (!has_input(in) || !inputs_[in]->is_tensor() || !inputs_[in]->tensor().unique()) {
    return nullptr;
  }
  if (out >= outputs_.size() || !outputs_[out]) return nullptr;
  *outputs_[out] = std::move(*inputs_[in]);
  *inputs_[in] = Value();
  return &outputs_[out]->tensor();
}

Tensor& KernelContext::output_from_input(size_t in, size_t out) {
  if (Tensor* reused = reuse_input(in, out)) return *reused;
  const Tensor& x = input(in);
  Tensor& y = allocate(out, x.dtype(), x.shape());
  y.copy_from(x);
  return y;
}

void KernelContext::set_output(size_t i, Value value) {
  if (i < outputs_.size() && outputs_[i]) *outputs_[i] = std::move(value);
}

}  // namespace onyx::ops
