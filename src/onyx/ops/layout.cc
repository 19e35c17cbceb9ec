// Ops that move elements: Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace,
// SpaceToDepth, Trilu, ReverseSequence, Compress. Most are one strided_copy of a view.
#include <numeric>

#include "onyx/ops/registry.h"
#include "onyx/ops/strided.h"

namespace onyx::ops {

namespace {

// Copies `x` viewed with dims permuted by `perm` into a new output.
void permute_into(KernelContext& ctx, const Tensor& x, const Shape& view_shape,
                  const std::vector<int64_t>& perm, Shape out_shape) {
  std::vector<int64_t> st = shape_strides(view_shape), pst(perm.size());
  Shape permuted(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    pst[i] = st[perm[i]];
    permuted[i] = view_shape[perm[i]];
  }
  Tensor& y = ctx.allocate(0, x.dtype(), permuted);
  strided_copy(x, 0, pst, y, &ctx.pool());
  ctx.set_output(0, y.reshape(std::move(out_shape)));
}

class TransposeKernel final : public Kernel {
 public:
  explicit TransposeKernel(const KernelInfo& info) : perm_(info.node.attr_ints("perm")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TransposeKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> perm = perm_;
    if (perm.empty()) {
      for (int64_t d = x.rank(); d-- > 0;) perm.push_back(d);
    }
    if (static_cast<int64_t>(perm.size()) != x.rank()) {
      ctx.fail("perm has ", perm.size(), " entries for an input of rank ", x.rank());
    }
    std::vector<bool> seen(perm.size(), false);
    for (auto& p : perm) {
      p = normalize_axis(p, x.rank(), "perm entry");
      if (seen[p]) ctx.fail("perm repeats axis ", p);
      seen[p] = true;
    }
    Shape out(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) out[i] = x.dim(perm[i]);
    permute_into(ctx, x, x.shape(), perm, out);
  }

 private:
  std::vector<int64_t> perm_;
};

class ConcatKernel final : public Kernel {
 public:
  explicit ConcatKernel(const KernelInfo& info) : axis_(info.node.attr_int("axis", 1)) {
    if (info.opset >= 4 && !info.node.has_attr("axis"))
      info.fail(ErrorKind::InvalidModel, "attribute 'axis' is required");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ConcatKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& first = ctx.input(0);
    int64_t axis = normalize_axis(axis_, first.rank());
    Shape out = first.shape();
    out[axis] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      if (t.dtype() != first.dtype() || t.rank() != first.rank()) {
        ctx.fail(ctx.input_name(i), " has type ", dtype_name(t.dtype()), shape_str(t.shape()),
                 ", which does not match ", dtype_name(first.dtype()), shape_str(first.shape()));
      }
      for (int64_t d = 0; d < t.rank(); ++d) {
        if (d != axis && t.dim(d) != first.dim(d)) {
          ctx.fail(ctx.input_name(i), " has shape ", shape_str(t.shape()), "; dimension ", d,
                   " must be ", first.dim(d));
        }
      }
      out[axis] += t.dim(axis);
    }
    Tensor& y = ctx.allocate(0, first.dtype(), out);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[d];
    for (int64_t d = axis + 1; d < first.rank(); ++d) inner *= out[d];
    int64_t offset = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      int64_t row = t.dim(axis) * inner;
      copy_blocks(t, outer, row, y, out[axis] * inner, offset);
      offset += row;
    }
  }

 private:
  int64_t axis_;
};

// Copies x[..., begin:begin+len, ...] along `axis` into output i.
void emit_slice(KernelContext& ctx, size_t i, const Tensor& x, int64_t axis, int64_t begin,
                int64_t len) {
  Shape s = x.shape();
  s[axis] = len;
  Tensor& y = ctx.allocate(i, x.dtype(), s);
  std::vector<int64_t> st = shape_strides(x.shape());
  strided_copy(x, begin * st[axis], st, y, &ctx.pool());
}

class SplitKernel final : public Kernel {
 public:
  explicit SplitKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", 0)),
        split_attr_(info.node.attr_ints("split")),
        num_outputs_(info.node.attr_int("num_outputs", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SplitKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, x.rank());
    int64_t len = x.dim(axis);
    std::vector<int64_t> sizes = split_attr_;
    if (ctx.has_input(1)) sizes = ctx.input(1).to_int64s();
    int64_t n = static_cast<int64_t>(ctx.num_outputs());
    if (n == 0) ctx.fail("Split has no outputs");
    if (sizes.empty()) {
      if (num_outputs_ > 0) {
        // Opset 18: chunks of ceil(len / n), the last one smaller.
        int64_t chunk = (len + num_outputs_ - 1) / num_outputs_;
        for (int64_t at = 0; at < len; at += chunk) sizes.push_back(std::min(chunk, len - at));
        while (static_cast<int64_t>(sizes.size()) < n) sizes.push_back(0);
      } else {
        if (len % n)
          ctx.fail("axis ", axis, " of size ", len, " does not split evenly into ", n, " outputs");
        sizes.assign(static_cast<size_t>(n), len / n);
      }
    }
    if (static_cast<int64_t>(sizes.size()) != n)
      ctx.fail("split has ", sizes.size(), " sizes for ", n, " outputs");
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) ctx.fail("split sizes must not be negative");
      if (__builtin_add_overflow(total, s, &total)) ctx.fail("split sizes overflow int64");
    }
    if (total != len) ctx.fail("split sizes sum to ", total, ", axis ", axis, " has ", len);
    int64_t at = 0;
    for (int64_t i = 0; i < n; ++i) {
      emit_slice(ctx, static_cast<size_t>(i), x, axis, at, sizes[i]);
      at += sizes[i];
    }
  }

 private:
  int64_t axis_;
  std::vector<int64_t> split_attr_;
  int64_t num_outputs_;
};

class SliceKernel final : public Kernel {
 public:
  explicit SliceKernel(const KernelInfo& info) : legacy_(info.opset < 10) {
    if (legacy_) {
      starts_ = info.node.attr_ints("starts");
      ends_ = info.node.attr_ints("ends");
      axes_ = info.node.attr_ints("axes");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SliceKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    if (!legacy_) {
      starts = ctx.input(1).to_int64s();
      ends = ctx.input(2).to_int64s();
      if (ctx.has_input(3)) axes = ctx.input(3).to_int64s();
      if (ctx.has_input(4)) steps = ctx.input(4).to_int64s();
    }
    if (starts.size() != ends.size()) ctx.fail("starts and ends differ in length");
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) {
      ctx.fail("starts, ends, axes and steps must have the same length");
    }
    Shape out = x.shape();
    std::vector<int64_t> st = shape_strides(x.shape()), view_st = st;
    int64_t offset = 0;
    std::vector<bool> seen(static_cast<size_t>(x.rank()), false);
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t axis = normalize_axis(axes[i], x.rank());
      if (seen[axis]) ctx.fail("axis ", axes[i], " appears twice");
      seen[axis] = true;
      int64_t dim = x.dim(axis), step = steps[i];
      if (step == 0) ctx.fail("steps must not be zero");
      int64_t s = starts[i], e = ends[i];
      if (s < 0) s += dim;
      if (e < 0 && e != INT64_MIN) e += dim;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = e == INT64_MIN ? 0 : std::clamp<int64_t>(e, 0, dim);
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = e == INT64_MIN ? -1 : std::clamp<int64_t>(e, -1, dim - 1);
      }
      int64_t n = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
      out[axis] = std::max<int64_t>(0, n);
      if (out[axis] > 0) offset += s * st[axis];
      view_st[axis] = st[axis] * step;
    }
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    strided_copy(x, offset, view_st, y, &ctx.pool());
  }

 private:
  bool legacy_;
  std::vector<int64_t> starts_, ends_, axes_;
};

void expand(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> shape = ctx.input(1).to_int64s();
  Shape out;
  if (!broadcast_shapes(x.shape(), shape, &out)) {
    ctx.fail("shape ", shape_str(shape), " does not broadcast with the input's ",
             shape_str(x.shape()));
  }
  std::vector<int64_t> st(out.size(), 0), xs = shape_strides(x.shape());
  size_t off = out.size() - x.shape().size();
  for (size_t i = 0; i < x.shape().size(); ++i) st[off + i] = x.shape()[i] == 1 ? 0 : xs[i];
  Tensor& y = ctx.allocate(0, x.dtype(), out);
  strided_copy(x, 0, st, y, &ctx.pool());
}

void tile(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> repeats = ctx.input(1).to_int64s();
  if (static_cast<int64_t>(repeats.size()) != x.rank()) {
    ctx.fail("repeats has ", repeats.size(), " entries for an input of rank ", x.rank());
  }
  // View the output as [r0, d0, r1, d1, ...] with stride 0 on each repeat axis.
  Shape view, out;
  std::vector<int64_t> st, xs = shape_strides(x.shape());
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (repeats[d] < 0) ctx.fail("repeats must not be negative");
    view.push_back(repeats[d]);
    view.push_back(x.dim(d));
    st.push_back(0);
    st.push_back(xs[d]);
  }
  Tensor& y = ctx.allocate(0, x.dtype(), view);  // checks the element count first
  for (int64_t d = 0; d < x.rank(); ++d) out.push_back(repeats[d] * x.dim(d));
  strided_copy(x, 0, st, y, &ctx.pool());
  ctx.set_output(0, y.reshape(out));
}

class DepthSpaceKernel final : public Kernel {
 public:
  DepthSpaceKernel(const KernelInfo& info, bool to_space)
      : to_space_(to_space),
        block_(info.node.attr_int("blocksize", 0)),
        crd_(info.node.attr_string("mode", "DCR") == "CRD") {
    if (block_ <= 0) info.fail(ErrorKind::InvalidModel, "blocksize must be positive");
  }
  static std::unique_ptr<Kernel> d2s(const KernelInfo& i) {
    return std::make_unique<DepthSpaceKernel>(i, true);
  }
  static std::unique_ptr<Kernel> s2d(const KernelInfo& i) {
    return std::make_unique<DepthSpaceKernel>(i, false);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 4)
      ctx.fail(ctx.input_name(0), " must be 4-D [N,C,H,W], got ", shape_str(x.shape()));
    int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), b = block_;
    // A blocksize of 2^32 squares to 0 in int64 (a division by zero, found by probing).
    auto times = [&](int64_t p, int64_t q) {
      int64_t r = 0;
      if (__builtin_mul_overflow(p, q, &r)) {
        ctx.fail("blocksize ", b, " makes dimensions past int64 for input shape ",
                 shape_str(x.shape()));
      }
      return r;
    };
    int64_t bb = times(b, b);
    if (to_space_) {
      if (c % bb) ctx.fail("channels ", c, " are not divisible by blocksize^2 = ", bb);
      int64_t oc = c / bb, oh = times(h, b), ow = times(w, b);
      if (crd_) {
        permute_into(ctx, x, {n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3}, {n, oc, oh, ow});
      } else {
        permute_into(ctx, x, {n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2}, {n, oc, oh, ow});
      }
    } else {
      if (h % b || w % b) ctx.fail("height and width must be divisible by blocksize ", b);
      permute_into(ctx, x, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4},
                   {n, times(c, bb), h / b, w / b});
    }
  }

 private:
  bool to_space_;
  int64_t block_;
  bool crd_;
};

class TriluKernel final : public Kernel {
 public:
  explicit TriluKernel(const KernelInfo& info) : upper_(info.node.attr_int("upper", 1) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TriluKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) ctx.fail(ctx.input_name(0), " must have rank 2 or more");
    int64_t k = 0;
    if (ctx.has_input(1)) {
      if (ctx.input(1).numel() != 1) ctx.fail(ctx.input_name(1), " must be a scalar");
      k = ctx.input(1).to_int64s()[0];
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    int64_t mats = (rows != 0 && cols != 0) ? x.numel() / (rows * cols) : 0;
    visit_any(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t m = 0; m < mats; ++m) {
        for (int64_t i = 0; i < rows; ++i) {
          for (int64_t j = 0; j < cols; ++j) {
            int64_t at = (m * rows + i) * cols + j;
            bool keep = upper_ ? j - i >= k : j - i <= k;
            out[at] = keep ? in[at] : T{};
          }
        }
      }
    });
  }

 private:
  bool upper_;
};

class ReverseSequenceKernel final : public Kernel {
 public:
  explicit ReverseSequenceKernel(const KernelInfo& info)
      : batch_axis_(info.node.attr_int("batch_axis", 1)),
        time_axis_(info.node.attr_int("time_axis", 0)) {
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0))) {
      info.fail(ErrorKind::InvalidModel, "batch_axis and time_axis must be 0 and 1 in some order");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ReverseSequenceKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) ctx.fail(ctx.input_name(0), " must have rank 2 or more");
    std::vector<int64_t> lens = ctx.input(1).to_int64s();
    int64_t batch = x.dim(batch_axis_), time = x.dim(time_axis_);
    if (static_cast<int64_t>(lens.size()) != batch)
      ctx.fail(ctx.input_name(1), " must have ", batch, " entries");
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    int64_t inner = x.numel() / std::max<int64_t>(1, batch * time);
    for (int64_t b = 0; b < batch; ++b) {
      if (lens[b] < 0 || lens[b] > time)
        ctx.fail("sequence length ", lens[b], " is outside [0, ", time, "]");
      for (int64_t t = 0; t < time; ++t) {
        int64_t src_t = t < lens[b] ? lens[b] - 1 - t : t;
        auto at = [&](int64_t tt) {
          return (time_axis_ == 0 ? tt * batch + b : b * time + tt) * inner;
        };
        copy_elements(x, at(src_t), y, at(t), inner);
      }
    }
  }

 private:
  int64_t batch_axis_, time_axis_;
};

class CompressKernel final : public Kernel {
 public:
  explicit CompressKernel(const KernelInfo& info)
      : has_axis_(info.node.has_attr("axis")), axis_(info.node.attr_int("axis", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CompressKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    Tensor x = ctx.input(0);
    const Tensor& cond = ctx.input(1);
    if (cond.dtype() != DType::Bool || cond.rank() != 1)
      ctx.fail(ctx.input_name(1), " must be a 1-D bool tensor");
    if (!has_axis_) x = x.reshape({x.numel()});
    int64_t axis = normalize_axis(has_axis_ ? axis_ : 0, x.rank());
    if (cond.numel() > x.dim(axis)) {
      ctx.fail(ctx.input_name(1), " has ", cond.numel(), " entries, axis ", axis, " has only ",
               x.dim(axis));
    }
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < cond.numel(); ++i) {
      if (cond.data<bool>()[i]) keep.push_back(i);
    }
    Shape out = x.shape();
    out[axis] = static_cast<int64_t>(keep.size());
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    int64_t n = x.dim(axis), m = static_cast<int64_t>(keep.size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < m; ++k)
        copy_elements(x, (o * n + keep[k]) * inner, y, (o * m + k) * inner, inner);
    }
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

constexpr KernelDef kDefs[] = {
    {"", "Transpose", 1, kLatest, &TransposeKernel::make},
    {"", "Concat", 1, kLatest, &ConcatKernel::make},
    {"", "Split", 1, kLatest, &SplitKernel::make},
    {"", "Slice", 1, kLatest, &SliceKernel::make},
    {"", "Expand", 8, kLatest, &FnKernel<expand>::make},
    {"", "Tile", 6, kLatest, &FnKernel<tile>::make},
    {"", "DepthToSpace", 1, kLatest, &DepthSpaceKernel::d2s},
    {"", "SpaceToDepth", 1, kLatest, &DepthSpaceKernel::s2d},
    {"", "Trilu", 14, kLatest, &TriluKernel::make},
    {"", "ReverseSequence", 10, kLatest, &ReverseSequenceKernel::make},
    {"", "Compress", 9, kLatest, &CompressKernel::make},
};

}  // namespace

void register_layout_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
