#include "onyx/autodiff/rewriter.h"

namespace onyx::autodiff {

std::string Rewriter::ints(const std::vector<int64_t>& v) {
  return b_.constant("c", Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
}

std::string Rewriter::index(int64_t i) {
  return b_.constant("c", Tensor::scalar<int64_t>(i));
}

std::string Rewriter::scalar(double v, DType t) {
  if (t == DType::Float64) return b_.constant("c", Tensor::scalar<double>(v));
  if (t == DType::Float32) return b_.constant("c", Tensor::scalar<float>(static_cast<float>(v)));
  fail_here("values of type ", dtype_name(t), " are not supported");
}

std::optional<std::vector<int64_t>> Rewriter::dims_of(const std::string& v) const {
  auto it = types_.find(v);
  if (it == types_.end() || !it->second.shape) return std::nullopt;
  std::vector<int64_t> d;
  for (const auto& dim : *it->second.shape) d.push_back(dim.value ? *dim.value : -1);
  return d;
}

DType Rewriter::elem(const std::string& v) const {
  auto it = types_.find(v);
  return it == types_.end() ? DType::Undefined : it->second.elem;
}

void Rewriter::alias(const std::string& value, const std::string& name) {
  ir::Node id;
  id.name = b_.unique(n_.name.empty() ? n_.op_type : n_.name);
  id.op_type = "Identity";
  id.inputs = {value};
  id.outputs = {name};
  b_.graph().nodes.push_back(std::move(id));
}

}  // namespace onyx::autodiff
