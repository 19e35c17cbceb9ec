// Pooling: MaxPool (with Indices), AveragePool, LpPool over any number of spatial dims,
// and the global forms. Each (image, channel) plane is pooled independently, in parallel.
#include <cmath>
#include <limits>

#include "onyx/ops/conv_util.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

enum class Pool { Max, Average, Lp };

class PoolKernel final : public Kernel {
 public:
  PoolKernel(const KernelInfo& info, Pool kind)
      : kind_(kind),
        attrs_(WindowAttrs::read(info)),
        count_include_pad_(info.node.attr_int("count_include_pad", 0) != 0),
        storage_order_(info.node.attr_int("storage_order", 0)),
        p_(info.node.attr_int("p", 2)) {
    if (attrs_.kernel_shape.empty())
      info.fail(ErrorKind::InvalidModel, "attribute 'kernel_shape' is required");
    if (kind == Pool::Lp && info.opset < 2)
      p_ = static_cast<int64_t>(info.node.attr_float("p", 2.0f));
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t n = static_cast<int64_t>(attrs_.kernel_shape.size());
    if (x.rank() != n + 2) {
      ctx.fail(ctx.input_name(0), " must have rank ", n + 2, " for a ", n, "-D kernel, got ",
               shape_str(x.shape()));
    }
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    WindowGeometry g = window_geometry(ctx, attrs_, in, attrs_.kernel_shape);
    Shape out{x.dim(0), x.dim(1)};
    out.insert(out.end(), g.out.begin(), g.out.end());
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    Tensor* idx =
        kind_ == Pool::Max && ctx.needs_output(1) ? &ctx.allocate(1, DType::Int64, out) : nullptr;
    if (kind_ != Pool::Max && !is_floating(x.dtype()))
      ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) run<T>(ctx, x, g, y, idx);
    });
  }

 private:
  // 2-D, no dilation, max or average: the common case in CNNs, with the window clipped to
  // the input once per output row and column instead of testing every tap.
  template <typename T>
  void run_2d(KernelContext& ctx, const Tensor& x, const WindowGeometry& g, Tensor& y,
              Tensor* idx) const {
    using C = compute_t<T>;
    // Plain values copied into the worker, so that stores to the int64 Indices cannot make
    // the compiler reload the geometry on every output.
    struct Geometry2d {
      int64_t H, W, OH, OW, sh, sw, ph, pw, kh, kw, eh, ew;
    };
    const Geometry2d geo{g.in[0],     g.in[1],     g.out[0],       g.out[1],
                         g.stride[0], g.stride[1], g.pad_begin[0], g.pad_begin[1],
                         g.kernel[0], g.kernel[1], g.pad_end[0],   g.pad_end[1]};
    int64_t planes = x.dim(0) * x.dim(1);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    const bool is_max = kind_ == Pool::Max, include_pad = count_include_pad_;
    const int storage_order = static_cast<int>(storage_order_);
    int64_t* indices = idx ? idx->data<int64_t>() : nullptr;
    ctx.pool().parallel_for(planes, 1, [=](int64_t b, int64_t e) {
      const Geometry2d q = geo;
      const int64_t H = q.H, W = q.W, OH = q.OH, OW = q.OW;
      for (int64_t pl = b; pl < e; ++pl) {
        const T* xp = in + pl * H * W;
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t h0 = oh * q.sh - q.ph, h1 = h0 + q.kh;
          int64_t hs = std::max<int64_t>(h0, 0), he = std::min(h1, H);
          int64_t ph = std::min(h1, H + q.eh) - h0;  // padded extent, for count_include_pad
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t w0 = ow * q.sw - q.pw, w1 = w0 + q.kw;
            int64_t ws = std::max<int64_t>(w0, 0), we = std::min(w1, W);
            T* o = out + (pl * OH + oh) * OW + ow;
            if (is_max && !idx) {
              C best = std::numeric_limits<C>::lowest();
              for (int64_t h = hs; h < he; ++h) {
                const T* row = xp + h * W;
                for (int64_t w = ws; w < we; ++w) {
                  C v = static_cast<C>(row[w]);
                  best = v > best ? v : best;
                }
              }
              *o = static_cast<T>(best);
            } else if (is_max && (hs >= he || ws >= we)) {  // a window wholly in padding
              *o = static_cast<T>(std::numeric_limits<C>::lowest());
              indices[(pl * OH + oh) * OW + ow] = pl * H * W - 1;
            } else if (is_max) {
              // The first maximum of the window (row-major), as the spec's Indices.
              int64_t arg = hs * W + ws;
              C best = static_cast<C>(xp[arg]);
              for (int64_t h = hs; h < he; ++h) {
                const T* row = xp + h * W;
                for (int64_t w = ws; w < we; ++w) {
                  // Arithmetic, not a branch (which the compiler emits for a ?: here): on
                  // real data which tap wins is unpredictable.
                  C v = static_cast<C>(row[w]);
                  int64_t greater = v > best;
                  arg += (h * W + w - arg) & -greater;
                  best = std::max(best, v);
                }
              }
              *o = static_cast<T>(best);
              int64_t flat = storage_order == 1 ? (arg % W) * H + arg / W : arg;
              indices[(pl * OH + oh) * OW + ow] = pl * H * W + flat;
            } else {
              double acc = 0;
              for (int64_t h = hs; h < he; ++h) {
                for (int64_t w = ws; w < we; ++w)
                  acc += static_cast<double>(static_cast<C>(xp[h * W + w]));
              }
              int64_t pw = std::min(w1, W + q.ew) - w0;
              int64_t div = include_pad ? ph * pw : (he - hs) * (we - ws);
              *o = static_cast<T>(static_cast<C>(div > 0 ? acc / static_cast<double>(div) : 0.0));
            }
          }
        }
      }
    });
  }

  // MaxPool 2x2 at stride 2 without padding over float (the CNN classic): each output
  // row from two input rows, in straight loops the compiler vectorises, with the first
  // maximum in row-major order as Indices (storage_order 0).
  static bool run_max_2x2(KernelContext& ctx, const Tensor& x, const WindowGeometry& g, Tensor& y,
                          Tensor* idx, int64_t storage_order) {
    if (x.dtype() != DType::Float32 || g.spatial != 2 || storage_order != 0) return false;
    for (size_t d = 0; d < 2; ++d) {
      if (g.kernel[d] != 2 || g.stride[d] != 2 || g.dilation[d] != 1 || g.pad_begin[d] != 0 ||
          g.in[d] < 2 * g.out[d])
        return false;
    }
    const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
    const float* in = x.data<float>();
    float* out = y.data<float>();
    int64_t* indices = idx ? idx->data<int64_t>() : nullptr;
    ctx.pool().parallel_for(x.dim(0) * x.dim(1) * OH, 16, [&](int64_t b, int64_t e) {
      // Locals, so that the int64 stores cannot make the compiler reload them per output.
      const int64_t h = H, w_in = W, oh_n = OH, ow_n = OW;
      const float* src = in;
      float* dst = out;
      int64_t* ind = indices;
      for (int64_t r = b; r < e; ++r) {
        int64_t pl = r / oh_n, oh = r % oh_n;
        const float* r0 = src + (pl * h + 2 * oh) * w_in;
        const float* r1 = r0 + w_in;
        float* o = dst + r * ow_n;
        if (!ind) {
          // As the general loop: from the lowest float, so that NaNs never win.
          for (int64_t w = 0; w < ow_n; ++w) {
            float m = std::numeric_limits<float>::lowest();
            for (float v : {r0[2 * w], r0[2 * w + 1], r1[2 * w], r1[2 * w + 1]}) m = v > m ? v : m;
            o[w] = m;
          }
          continue;
        }
        int64_t* ix = ind + r * ow_n;
        const int64_t base = pl * h * w_in + 2 * oh * w_in;
        for (int64_t w = 0; w < ow_n; ++w) {
          // Strictly greater moves on (ties keep the earlier tap), as selects, not branches:
          // which tap wins is unpredictable on real data.
          float a = r0[2 * w], bb = r0[2 * w + 1], c = r1[2 * w], d = r1[2 * w + 1];
          int64_t top = bb > a, bottom = d > c;
          float t = top ? bb : a, u = bottom ? d : c;
          int64_t lower = u > t;
          o[w] = lower ? u : t;
          ix[w] = base + 2 * w + (lower ? w_in + bottom : top);
        }
      }
    });
    return true;
  }

  template <typename T>
  void run(KernelContext& ctx, const Tensor& x, const WindowGeometry& g, Tensor& y,
           Tensor* idx) const {
    using C = compute_t<T>;
    if (kind_ == Pool::Max && run_max_2x2(ctx, x, g, y, idx, storage_order_)) return;
    if (g.spatial == 2 && g.dilation[0] == 1 && g.dilation[1] == 1 && kind_ != Pool::Lp) {
      run_2d<T>(ctx, x, g, y, idx);
      return;
    }
    int64_t planes = x.dim(0) * x.dim(1), I = g.in_size(), O = g.out_size(), K = g.kernel_size();
    size_t n = static_cast<size_t>(g.spatial);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    ctx.pool().parallel_for(planes, 1, [&](int64_t b, int64_t e) {
      std::vector<int64_t> o(n), k(n);
      for (int64_t plane = b; plane < e; ++plane) {
        const T* xp = in + plane * I;
        std::fill(o.begin(), o.end(), 0);
        for (int64_t oi = 0; oi < O; ++oi) {
          double acc = kind_ == Pool::Max ? -std::numeric_limits<double>::infinity() : 0.0;
          int64_t best = -1, valid = 0, padded_count = 0;
          std::fill(k.begin(), k.end(), 0);
          for (int64_t ki = 0; ki < K; ++ki) {
            int64_t off = 0;
            bool inside = true, in_padded = true;
            for (size_t d = 0; d < n; ++d) {
              int64_t i = o[d] * g.stride[d] - g.pad_begin[d] + k[d] * g.dilation[d];
              if (i < 0 || i >= g.in[d]) inside = false;
              if (i < -g.pad_begin[d] || i >= g.in[d] + g.pad_end[d]) in_padded = false;
              off = off * g.in[d] + i;
            }
            if (in_padded) ++padded_count;
            if (inside) {
              ++valid;
              double v = static_cast<double>(static_cast<C>(xp[off]));
              if (kind_ == Pool::Max) {
                if (v > acc || best < 0) {
                  acc = v;
                  best = off;
                }
              } else if (kind_ == Pool::Average) {
                acc += v;
              } else {
                acc += std::pow(std::abs(v), static_cast<double>(p_));
              }
            }
            for (size_t d = n; d-- > 0;) {
              if (++k[d] < g.kernel[d]) break;
              k[d] = 0;
            }
          }
          double result = acc;
          if (kind_ == Pool::Average) {
            int64_t div = count_include_pad_ ? padded_count : valid;
            result = div ? acc / static_cast<double>(div) : 0.0;
          } else if (kind_ == Pool::Lp) {
            result = std::pow(acc, 1.0 / static_cast<double>(p_));
          }
          out[plane * O + oi] = static_cast<T>(static_cast<C>(result));
          if (idx) {
            int64_t flat = best;
            if (storage_order_ == 1 && n == 2 && best >= 0) {
              flat = (best % g.in[1]) * g.in[0] + best / g.in[1];  // column-major within the plane
            }
            idx->data<int64_t>()[plane * O + oi] = plane * I + flat;
          }
          for (size_t d = n; d-- > 0;) {
            if (++o[d] < g.out[d]) break;
            o[d] = 0;
          }
        }
      }
    });
  }

  Pool kind_;
  WindowAttrs attrs_;
  bool count_include_pad_;
  int64_t storage_order_, p_;
};

template <Pool P>
std::unique_ptr<Kernel> make_pool(const KernelInfo& i) {
  return std::make_unique<PoolKernel>(i, P);
}

class GlobalPoolKernel final : public Kernel {
 public:
  GlobalPoolKernel(const KernelInfo& info, Pool kind)
      : kind_(kind), p_(info.node.attr_int("p", 2)) {}
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3)
      ctx.fail(ctx.input_name(0), " must be [N, C, spatial...], got ", shape_str(x.shape()));
    Shape out{x.dim(0), x.dim(1)};
    for (int64_t d = 2; d < x.rank(); ++d) out.push_back(1);
    Tensor& y = ctx.allocate(0, x.dtype(), out);
    int64_t planes = x.dim(0) * x.dim(1), I = x.numel() / std::max<int64_t>(planes, 1);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* o = y.data<T>();
      ctx.pool().parallel_for(
          planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(I, 1)), [&](int64_t b, int64_t e) {
            for (int64_t pl = b; pl < e; ++pl) {
              const T* xp = in + pl * I;
              double acc = kind_ == Pool::Max ? -std::numeric_limits<double>::infinity() : 0.0;
              for (int64_t i = 0; i < I; ++i) {
                double v = static_cast<double>(xp[i]);
                if (kind_ == Pool::Max)
                  acc = std::max(acc, v);
                else if (kind_ == Pool::Average)
                  acc += v;
                else
                  acc += std::pow(std::abs(v), static_cast<double>(p_));
              }
              if (kind_ == Pool::Average) acc /= static_cast<double>(I);
              if (kind_ == Pool::Lp) acc = std::pow(acc, 1.0 / static_cast<double>(p_));
              o[pl] = static_cast<T>(acc);
            }
          });
    });
  }

 private:
  Pool kind_;
  int64_t p_;
};

template <Pool P>
std::unique_ptr<Kernel> make_global(const KernelInfo& i) {
  return std::make_unique<GlobalPoolKernel>(i, P);
}

constexpr KernelDef kDefs[] = {
    {"", "MaxPool", 1, kLatest, &make_pool<Pool::Max>},
    {"", "AveragePool", 1, kLatest, &make_pool<Pool::Average>},
    {"", "LpPool", 1, kLatest, &make_pool<Pool::Lp>},
    {"", "GlobalMaxPool", 1, kLatest, &make_global<Pool::Max>},
    {"", "GlobalAveragePool", 1, kLatest, &make_global<Pool::Average>},
    {"", "GlobalLpPool", 1, kLatest, &make_global<Pool::Lp>},
};

}  // namespace

void register_pool_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
