// Constant: its value is fixed when the kernel is made; compute() only hands it out.
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class ConstantKernel final : public Kernel {
 public:
  explicit ConstantKernel(const KernelInfo& info) {
    const ir::Node& n = info.node;
    if (n.attributes.size() != 1) {
      info.fail(ErrorKind::InvalidModel, "exactly one value attribute is required, got ",
                n.attributes.size());
    }
    const ir::Attribute& a = n.attributes[0];
    if (a.name == "value") {
      value_ = a.t;
    } else if (a.name == "value_float") {
      value_ = Tensor::scalar<float>(a.f);
    } else if (a.name == "value_floats") {
      value_ = Tensor::from_vector<float>({static_cast<int64_t>(a.floats.size())}, a.floats);
    } else if (a.name == "value_int") {
      value_ = Tensor::scalar<int64_t>(a.i);
    } else if (a.name == "value_ints") {
      value_ = Tensor::from_vector<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints);
    } else if (a.name == "value_string") {
      value_ = Tensor::scalar<std::string>(a.s);
    } else if (a.name == "value_strings") {
      value_ =
          Tensor::from_vector<std::string>({static_cast<int64_t>(a.strings.size())}, a.strings);
    } else if (a.name == "sparse_value") {
      info.fail(ErrorKind::Unsupported, "sparse_value is not supported yet");
    } else {
      info.fail(ErrorKind::InvalidModel, "unknown attribute '", a.name, "'");
    }
    if (!value_.defined()) info.fail(ErrorKind::InvalidModel, "attribute '", a.name, "' is empty");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<ConstantKernel>(info);
  }
  void compute(KernelContext& ctx) override { ctx.set_output(0, value_); }

 private:
  Tensor value_;
};

constexpr KernelDef kDefs[] = {
    {"", "Constant", 1, kLatest, &ConstantKernel::make},
};

}  // namespace

void register_constant_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
