// RegexFullMatch (opset 20): whether each string matches an RE2 pattern as a whole. The
// pattern is compiled once, when the kernel is made; a compiled RE2 is safe to share
// between threads, so compute() only reads it.
#include <re2/re2.h>

#include <memory>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class RegexFullMatchKernel final : public Kernel {
 public:
  explicit RegexFullMatchKernel(const KernelInfo& info) {
    // Not marked required by the spec: an absent pattern is "", which matches only "".
    std::string pattern = info.node.attr_string("pattern", "");
    RE2::Options options;           // UTF-8, as the spec's strings are
    options.set_log_errors(false);  // the message goes into the error below, not to stderr
    regex_ = std::make_unique<RE2>(pattern, options);
    if (!regex_->ok()) {
      info.fail(ErrorKind::InvalidModel, "pattern '", pattern,
                "' is not valid RE2 syntax: ", regex_->error());
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<RegexFullMatchKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::String) {
      ctx.fail(ctx.input_name(0), " must be a string tensor, got ", dtype_name(x.dtype()));
    }
    const std::string* in = x.data<std::string>();
    bool* y = ctx.allocate(0, DType::Bool, x.shape()).data<bool>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = RE2::FullMatch(in[i], *regex_);
  }

 private:
  std::unique_ptr<RE2> regex_;  // RE2 can be neither copied nor moved
};

constexpr KernelDef kDefs[] = {
    {"", "RegexFullMatch", 20, kLatest, &RegexFullMatchKernel::make},
};

}  // namespace

void register_regex_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
