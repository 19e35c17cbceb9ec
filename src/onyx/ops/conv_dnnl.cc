#include "onyx/ops/conv_dnnl.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <unordered_map>

#include "onyx/ops/dnnl_util.h"

namespace onyx::ops {

using dnnl::memory;
using Tag = memory::format_tag;

ConvEpilogue ConvEpilogue::read(const ir::Node& n) {
  ConvEpilogue e;
  std::string k = n.attr_string("_onyx_activation", "");
  if (k == "Relu")
    e.kind = Kind::Relu;
  else if (k == "LeakyRelu")
    e.kind = Kind::LeakyRelu;
  else if (k == "Clip")
    e.kind = Kind::Clip;
  e.alpha = n.attr_float("_onyx_alpha", 0);
  e.lo = n.attr_float("_onyx_min", 0);
  e.hi = n.attr_float("_onyx_max", 0);
  return e;
}

namespace {

constexpr int64_t kBlock = kChannelBlock;

int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

Tag blocked_tag(size_t rank) {  // channel (dim 1) blocked by 16
  switch (rank) {
    case 3:
      return Tag::aBc16b;
    case 4:
      return Tag::aBcd16b;
    case 5:
      return Tag::aBcde16b;
    default:
      return Tag::undef;
  }
}

// An 8x8 float transpose: out[j * ld + i] = in[i * ls + j] (AVX2, which the build assumes).
inline void transpose8(const float* in, int64_t ls, float* out, int64_t ld) {
  __m256 r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + i * ls);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}

}  // namespace

Shape blocked_shape(const Shape& plain) {
  Shape b = plain;
  b[1] = (plain[1] + kBlock - 1) / kBlock;
  b.push_back(kBlock);
  return b;
}

std::optional<Shape> unblocked_shape(const Tensor& x, int64_t channels) {
  if (x.rank() < 3 || channels < 0 || x.dim(x.rank() - 1) != kBlock ||
      x.dim(1) != (channels + kBlock - 1) / kBlock)
    return std::nullopt;
  Shape plain(x.shape().begin(), x.shape().end() - 1);
  plain[1] = channels;
  return plain;
}

void to_blocked(const float* x, int64_t N, int64_t C, int64_t S, float* xb, ThreadPool& pool) {
  int64_t CB = (C + kBlock - 1) / kBlock;
  pool.parallel_for(N * CB, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t n = i / CB, cb = i % CB, c0 = cb * kBlock, nc = std::min(kBlock, C - c0);
      const float* src = x + (n * C + c0) * S;
      float* dst = xb + i * S * kBlock;
      if (nc < kBlock) std::fill_n(dst, S * kBlock, 0.0f);
      int64_t s0 = 0;
      if (nc == kBlock) {  // a full block: 8x8 transposes, the rest below
        for (; s0 + 8 <= S; s0 += 8) {
          transpose8(src + s0, S, dst + s0 * kBlock, kBlock);
          transpose8(src + 8 * S + s0, S, dst + s0 * kBlock + 8, kBlock);
        }
      }
      for (; s0 < S; s0 += kBlock) {
        int64_t ns = std::min(kBlock, S - s0);
        for (int64_t c = 0; c < nc; ++c) {
          for (int64_t s = 0; s < ns; ++s) dst[(s0 + s) * kBlock + c] = src[c * S + s0 + s];
        }
      }
    }
  });
}

void from_blocked(const float* yb, int64_t N, int64_t C, int64_t S, float* y, ThreadPool& pool) {
  int64_t CB = (C + kBlock - 1) / kBlock;
  pool.parallel_for(N * CB, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t n = i / CB, cb = i % CB, c0 = cb * kBlock, nc = std::min(kBlock, C - c0);
      const float* src = yb + i * S * kBlock;
      float* dst = y + (n * C + c0) * S;
      int64_t s0 = 0;
      if (nc == kBlock) {
        for (; s0 + 8 <= S; s0 += 8) {
          transpose8(src + s0 * kBlock, kBlock, dst + s0, S);
          transpose8(src + s0 * kBlock + 8, kBlock, dst + 8 * S + s0, S);
        }
      }
      for (; s0 < S; s0 += kBlock) {
        int64_t ns = std::min(kBlock, S - s0);
        for (int64_t c = 0; c < nc; ++c) {
          for (int64_t s = 0; s < ns; ++s) dst[c * S + s0 + s] = src[(s0 + s) * kBlock + c];
        }
      }
    }
  });
}

struct DnnlConv::Prepared {
  // Images [n0, n1), input channels [c0, c1), output channels [m0, m1), and groups
  // [g0, g1) of a grouped convolution.
  struct Slice {
    int64_t n0, n1, c0, c1, m0, m1, g0, g1;
  };
  // One single-threaded primitive over a slice of the work.
  struct Part {
    Slice at;
    dnnl::convolution_forward conv;
    dnnl::reorder weights_reorder;  // plain slice of W -> the layout the primitive wants
    memory src, weights_plain, weights, bias, dst, scratch;
    size_t scratch_bytes = 0;
    dnnl::stream stream;
  };
  std::vector<Part> parts;
  bool src_blocked = false;
  bool weights_ready = false;  // constant weights already reordered
};

DnnlConv::DnnlConv(const Tensor* constant_w) : constant_w_(constant_w) {}
DnnlConv::~DnnlConv() = default;

namespace {

using Slice = DnnlConv::Prepared::Slice;

// Whole images per thread when the batch allows, else blocks of output channels (or of
// groups whose channels start on a block boundary).
std::vector<Slice> split_work(const ConvProblem& p, int threads) {
  int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  std::vector<Slice> out;
  auto whole = [&](int64_t n0, int64_t n1) { out.push_back({n0, n1, 0, p.C, 0, p.M, 0, p.group}); };
  if (threads <= 1 || p.N > 1) {
    int64_t parts = std::min<int64_t>(std::max(threads, 1), p.N);
    for (int64_t t = 0; t < parts; ++t) whole(p.N * t / parts, p.N * (t + 1) / parts);
    return out;
  }
  // Groups per unit so that every unit's channels start on a block boundary.
  int64_t unit = 1;
  if (p.group > 1) {
    auto need = [](int64_t per) { return kBlock / std::gcd(per, kBlock); };
    unit = std::lcm(need(Cg), need(Mg));
  }
  int64_t units = p.group > 1 ? (p.group + unit - 1) / unit : (p.M + kBlock - 1) / kBlock;
  int64_t parts = std::min<int64_t>(threads, units);
  for (int64_t t = 0; t < parts; ++t) {
    int64_t u0 = units * t / parts, u1 = units * (t + 1) / parts;
    if (p.group > 1) {
      int64_t g0 = u0 * unit, g1 = std::min(p.group, u1 * unit);
      out.push_back({0, 1, g0 * Cg, g1 * Cg, g0 * Mg, g1 * Mg, g0, g1});
    } else {
      out.push_back({0, 1, 0, p.C, u0 * kBlock, std::min(p.M, u1 * kBlock), 0, 1});
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<DnnlConv::Prepared> DnnlConv::prepare(const ConvProblem& p, const ConvEpilogue& e,
                                                      bool accumulate, bool with_bias,
                                                      int threads) {
  // X blocked unless it has fewer channels than a block (a first layer's 3 would become
  // 16); the other layout when oneDNN has no kernel for the first. (Left to choose, oneDNN
  // picks NHWC for depthwise X, and then only reference kernels write blocked Y.)
  bool blocked_first = p.C >= kBlock;
  if (auto pr = prepare_with(p, e, accumulate, with_bias, threads, blocked_first)) return pr;
  return prepare_with(p, e, accumulate, with_bias, threads, !blocked_first);
}

std::unique_ptr<DnnlConv::Prepared> DnnlConv::prepare_with(const ConvProblem& p,
                                                           const ConvEpilogue& e, bool accumulate,
                                                           bool with_bias, int threads,
                                                           bool src_blocked) {
  const WindowGeometry& g = p.g;
  size_t rank = static_cast<size_t>(g.spatial) + 2;
  if (blocked_tag(rank) == Tag::undef) return nullptr;
  const dnnl::engine& eng = dnnl_cpu();
  int64_t Cg = p.C / p.group, Mg = p.M / p.group;

  dnnl::post_ops ops;
  if (accumulate) ops.append_sum(1.0f);  // before the activation: act(conv + residual)
  if (e.kind == ConvEpilogue::Kind::Relu) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  } else if (e.kind == ConvEpilogue::Kind::LeakyRelu) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, e.alpha, 0.0f);
  } else if (e.kind == ConvEpilogue::Kind::Clip) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, e.lo, e.hi);
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

  memory::dims strides(g.stride.begin(), g.stride.end()),
      pad_l(g.pad_begin.begin(), g.pad_begin.end()), pad_r(g.pad_end.begin(), g.pad_end.end()),
      dilation;
  for (int64_t d : g.dilation) dilation.push_back(d - 1);  // oneDNN counts the gaps

  auto prepared = std::make_unique<Prepared>();
  prepared->src_blocked = src_blocked;
  Tag src_tag = src_blocked ? blocked_tag(rank) : plain_tag(rank);
  for (const Slice& sl : split_work(p, threads)) {
    int64_t n = sl.n1 - sl.n0, c = sl.c1 - sl.c0, m = sl.m1 - sl.m0, groups = sl.g1 - sl.g0;
    memory::desc src_md(dims_of(n, c, g.in), memory::data_type::f32, src_tag);
    memory::desc dst_md(dims_of(n, m, g.out), memory::data_type::f32, blocked_tag(rank));
    memory::dims wdims = p.group > 1 ? dims_of(groups, Mg, {}) : dims_of(m, Cg, g.kernel);
    if (p.group > 1) {
      wdims.push_back(Cg);
      wdims.insert(wdims.end(), g.kernel.begin(), g.kernel.end());
    }
    memory::desc wplain_md(wdims, memory::data_type::f32, plain_tag(wdims.size()));
    memory::desc w_md(wdims, memory::data_type::f32, Tag::any);
    memory::desc b_md =
        with_bias ? memory::desc({m}, memory::data_type::f32, Tag::a) : memory::desc();
    dnnl::convolution_forward::primitive_desc pd;
    try {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src_md, w_md, b_md,
                                        dst_md, strides, dilation, pad_l, pad_r);
      pd = dnnl::convolution_forward::primitive_desc(d, attr, eng);
    } catch (const dnnl::error&) {
      return nullptr;
    }
    // Reference kernels are far slower than onyx's own loops.
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
    Prepared::Part part;
    part.at = sl;
    part.conv = dnnl::convolution_forward(pd);
    part.src = memory(pd.src_desc(), eng, DNNL_MEMORY_NONE);
    part.dst = memory(pd.dst_desc(), eng, DNNL_MEMORY_NONE);
    part.bias = memory(b_md, eng, DNNL_MEMORY_NONE);
    part.weights_plain = memory(wplain_md, eng, DNNL_MEMORY_NONE);
    part.weights = memory(pd.weights_desc(), eng);  // owned: reordered into
    part.weights_reorder = dnnl::reorder(part.weights_plain, part.weights);
    part.scratch_bytes = pd.scratchpad_desc().get_size();
    part.scratch = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
    part.stream = dnnl::stream(eng);
    prepared->parts.push_back(std::move(part));
  }
  return prepared;
}

void DnnlConv::execute(KernelContext& ctx, const ConvProblem& p, Prepared& pr, ConvIo io,
                       const float* x, const float* w, const float* bias, float* y) {
  bool x_blocked = io.x_blocked, y_blocked = io.y_blocked;
  const WindowGeometry& g = p.g;
  int64_t in_size = g.in_size(), out_size = g.out_size();
  int64_t c_pad = pr.src_blocked ? round_up(p.C, kBlock) : p.C, m_pad = round_up(p.M, kBlock);
  int64_t Cg = p.C / p.group, Mg = p.M / p.group, ks = g.kernel_size();
  const float* xs = x;
  Tensor xr;  // x reordered to the primitive's layout
  if (x_blocked != pr.src_blocked) {
    xr = ctx.scratch(DType::Float32, {p.N * c_pad * in_size});
    if (pr.src_blocked)
      to_blocked(x, p.N, p.C, in_size, xr.data<float>(), ctx.pool());
    else
      from_blocked(x, p.N, p.C, in_size, xr.data<float>(), ctx.pool());
    xs = xr.data<float>();
  }
  Tensor yb;
  float* yd = y;
  if (!y_blocked) {
    yb = ctx.scratch(DType::Float32, {p.N * m_pad * out_size});
    yd = yb.data<float>();
    if (io.accumulate) to_blocked(y, p.N, p.M, out_size, yd, ctx.pool());
  }
  // Each part's scratchpad, 64-byte aligned, in one buffer.
  std::vector<size_t> pad_at;
  size_t pad_total = 0;
  for (const auto& part : pr.parts) {
    pad_at.push_back(pad_total);
    pad_total += (part.scratch_bytes + 63) / 64 * 64;
  }
  Tensor pad = ctx.scratch(DType::Float32, {static_cast<int64_t>(pad_total / 4 + 16)});
  auto* pad_base =
      reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(pad.raw_data()) + 63) / 64 * 64);
  // The constant weights themselves (not a widened copy): reordered once, then kept.
  bool constant =
      constant_w_ && constant_w_->dtype() == DType::Float32 && w == constant_w_->data<float>();
  bool reuse_weights = pr.weights_ready && constant;
  ctx.pool().parallel_for(static_cast<int64_t>(pr.parts.size()), 1, [&](int64_t b, int64_t e) {
    dnnl_single_thread();
    for (int64_t i = b; i < e; ++i) {
      auto& part = pr.parts[static_cast<size_t>(i)];
      part.src.set_data_handle(
          const_cast<float*>(xs + part.at.n0 * c_pad * in_size + part.at.c0 * in_size));
      part.dst.set_data_handle(yd + part.at.n0 * m_pad * out_size + part.at.m0 * out_size);
      part.scratch.set_data_handle(pad_base + pad_at[static_cast<size_t>(i)]);
      if (!reuse_weights) {
        int64_t at = p.group > 1 ? part.at.g0 * Mg * Cg * ks : part.at.m0 * Cg * ks;
        part.weights_plain.set_data_handle(const_cast<float*>(w + at));
        part.weights_reorder.execute(part.stream, part.weights_plain, part.weights);
      }
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, part.src},
                                           {DNNL_ARG_WEIGHTS, part.weights},
                                           {DNNL_ARG_DST, part.dst},
                                           {DNNL_ARG_SCRATCHPAD, part.scratch}};
      if (bias) {
        part.bias.set_data_handle(const_cast<float*>(bias + part.at.m0));
        args.emplace(DNNL_ARG_BIAS, part.bias);
      }
      try {
        part.conv.execute(part.stream, args);
        part.stream.wait();
      } catch (const dnnl::error& err) {
        ctx.fail("oneDNN convolution failed: ", err.what());
      }
    }
  });
  pr.weights_ready = constant;
  if (!y_blocked) from_blocked(yd, p.N, p.M, out_size, y, ctx.pool());
}

bool DnnlConv::run(KernelContext& ctx, const ConvProblem& p, const ConvEpilogue& e, ConvIo io,
                   const float* x, const float* w, const float* bias, float* y) {
  if (p.N == 0 || p.C == 0 || p.M == 0 || p.g.out_size() == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  int threads = ctx.pool().size();
  // W may be a fed input whose shape changes between runs: its sizes are in the key too.
  std::vector<int64_t> key{
      p.N, p.C, p.M, threads, bias ? 1 : 0, io.accumulate ? 1 : 0, static_cast<int64_t>(e.kind)};
  key.insert(key.end(), p.g.in.begin(), p.g.in.end());
  key.insert(key.end(), p.g.kernel.begin(), p.g.kernel.end());
  auto it = cache_.find(key);
  if (it == cache_.end())
    it = cache_.emplace(key, prepare(p, e, io.accumulate, bias != nullptr, threads)).first;
  if (!it->second) return false;
  execute(ctx, p, *it->second, io, x, w, bias, y);
  return true;
}

}  // namespace onyx::ops
