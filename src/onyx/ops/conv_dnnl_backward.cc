#include "onyx/ops/conv_dnnl_backward.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "onyx/ops/dnnl_util.h"

namespace onyx::ops {

using dnnl::memory;
using Tag = memory::format_tag;

namespace {

// A plain tensor the primitive reads or writes in its own layout: `user` points at the
// caller's slice; `inner` is the primitive's (the same memory when the layouts agree).
struct Io {
  memory user, inner;
  dnnl::reorder to_inner, to_user;
  bool reordered = false;

  Io() = default;
  Io(const memory::desc& user_md, const memory::desc& inner_md, const dnnl::engine& eng) {
    user = memory(user_md, eng, DNNL_MEMORY_NONE);
    reordered = user_md != inner_md;
    if (!reordered) {
      inner = user;
      return;
    }
    // Bound to scratch from the buffer pool at each run (see bytes()), not owned: the
    // reordered copies then share memory with the rest of the step's temporaries.
    inner = memory(inner_md, eng, DNNL_MEMORY_NONE);
    to_inner = dnnl::reorder(user, inner);
    to_user = dnnl::reorder(inner, user);
  }
  // Scratch bytes the layout copy needs (64-byte multiples).
  size_t bytes() const { return reordered ? (inner.get_desc().get_size() + 63) / 64 * 64 : 0; }
  // Points the copy at `at` and returns where the next one goes.
  char* place(char* at) {
    if (!reordered) return at;
    inner.set_data_handle(at);
    return at + bytes();
  }
  void read(dnnl::stream& s, const float* data) {
    user.set_data_handle(const_cast<float*>(data));
    if (reordered) to_inner.execute(s, user, inner);
  }
  void bind(float* data) { user.set_data_handle(data); }
  void write(dnnl::stream& s) {
    if (reordered) to_user.execute(s, inner, user);
  }
};

}  // namespace

struct DnnlConvBackward::Prepared {
  struct Part {
    int64_t n0 = 0, n1 = 0;
    dnnl::primitive prim;
    Io dy, w_or_x, out;
    dnnl::stream stream;
  };
  std::vector<Part> parts;
};

DnnlConvBackward::DnnlConvBackward(Wrt wrt) : wrt_(wrt) {}
DnnlConvBackward::~DnnlConvBackward() = default;

std::unique_ptr<DnnlConvBackward::Prepared> DnnlConvBackward::prepare(const ConvProblem& p,
                                                                      int threads) const {
  const WindowGeometry& g = p.g;
  size_t rank = static_cast<size_t>(g.spatial) + 2;
  if (rank < 3 || rank > 5) return nullptr;
  const dnnl::engine& eng = dnnl_cpu();
  const auto f32 = memory::data_type::f32;
  int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  memory::dims strides(g.stride.begin(), g.stride.end()),
      pad_l(g.pad_begin.begin(), g.pad_begin.end()), pad_r(g.pad_end.begin(), g.pad_end.end()),
      dilation;
  for (int64_t d : g.dilation) dilation.push_back(d - 1);  // oneDNN counts the gaps
  // W as oneDNN sees it: [G, M / G, C / G, kernel...] when grouped (the same bytes).
  memory::dims wdims = p.group > 1 ? memory::dims{p.group, Mg, Cg} : memory::dims{p.M, Cg};
  wdims.insert(wdims.end(), g.kernel.begin(), g.kernel.end());
  memory::desc w_plain(wdims, f32, p.group > 1 ? plain_tag(rank + 1) : plain_tag(rank)),
      w_any(wdims, f32, Tag::any);

  auto prepared = std::make_unique<Prepared>();
  int64_t parts = std::clamp<int64_t>(threads, 1, p.N);
  for (int64_t t = 0; t < parts; ++t) {
    Prepared::Part part;
    part.n0 = p.N * t / parts;
    part.n1 = p.N * (t + 1) / parts;
    int64_t n = part.n1 - part.n0;
    memory::desc x_plain(dims_of(n, p.C, g.in), f32, plain_tag(rank)),
        y_plain(dims_of(n, p.M, g.out), f32, plain_tag(rank)),
        x_any(dims_of(n, p.C, g.in), f32, Tag::any), y_any(dims_of(n, p.M, g.out), f32, Tag::any);
    std::string impl;
    try {
      dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training,
                                         dnnl::algorithm::convolution_direct, x_any, w_any, y_any,
                                         strides, dilation, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc hint(fd, eng);
      if (wrt_ == Wrt::Data) {
        dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, x_any, w_any,
                                                y_any, strides, dilation, pad_l, pad_r);
        dnnl::convolution_backward_data::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        part.prim = dnnl::convolution_backward_data(pd);
        part.dy = Io(y_plain, pd.diff_dst_desc(), eng);
        part.w_or_x = Io(w_plain, pd.weights_desc(), eng);
        part.out = Io(x_plain, pd.diff_src_desc(), eng);
      } else {
        dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, x_any,
                                                   w_any, y_any, strides, dilation, pad_l, pad_r);
        dnnl::convolution_backward_weights::primitive_desc pd(d, eng, hint);
        impl = pd.impl_info_str();
        part.prim = dnnl::convolution_backward_weights(pd);
        part.dy = Io(y_plain, pd.diff_dst_desc(), eng);
        part.w_or_x = Io(x_plain, pd.src_desc(), eng);
        part.out = Io(w_plain, pd.diff_weights_desc(), eng);
      }
    } catch (const dnnl::error&) {
      return nullptr;
    }
    // Reference and plain-GEMM kernels are no faster than onyx's own loops.
    if (impl.find("ref") != std::string::npos || impl.find("gemm") != std::string::npos)
      return nullptr;
    part.stream = dnnl::stream(eng);
    prepared->parts.push_back(std::move(part));
  }
  return prepared;
}

bool DnnlConvBackward::run(KernelContext& ctx, const ConvProblem& p, const float* dy,
                           const float* w_or_x, float* out) {
  if (p.N == 0 || p.C == 0 || p.M == 0 || p.g.out_size() == 0 || p.g.in_size() == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  int threads = ctx.pool().size();
  std::vector<int64_t> key{p.N, p.C, p.M, p.group, threads};
  for (const auto* v :
       {&p.g.in, &p.g.kernel, &p.g.out, &p.g.stride, &p.g.dilation, &p.g.pad_begin, &p.g.pad_end})
    key.insert(key.end(), v->begin(), v->end());
  auto it = cache_.find(key);
  if (it == cache_.end()) it = cache_.emplace(key, prepare(p, threads)).first;
  if (!it->second) return false;
  Prepared& pr = *it->second;
  int64_t x_image = p.C * p.g.in_size(), y_image = p.M * p.g.out_size();
  int64_t w_size = p.M * (p.C / p.group) * p.g.kernel_size();
  bool weights = wrt_ == Wrt::Weights;
  // Each part's weight gradient, summed afterwards (the first part writes `out` itself).
  Tensor partial;
  if (weights && pr.parts.size() > 1)
    partial = ctx.scratch(DType::Float32, {static_cast<int64_t>(pr.parts.size() - 1) * w_size});
  size_t copies = 0;
  for (const auto& part : pr.parts)
    copies += part.dy.bytes() + part.w_or_x.bytes() + part.out.bytes();
  Tensor copy_buffer = ctx.scratch(DType::Float32, {static_cast<int64_t>(copies / 4 + 16)});
  char* at =
      reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(copy_buffer.raw_data()) + 63) / 64 * 64);
  for (auto& part : pr.parts) at = part.out.place(part.w_or_x.place(part.dy.place(at)));
  ctx.pool().parallel_for(static_cast<int64_t>(pr.parts.size()), 1, [&](int64_t b, int64_t e) {
    dnnl_single_thread();
    for (int64_t i = b; i < e; ++i) {
      auto& part = pr.parts[static_cast<size_t>(i)];
      part.dy.read(part.stream, dy + part.n0 * y_image);
      int arg_in = weights ? DNNL_ARG_SRC : DNNL_ARG_WEIGHTS;
      part.w_or_x.read(part.stream, weights ? w_or_x + part.n0 * x_image : w_or_x);
      float* dst = weights ? (i == 0 ? out : partial.data<float>() + (i - 1) * w_size)
                           : out + part.n0 * x_image;
      part.out.bind(dst);
      int arg_out = weights ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_DIFF_SRC;
      try {
        part.prim.execute(part.stream, {{DNNL_ARG_DIFF_DST, part.dy.inner},
                                        {arg_in, part.w_or_x.inner},
                                        {arg_out, part.out.inner}});
        part.out.write(part.stream);
        part.stream.wait();
      } catch (const dnnl::error& err) {
        ctx.fail("oneDNN convolution gradient failed: ", err.what());
      }
    }
  });
  for (size_t i = 1; weights && i < pr.parts.size(); ++i) {
    const float* s = partial.data<float>() + static_cast<int64_t>(i - 1) * w_size;
    for (int64_t j = 0; j < w_size; ++j) out[j] += s[j];
  }
  return true;
}

}  // namespace onyx::ops
