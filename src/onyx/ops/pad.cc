// Pad: constant, reflect and edge modes (wrap from opset 19), pads as an attribute before
// opset 11 and as inputs after, with optional axes (opset 18). Negative pads crop.
#include <cstring>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class PadKernel final : public Kernel {
 public:
  explicit PadKernel(const KernelInfo& info) : legacy_(info.opset < 11) {
    mode_ = info.node.attr_string("mode", "constant");
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge" && mode_ != "wrap") {
      info.fail(ErrorKind::InvalidModel, "mode '", mode_,
                "' is not constant, reflect, edge or wrap");
    }
    if (legacy_) {
      pads_ = info.node.attr_ints(info.opset < 2 ? "paddings" : "pads");
      value_ = info.node.attr_float("value", 0.0f);
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<PadKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t r = x.rank();
    std::vector<int64_t> pads = legacy_ ? pads_ : ctx.input(1).to_int64s();
    std::vector<int64_t> axes;
    if (!legacy_ && ctx.has_input(3)) {
      for (int64_t a : ctx.input(3).to_int64s()) axes.push_back(normalize_axis(a, r));
    } else {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    if (pads.size() != 2 * axes.size()) {
      ctx.fail("pads has ", pads.size(), " values, expected ", 2 * axes.size());
    }
    std::vector<int64_t> before(static_cast<size_t>(r), 0), after(static_cast<size_t>(r), 0);
    size_t na = axes.size();
    for (size_t i = 0; i < na; ++i) {
      before[axes[i]] = pads[i];
      after[axes[i]] = pads[na + i];
    }
    Shape out(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      if (__builtin_add_overflow(x.dim(d), before[d], &out[d]) ||
          __builtin_add_overflow(out[d], after[d], &out[d])) {
        ctx.fail("pads of dimension ", d, " overflow int64");
      }
      if (out[d] < 0) ctx.fail("pads crop dimension ", d, " below zero");
      if (mode_ != "constant" && x.dim(d) == 0 && out[d] > 0)
        ctx.fail("cannot ", mode_, "-pad an empty dimension");
      if (mode_ == "reflect" && x.dim(d) == 1 && (before[d] > 0 || after[d] > 0)) {
        // Reflecting a single element repeats it, as numpy does.
      }
    }
    if (!legacy_ && ctx.has_input(2) && x.dtype() != DType::String &&
        (ctx.input(2).numel() != 1 || ctx.input(2).dtype() != x.dtype())) {
      ctx.fail(ctx.input_name(2), " must be a scalar of the input's type");
    }
    // Allocated first: the memory limit speaks before the tables below are built (one
    // entry per output coordinate, each no longer than the output once it is not empty).
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    if (y.numel() == 0) return;
    // For each output coordinate along each dim: the source index, or -1 for the pad value.
    std::vector<std::vector<int64_t>> src(static_cast<size_t>(r));
    for (int64_t d = 0; d < r; ++d) {
      int64_t n = x.dim(d);
      src[d].resize(static_cast<size_t>(out[d]));
      for (int64_t o = 0; o < out[d]; ++o) {
        int64_t i = o - before[d];
        if (i < 0 || i >= n) {
          if (mode_ == "constant") {
            i = -1;
          } else if (mode_ == "edge") {
            i = std::clamp<int64_t>(i, 0, n - 1);
          } else if (mode_ == "wrap") {
            i = ((i % n) + n) % n;
          } else if (n == 1) {
            i = 0;
          } else {
            int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n) i = period - i;
          }
        }
        src[d][o] = i;
      }
    }
    std::vector<int64_t> xs = shape_strides(x.shape());
    visit_any(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T fill{};
      if constexpr (!std::is_same_v<T, std::string>) {
        if (legacy_) {
          fill = static_cast<T>(static_cast<compute_t<T>>(value_));
        } else if (ctx.has_input(2)) {
          fill = ctx.input(2).data<T>()[0];  // checked above
        }
      }
      const T* in = x.data<T>();
      T* o = y.data<T>();
      std::vector<int64_t> idx(static_cast<size_t>(r), 0);
      for (int64_t k = 0; k < y.numel(); ++k) {
        int64_t off = 0;
        bool pad = false;
        for (int64_t d = 0; d < r; ++d) {
          int64_t s = src[d][idx[d]];
          if (s < 0) {
            pad = true;
            break;
          }
          off += s * xs[d];
        }
        o[k] = pad ? fill : in[off];
        for (int64_t d = r; d-- > 0;) {
          if (++idx[d] < out[d]) break;
          idx[d] = 0;
        }
      }
    });
  }

 private:
  bool legacy_;
  std::string mode_;
  std::vector<int64_t> pads_;
  float value_ = 0;
};

// CenterCropPad (opset 18): each named axis cropped to a centred window (start rounded
// down) or zero-padded around the input (the odd pixel on the right).
class CenterCropPadKernel final : public Kernel {
 public:
  explicit CenterCropPadKernel(const KernelInfo& info) : axes_(info.node.attr_ints("axes")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CenterCropPadKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() == DType::String) ctx.fail("string tensors are not supported");
    std::vector<int64_t> dims = ctx.input(1).to_int64s(), axes = axes_;
    int64_t r = x.rank();
    if (axes.empty()) {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    if (dims.size() != axes.size()) {
      ctx.fail(ctx.input_name(1), " has ", dims.size(), " values for ", axes.size(), " axes");
    }
    Shape out = x.shape();
    std::vector<int64_t> shift(static_cast<size_t>(r), 0);  // input index = output index + shift
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
      if (a < 0 || a >= r) ctx.fail("axis ", axes[i], " is out of range for rank ", r);
      if (dims[i] < 0) ctx.fail("dimensions must not be negative");
      out[a] = dims[i];
      int64_t diff = x.dim(a) - dims[i];  // > 0: crop from diff / 2; < 0: pad by -diff / 2
      shift[a] = diff >= 0 ? diff / 2 : -((-diff) / 2);
    }
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    size_t elem = dtype_size(x.dtype());
    std::memset(y.raw_data(), 0, y.nbytes());
    std::vector<int64_t> xs = shape_strides(x.shape()), idx(static_cast<size_t>(r), 0);
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y.raw_data());
    for (int64_t o = 0; o < y.numel(); ++o) {
      int64_t rem = o, off = 0;
      bool inside = true;
      for (int64_t d = r - 1; d >= 0; --d) {
        int64_t c = rem % out[d] + shift[d];
        rem /= out[d];
        inside = inside && c >= 0 && c < x.dim(d);
        off += c * xs[d];
      }
      if (inside) std::memcpy(dst + o * elem, src + off * elem, elem);
    }
  }

 private:
  std::vector<int64_t> axes_;
};

constexpr KernelDef kDefs[] = {
    {"", "Pad", 1, kLatest, &PadKernel::make},
    {"", "CenterCropPad", 18, kLatest, &CenterCropPadKernel::make},
};

}  // namespace

void register_pad_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
