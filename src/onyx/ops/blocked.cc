// The runtime's ops over blocked tensors (ops/conv_dnnl.h's layout, made by
// runtime/layout.cc), float32, 1 to 3 spatial dimensions: MaxPool (without Indices),
// AveragePool, GlobalMaxPool and GlobalAveragePool, where each window tap is one
// 16-channel vector, so the loops vectorise over channels whatever the window; and
// BatchNormalization in inference mode, one scale and shift per channel.
#include <algorithm>
#include <cmath>
#include <limits>

#include "onyx/ops/conv_dnnl.h"
#include "onyx/ops/conv_util.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

constexpr int64_t kB = kChannelBlock;
static_assert(kB == 16, "Lanes below hold 16 floats");

// A window geometry widened to exactly 3 spatial dimensions (leading ones of size 1).
struct Geometry3 {
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];

  explicit Geometry3(const WindowGeometry& g) {
    int64_t lead = 3 - g.spatial;
    for (int64_t d = 0; d < 3; ++d) {
      bool real = d >= lead;
      size_t s = static_cast<size_t>(real ? d - lead : 0);
      in[d] = real ? g.in[s] : 1;
      out[d] = real ? g.out[s] : 1;
      kernel[d] = real ? g.kernel[s] : 1;
      stride[d] = real ? g.stride[s] : 1;
      dilation[d] = real ? g.dilation[s] : 1;
      pad_begin[d] = real ? g.pad_begin[s] : 0;
      pad_end[d] = real ? g.pad_end[s] : 0;
    }
  }
  // Taps [lo, hi) of dimension d for output o that land in the input, and how many land
  // in the input or its padding (AveragePool's count_include_pad).
  void taps(int64_t d, int64_t o, int64_t* lo, int64_t* hi, int64_t* padded) const {
    int64_t start = o * stride[d] - pad_begin[d], dil = dilation[d], k = kernel[d];
    auto first_at_least = [&](int64_t bound) {  // smallest tap t with start + t * dil >= bound
      return bound <= start ? 0 : std::min(k, (bound - start + dil - 1) / dil);
    };
    *lo = first_at_least(0);
    *hi = std::max(*lo, first_at_least(in[d]));
    *padded = first_at_least(in[d] + pad_end[d]);
  }
};

enum class Kind { Max, Average };

// 16 lanes as two 8-float vectors (GCC/Clang vector extensions: plain loops over 16
// lanes were vectorised across window taps instead of across lanes).
typedef float Lanes8 __attribute__((vector_size(32)));
struct Lanes {
  Lanes8 lo, hi;
};

inline Lanes load(const float* p) {
  Lanes v;
  __builtin_memcpy(&v.lo, p, sizeof v.lo);
  __builtin_memcpy(&v.hi, p + 8, sizeof v.hi);
  return v;
}

inline void store(float* p, const Lanes& v) {
  __builtin_memcpy(p, &v.lo, sizeof v.lo);
  __builtin_memcpy(p + 8, &v.hi, sizeof v.hi);
}

// One window tap into the accumulator.
template <Kind kind>
inline void accumulate(Lanes& acc, const float* p) {
  Lanes v = load(p);
  if constexpr (kind == Kind::Max) {  // NaN taps ignored, as in ops/pool.cc
    acc.lo = acc.lo < v.lo ? v.lo : acc.lo;
    acc.hi = acc.hi < v.hi ? v.hi : acc.hi;
  } else {
    acc.lo += v.lo;
    acc.hi += v.hi;
  }
}

// y[n, cb, o..., 16] over windows of x[n, cb, i..., 16].
template <Kind kind>
void pool_blocked(const float* x, int64_t planes, const Geometry3& g, bool count_include_pad,
                  float* y, ThreadPool& pool) {
  int64_t I = g.in[0] * g.in[1] * g.in[2], O = g.out[0] * g.out[1] * g.out[2];
  pool.parallel_for(planes, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const float* xp = x + p * I * kB;
      float* yp = y + p * O * kB;
      for (int64_t od = 0; od < g.out[0]; ++od) {
        int64_t d0, d1, dp;
        g.taps(0, od, &d0, &d1, &dp);
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          int64_t h0, h1, hp;
          g.taps(1, oh, &h0, &h1, &hp);
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t w0, w1, wp;
            g.taps(2, ow, &w0, &w1, &wp);
            float first = kind == Kind::Max ? std::numeric_limits<float>::lowest() : 0.0f;
            Lanes acc{first - Lanes8{}, first - Lanes8{}};
            for (int64_t kd = d0; kd < d1; ++kd) {
              int64_t id = (od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0]);
              for (int64_t kh = h0; kh < h1; ++kh) {
                int64_t ih = (oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1]);
                const float* row = xp + (id * g.in[1] + ih) * g.in[2] * kB;
                for (int64_t kw = w0; kw < w1; ++kw) {
                  const float* v =
                      row + (ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2]) * kB;
                  accumulate<kind>(acc, v);
                }
              }
            }
            float* out = yp + ((od * g.out[1] + oh) * g.out[2] + ow) * kB;
            if constexpr (kind == Kind::Average) {
              int64_t n = count_include_pad ? dp * hp * wp : (d1 - d0) * (h1 - h0) * (w1 - w0);
              float inv = n ? 1.0f / static_cast<float>(n) : 0.0f;
              acc.lo *= inv;
              acc.hi *= inv;
            }
            store(out, acc);
          }
        }
      }
    }
  });
}

void run(Kind kind, const float* x, int64_t planes, const Geometry3& g, bool count_include_pad,
         float* y, ThreadPool& pool) {
  if (kind == Kind::Max)
    pool_blocked<Kind::Max>(x, planes, g, count_include_pad, y, pool);
  else
    pool_blocked<Kind::Average>(x, planes, g, count_include_pad, y, pool);
}

// X blocked: [N, CB, spatial..., 16] with 1 to 3 spatial dimensions.
std::vector<int64_t> blocked_spatial(const KernelContext& ctx, const Tensor& x) {
  if (x.dtype() != DType::Float32 || x.rank() < 4 || x.rank() > 6 || x.dim(x.rank() - 1) != kB)
    ctx.fail(ctx.input_name(0), " is not a blocked float32 tensor: ", shape_str(x.shape()));
  return std::vector<int64_t>(x.shape().begin() + 2, x.shape().end() - 1);
}

class BlockedPoolKernel final : public Kernel {
 public:
  BlockedPoolKernel(const KernelInfo& info, Kind kind)
      : kind_(kind),
        attrs_(WindowAttrs::read(info)),
        count_include_pad_(info.node.attr_int("count_include_pad", 0) != 0) {
    if (attrs_.kernel_shape.empty())
      info.fail(ErrorKind::InvalidModel, "attribute 'kernel_shape' is required");
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> in = blocked_spatial(ctx, x);
    if (in.size() != attrs_.kernel_shape.size())
      ctx.fail("a ", attrs_.kernel_shape.size(), "-D kernel over ", in.size(),
               " spatial dimensions");
    WindowGeometry g = window_geometry(ctx, attrs_, in, attrs_.kernel_shape);
    Shape out{x.dim(0), x.dim(1)};
    out.insert(out.end(), g.out.begin(), g.out.end());
    out.push_back(kB);
    Tensor& y = ctx.allocate(0, DType::Float32, out);
    run(kind_, x.data<float>(), x.dim(0) * x.dim(1), Geometry3(g), count_include_pad_,
        y.data<float>(), ctx.pool());
  }

 private:
  Kind kind_;
  WindowAttrs attrs_;
  bool count_include_pad_;
};

class BlockedGlobalPoolKernel final : public Kernel {
 public:
  BlockedGlobalPoolKernel(const KernelInfo&, Kind kind) : kind_(kind) {}
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> in = blocked_spatial(ctx, x);
    WindowGeometry g;
    g.spatial = static_cast<int64_t>(in.size());
    g.in = g.kernel = in;
    g.out.assign(in.size(), 1);
    g.stride.assign(in.size(), 1);
    g.dilation.assign(in.size(), 1);
    g.pad_begin.assign(in.size(), 0);
    g.pad_end.assign(in.size(), 0);
    Shape out{x.dim(0), x.dim(1)};
    out.insert(out.end(), in.size(), 1);
    out.push_back(kB);
    Tensor& y = ctx.allocate(0, DType::Float32, out);
    run(kind_, x.data<float>(), x.dim(0) * x.dim(1), Geometry3(g), false, y.data<float>(),
        ctx.pool());
  }

 private:
  Kind kind_;
};

template <typename K, Kind kind>
std::unique_ptr<Kernel> make(const KernelInfo& i) {
  return std::make_unique<K>(i, kind);
}

// Inference BatchNormalization (X, scale, B, mean, var): y = x * a + b per channel, with
// a and b computed in double as ops/normalization.cc does; the padding channels stay 0.
class BlockedBatchNormKernel final : public Kernel {
 public:
  explicit BlockedBatchNormKernel(const KernelInfo& info)
      : eps_(info.node.attr_float("epsilon", 1e-5f)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<BlockedBatchNormKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> in = blocked_spatial(ctx, x);
    int64_t CB = x.dim(1), S = 1;
    for (int64_t v : in) S *= v;
    int64_t C = ctx.input(1).numel();
    if ((C + kB - 1) / kB != CB) ctx.fail("X has ", CB, " channel blocks, scale ", C, " values");
    std::vector<float> a(static_cast<size_t>(CB * kB), 0.0f), b(a.size(), 0.0f);
    for (size_t k = 1; k <= 4; ++k) {
      if (ctx.input(k).numel() != C)
        ctx.fail(ctx.input_name(k), " must hold ", C, " values, got ",
                 shape_str(ctx.input(k).shape()));
    }
    for (int64_t c = 0; c < C; ++c) {
      double scale = ctx.input(1).element_as_double(c), bias = ctx.input(2).element_as_double(c);
      double mean = ctx.input(3).element_as_double(c), var = ctx.input(4).element_as_double(c);
      double ac = static_cast<float>(scale / std::sqrt(var + eps_));
      a[static_cast<size_t>(c)] = static_cast<float>(ac);
      b[static_cast<size_t>(c)] = static_cast<float>(bias - mean * ac);
    }
    Tensor& y = ctx.allocate(0, DType::Float32, x.shape());
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    int64_t planes = x.dim(0) * CB;
    ctx.pool().parallel_for(planes, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const float* ap = a.data() + (p % CB) * kB;
        const float* bp = b.data() + (p % CB) * kB;
        const float* src = xp + p * S * kB;
        float* dst = yp + p * S * kB;
        for (int64_t s = 0; s < S; ++s) {
          for (int64_t l = 0; l < kB; ++l) dst[s * kB + l] = src[s * kB + l] * ap[l] + bp[l];
        }
      }
    });
  }

 private:
  float eps_;
};

constexpr KernelDef kDefs[] = {
    {kRuntimeDomain, "MaxPool", 1, kLatest, &make<BlockedPoolKernel, Kind::Max>},
    {kRuntimeDomain, "AveragePool", 1, kLatest, &make<BlockedPoolKernel, Kind::Average>},
    {kRuntimeDomain, "GlobalMaxPool", 1, kLatest, &make<BlockedGlobalPoolKernel, Kind::Max>},
    {kRuntimeDomain, "GlobalAveragePool", 1, kLatest,
     &make<BlockedGlobalPoolKernel, Kind::Average>},
    {kRuntimeDomain, "BatchNormalization", 1, kLatest, &BlockedBatchNormKernel::make},
};

}  // namespace

void register_blocked_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
