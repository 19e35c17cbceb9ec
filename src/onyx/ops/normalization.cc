// BatchNormalization (inference and training mode), InstanceNormalization,
// LayerNormalization, LRN and Dropout. Statistics are accumulated in double.
#include <cmath>
#include <random>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Reads a per-channel parameter of C values as doubles.
std::vector<double> channel_param(const KernelContext& ctx, size_t i, int64_t c) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != c)
    ctx.fail(ctx.input_name(i), " must hold ", c, " values, got ", shape_str(t.shape()));
  std::vector<double> v(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) v[k] = t.element_as_double(k);
  return v;
}

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const KernelInfo& info)
      : eps_(info.node.attr_float("epsilon", 1e-5f)),
        momentum_(info.node.attr_float("momentum", 0.9f)),
        training_(info.opset >= 14 && info.node.attr_int("training_mode", 0) != 0),
        spatial_(info.opset >= 9 || info.node.attr_int("spatial", 1) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<BatchNormKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2)
      ctx.fail(ctx.input_name(0), " must be [N, C, ...], got ", shape_str(x.shape()));
    int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(N * C, 1);
    // spatial=0 (opset < 9) normalises each (channel, position) separately.
    int64_t groups = spatial_ ? C : C * S, inner = spatial_ ? S : 1;
    std::vector<double> scale = channel_param(ctx, 1, groups), bias = channel_param(ctx, 2, groups);
    std::vector<double> mean = channel_param(ctx, 3, groups), var = channel_param(ctx, 4, groups);
    std::vector<double> use_mean = mean, use_var = var;
    if (training_) {
      for (int64_t c = 0; c < groups; ++c) {
        double s = 0, sq = 0;
        int64_t cnt = 0;
        visit_float(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          for (int64_t n = 0; n < N; ++n) {
            const T* p = x.data<T>() + (n * groups + c) * inner;
            for (int64_t i = 0; i < inner; ++i) {
              double v = static_cast<compute_t<T>>(p[i]);
              s += v;
              sq += v * v;
            }
            cnt += inner;
          }
        });
        double m = cnt ? s / cnt : 0, v = cnt ? std::max(0.0, sq / cnt - m * m) : 0;
        use_mean[c] = m;
        use_var[c] = v;
      }
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* out = y.data<T>();
      ctx.pool().parallel_for(
          N * groups, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)),
          [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
              int64_t c = k % groups;
              compute_t<T> a = static_cast<compute_t<T>>(scale[c] / std::sqrt(use_var[c] + eps_));
              compute_t<T> sh = static_cast<compute_t<T>>(bias[c] - use_mean[c] * a);
              const T* p = in + k * inner;
              T* q = out + k * inner;
              for (int64_t i = 0; i < inner; ++i)
                q[i] = static_cast<T>(static_cast<compute_t<T>>(p[i]) * a + sh);
            }
          });
    });
    if (training_) {
      // Running statistics: input * momentum + batch * (1 - momentum).
      for (size_t o = 1; o <= 2; ++o) {
        if (!ctx.needs_output(o)) continue;
        const Tensor& ref = ctx.input(o + 2);
        Tensor& r = ctx.allocate(o, ref.dtype(), ref.shape());
        const std::vector<double>& cur = o == 1 ? use_mean : use_var;
        const std::vector<double>& old = o == 1 ? mean : var;
        visit_float(ref.dtype(), [&](auto tag) {
          using T = decltype(tag);
          for (int64_t c = 0; c < groups; ++c) {
            r.data<T>()[c] = static_cast<T>(
                static_cast<compute_t<T>>(old[c] * momentum_ + cur[c] * (1.0 - momentum_)));
          }
        });
      }
    }
  }

 private:
  double eps_, momentum_;
  bool training_, spatial_;
};

// InstanceNormalization, and GroupNormalization (opset 18) as the same loop over groups of
// channels: statistics per sample and group, then scale and bias per channel (GroupNormalization-18
// took them per group; opset 21 per channel).
class GroupNormKernel final : public Kernel {
 public:
  GroupNormKernel(const KernelInfo& info, bool grouped)
      : eps_(info.node.attr_float("epsilon", 1e-5f)),
        groups_(grouped ? info.node.attr_int("num_groups", 0) : 0),
        per_group_params_(grouped && info.opset < 21) {
    if (grouped && groups_ < 1) info.fail(ErrorKind::InvalidModel, "num_groups must be positive");
  }
  static std::unique_ptr<Kernel> make_instance(const KernelInfo& i) {
    return std::make_unique<GroupNormKernel>(i, false);
  }
  static std::unique_ptr<Kernel> make_group(const KernelInfo& i) {
    return std::make_unique<GroupNormKernel>(i, true);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < (groups_ ? 2 : 3))
      ctx.fail(ctx.input_name(0), " must be [N, C, spatial...], got ", shape_str(x.shape()));
    int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(N * C, 1);
    int64_t G = groups_ ? groups_ : C;
    if (C % G != 0) ctx.fail(C, " channels do not split into ", G, " groups");
    int64_t per = C / G;  // channels in a group
    int64_t params = per_group_params_ ? G : C;
    std::vector<double> scale = channel_param(ctx, 1, params), bias = channel_param(ctx, 2, params);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C_ = compute_t<T>;
      int64_t len = per * S;  // one group of one sample is contiguous
      ctx.pool().parallel_for(N * G, 1, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const T* p = x.data<T>() + k * len;
          T* q = y.data<T>() + k * len;
          double s = 0, sq = 0;
          for (int64_t i = 0; i < len; ++i) s += static_cast<C_>(p[i]);
          double m = len ? s / len : 0;
          for (int64_t i = 0; i < len; ++i) {
            double d = static_cast<C_>(p[i]) - m;
            sq += d * d;
          }
          double inv = 1.0 / std::sqrt((len ? sq / len : 0) + eps_);
          for (int64_t i = 0; i < len; ++i) {
            int64_t c = (k % G) * per + i / S;
            int64_t at = per_group_params_ ? k % G : c;
            q[i] = static_cast<T>(
                static_cast<C_>((static_cast<C_>(p[i]) - m) * inv * scale[at] + bias[at]));
          }
        }
      });
    });
  }

 private:
  double eps_;
  int64_t groups_;  // 0: one per channel (InstanceNormalization)
  bool per_group_params_;
};

// LayerNormalization, and RMSNormalization (opset 23) as the same loop without the mean:
// x / sqrt(mean(x^2) + epsilon) * scale over the axes from `axis` on.
class LayerNormKernel final : public Kernel {
 public:
  LayerNormKernel(const KernelInfo& info, bool rms)
      : axis_(info.node.attr_int("axis", -1)),
        eps_(info.node.attr_float("epsilon", 1e-5f)),
        rms_(rms) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LayerNormKernel>(i, false);
  }
  static std::unique_ptr<Kernel> make_rms(const KernelInfo& i) {
    return std::make_unique<LayerNormKernel>(i, true);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, x.rank());
    int64_t rows = 1, D = 1;
    for (int64_t d = 0; d < axis; ++d) rows *= x.dim(d);
    for (int64_t d = axis; d < x.rank(); ++d) D *= x.dim(d);
    Shape norm_shape(x.shape().begin() + axis, x.shape().end());
    // Scale and B broadcast to the normalised shape.
    auto param = [&](size_t i) -> Tensor {
      if (!ctx.has_input(i)) return Tensor();
      const Tensor& t = ctx.input(i);
      Shape b;
      if (!broadcast_shapes(norm_shape, t.shape(), &b) || b != norm_shape) {
        ctx.fail(ctx.input_name(i), " of shape ", shape_str(t.shape()), " does not broadcast to ",
                 shape_str(norm_shape));
      }
      if (t.numel() == D) return t;
      Tensor full = ctx.scratch(t.dtype(), norm_shape);
      visit_float(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto st = shape_strides(t.shape());
        for (int64_t k = 0; k < D; ++k) {
          int64_t rem = k, off = 0;
          for (size_t d = norm_shape.size(); d-- > 0;) {
            int64_t idx = rem % norm_shape[d];
            rem /= norm_shape[d];
            size_t td = d + t.shape().size() - norm_shape.size();
            if (d + t.shape().size() >= norm_shape.size() && t.shape()[td] != 1)
              off += idx * st[td];
          }
          full.data<T>()[k] = t.data<T>()[off];
        }
      });
      return full;
    };
    Tensor scale = param(1), bias = param(2);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    Shape stat_shape = x.shape();
    for (int64_t d = axis; d < x.rank(); ++d) stat_shape[d] = 1;
    Tensor* mean_out = ctx.needs_output(1) ? &ctx.allocate(1, DType::Float32, stat_shape) : nullptr;
    Tensor* inv_out = ctx.needs_output(2) ? &ctx.allocate(2, DType::Float32, stat_shape) : nullptr;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* sp = scale.defined() ? scale.data<T>() : nullptr;
      const T* bp = bias.defined() ? bias.data<T>() : nullptr;
      ctx.pool().parallel_for(
          rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
              double m = 0, inv = 0;
              normalize_row(x.data<T>() + r * D, y.data<T>() + r * D, D, sp, bp, &m, &inv);
              if (mean_out) mean_out->data<float>()[r] = static_cast<float>(m);
              if (inv_out) inv_out->data<float>()[r] = static_cast<float>(inv);
            }
          });
    });
  }

 private:
  // Sum of f(p[i]) in double, in 8 independent lanes so that the loop vectorises (the
  // order is fixed, so results do not depend on the vector width).
  template <typename T, typename F>
  static double lane_sum(const T* p, int64_t D, F f) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= D; i += 8) {
      for (int l = 0; l < 8; ++l)
        lanes[l] += f(static_cast<double>(static_cast<compute_t<T>>(p[i + l])));
    }
    double s = 0;
    for (; i < D; ++i) s += f(static_cast<double>(static_cast<compute_t<T>>(p[i])));
    for (double v : lanes) s += v;
    return s;
  }

  // One row: mean (0 for RMSNormalization), then 1 / sqrt(mean square deviation + eps),
  // then y = (x - mean) * inv * scale + bias, scale and bias absent when null.
  template <typename T>
  void normalize_row(const T* p, T* q, int64_t D, const T* sp, const T* bp, double* mean,
                     double* inv_std) const {
    double m = rms_ ? 0.0 : lane_sum(p, D, [](double v) { return v; }) / static_cast<double>(D);
    double sq = lane_sum(p, D, [m](double v) { return (v - m) * (v - m); });
    double inv = 1.0 / std::sqrt(sq / static_cast<double>(D) + eps_);
    *mean = m;
    *inv_std = inv;
    for (int64_t i = 0; i < D; ++i) {
      double v = (static_cast<compute_t<T>>(p[i]) - m) * inv;
      if (sp) v *= static_cast<compute_t<T>>(sp[i]);
      if (bp) v += static_cast<compute_t<T>>(bp[i]);
      q[i] = static_cast<T>(static_cast<compute_t<T>>(v));
    }
  }

 private:
  int64_t axis_;
  double eps_;
  bool rms_;
};

// LpNormalization: x / ||x||_p along `axis` (p 1 or 2); a zero norm gives zeros (opset 22
// says so; opset 1 left it open).
class LpNormKernel final : public Kernel {
 public:
  explicit LpNormKernel(const KernelInfo& info)
      : axis_(info.node.attr_int("axis", -1)), p_(info.node.attr_int("p", 2)) {
    if (p_ != 1 && p_ != 2) info.fail(ErrorKind::InvalidModel, "p must be 1 or 2, not ", p_);
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LpNormKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = normalize_axis(axis_, x.rank());
    int64_t outer = 1, n = x.dim(axis), inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          double norm = 0;
          for (int64_t k = 0; k < n; ++k) {
            double v = static_cast<compute_t<T>>(in[(o * n + k) * inner + i]);
            norm += p_ == 1 ? std::abs(v) : v * v;
          }
          if (p_ == 2) norm = std::sqrt(norm);
          for (int64_t k = 0; k < n; ++k) {
            int64_t at = (o * n + k) * inner + i;
            double v = static_cast<compute_t<T>>(in[at]);
            out[at] = static_cast<T>(static_cast<compute_t<T>>(norm > 0 ? v / norm : 0.0));
          }
        }
      }
    });
  }

 private:
  int64_t axis_, p_;
};

class LrnKernel final : public Kernel {
 public:
  explicit LrnKernel(const KernelInfo& info)
      : size_(info.node.attr_int("size", 0)),
        alpha_(info.node.attr_float("alpha", 1e-4f)),
        beta_(info.node.attr_float("beta", 0.75f)),
        bias_(info.node.attr_float("bias", 1.0f)) {
    if (size_ <= 0) info.fail(ErrorKind::InvalidModel, "size must be positive");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LrnKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3) ctx.fail(ctx.input_name(0), " must be [N, C, spatial...]");
    int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(N * C, 1);
    int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t c = 0; c < C; ++c) {
          for (int64_t s = 0; s < S; ++s) {
            double sq = 0;
            for (int64_t j = std::max<int64_t>(0, c - lo); j <= std::min(C - 1, c + hi); ++j) {
              double v = static_cast<compute_t<T>>(x.data<T>()[(n * C + j) * S + s]);
              sq += v * v;
            }
            int64_t at = (n * C + c) * S + s;
            double v = static_cast<compute_t<T>>(x.data<T>()[at]);
            y.data<T>()[at] = static_cast<T>(
                static_cast<compute_t<T>>(v / std::pow(bias_ + alpha_ / size_ * sq, beta_)));
          }
        }
      }
    });
  }

 private:
  int64_t size_;
  double alpha_, beta_, bias_;
};

// Dropout: identity (and an all-true mask) unless training; in training, elements are kept
// with probability 1 - ratio and scaled by 1 / (1 - ratio).
class DropoutKernel final : public Kernel {
 public:
  explicit DropoutKernel(const KernelInfo& info)
      : opset_(info.opset),
        ratio_(info.node.attr_float("ratio", 0.5f)),
        legacy_training_(info.opset < 7 && info.node.attr_int("is_test", 0) == 0) {
    if (const ir::Attribute* s = info.node.find_attr("seed"))
      engine_.seed(static_cast<uint64_t>(s->i));
    else
      engine_.seed(std::random_device{}());
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DropoutKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    double ratio = ratio_;
    bool training = legacy_training_;
    if (opset_ >= 12) {
      if (ctx.has_input(1)) ratio = ctx.input(1).element_as_double(0);
      training = ctx.has_input(2) && ctx.input(2).element_as_double(0) != 0;
    }
    if (ratio < 0 || ratio >= 1) ctx.fail("ratio ", ratio, " must be in [0, 1)");
    Tensor* mask = ctx.needs_output(1) ? &ctx.allocate(1, DType::Bool, x.shape()) : nullptr;
    if (!training || ratio == 0) {
      ctx.set_output(0, x);
      if (mask) std::fill_n(mask->data<bool>(), mask->numel(), true);
      return;
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    std::bernoulli_distribution keep(1.0 - ratio);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < x.numel(); ++i) {
        bool k = keep(engine_);
        y.data<T>()[i] = static_cast<T>(k ? static_cast<compute_t<T>>(x.data<T>()[i]) *
                                                static_cast<compute_t<T>>(1.0 / (1.0 - ratio))
                                          : compute_t<T>(0));
        if (mask) mask->data<bool>()[i] = k;
      }
    });
  }

 private:
  int64_t opset_;
  float ratio_;
  bool legacy_training_;
  std::mt19937_64 engine_;
};

constexpr KernelDef kDefs[] = {
    {"", "BatchNormalization", 1, kLatest, &BatchNormKernel::make},
    {"", "InstanceNormalization", 1, kLatest, &GroupNormKernel::make_instance},
    {"", "GroupNormalization", 18, kLatest, &GroupNormKernel::make_group},
    {"", "LayerNormalization", 17, kLatest, &LayerNormKernel::make},
    // For models older than opset 17, made by runtime/fusion.h from its written-out form.
    {kRuntimeDomain, "LayerNormalization", 1, kLatest, &LayerNormKernel::make},
    {"", "RMSNormalization", 23, kLatest, &LayerNormKernel::make_rms},
    {"", "LpNormalization", 1, kLatest, &LpNormKernel::make},
    {"", "LRN", 1, kLatest, &LrnKernel::make},
    {"", "Dropout", 1, kLatest, &DropoutKernel::make},
};

}  // namespace

void register_normalization_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
