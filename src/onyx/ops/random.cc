// Random generators. With a `seed` attribute a kernel's generator is seeded once, when the
// session is planned, so a session's sequence of outputs is reproducible; without one it
// is seeded from std::random_device. The spec does not fix the algorithm, so outputs are
// only comparable in distribution, shape and type with other runtimes.
#include <bit>
#include <cmath>
#include <random>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

std::mt19937_64 make_engine(const ir::Node& node) {
  if (const ir::Attribute* s = node.find_attr("seed")) {
    // Any float is a seed: whole numbers as they read, the rest (1e30, inf, NaN, which
    // int64 cannot hold) by their bits.
    if (std::abs(s->f) < 0x1p62f) {
      return std::mt19937_64(static_cast<uint64_t>(static_cast<int64_t>(s->f)));
    }
    return std::mt19937_64(std::bit_cast<uint32_t>(s->f));
  }
  std::random_device rd;
  return std::mt19937_64((static_cast<uint64_t>(rd()) << 32) ^ rd());
}

DType dtype_attr(const KernelInfo& info, DType fallback) {
  if (!info.node.has_attr("dtype")) return fallback;
  DType d;
  if (!dtype_from_int(static_cast<int32_t>(info.node.attr_int("dtype", 1)), &d)) {
    info.fail(ErrorKind::InvalidModel, "dtype attribute is not a valid element type");
  }
  return d;
}

// RandomNormal, RandomUniform and their *Like forms share one kernel.
class RandomKernel final : public Kernel {
 public:
  RandomKernel(const KernelInfo& info, bool normal, bool like)
      : engine_(make_engine(info.node)), normal_(normal), like_(like) {
    if (normal) {
      a_ = info.node.attr_float("mean", 0.0f);
      b_ = info.node.attr_float("scale", 1.0f);
    } else {
      a_ = info.node.attr_float("low", 0.0f);
      b_ = info.node.attr_float("high", 1.0f);
    }
    has_dtype_ = info.node.has_attr("dtype");
    dtype_ = dtype_attr(info, DType::Float32);
    if (!like) {
      if (!info.node.has_attr("shape"))
        info.fail(ErrorKind::InvalidModel, "attribute 'shape' is required");
      shape_ = info.node.attr_ints("shape");
    }
    if (!is_floating(dtype_))
      info.fail(ErrorKind::InvalidModel, "dtype must be a floating point type");
  }
  void compute(KernelContext& ctx) override {
    Shape shape = shape_;
    DType dt = dtype_;
    if (like_) {
      shape = ctx.input(0).shape();
      if (!has_dtype_) dt = ctx.input(0).dtype();
      if (!is_floating(dt)) ctx.fail("output type ", dtype_name(dt), " is not floating point");
    }
    Tensor& y = ctx.allocate(0, dt, shape);
    visit_float(dt, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      if (normal_) {
        std::normal_distribution<double> dist(a_, b_);
        for (int64_t i = 0; i < y.numel(); ++i) out[i] = from_double<T>(dist(engine_));
      } else {
        std::uniform_real_distribution<double> dist(a_, b_);
        for (int64_t i = 0; i < y.numel(); ++i) out[i] = from_double<T>(dist(engine_));
      }
    });
  }

 private:
  std::mt19937_64 engine_;
  bool normal_, like_, has_dtype_ = false;
  double a_ = 0, b_ = 1;
  DType dtype_;
  Shape shape_;
};

template <bool Normal, bool Like>
std::unique_ptr<Kernel> make_random(const KernelInfo& info) {
  return std::make_unique<RandomKernel>(info, Normal, Like);
}

class BernoulliKernel final : public Kernel {
 public:
  explicit BernoulliKernel(const KernelInfo& info)
      : engine_(make_engine(info.node)),
        has_dtype_(info.node.has_attr("dtype")),
        dtype_(dtype_attr(info, DType::Float32)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<BernoulliKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& p = ctx.input(0);
    DType dt = has_dtype_ ? dtype_ : p.dtype();
    Tensor& y = ctx.allocate(0, dt, p.shape());
    std::uniform_real_distribution<double> u(0.0, 1.0);
    visit_float(p.dtype(), [&](auto ptag) {
      using P = decltype(ptag);
      const P* prob = p.data<P>();
      visit_numeric(dt, [&](auto ytag) {
        using Y = decltype(ytag);
        Y* out = y.data<Y>();
        for (int64_t i = 0; i < p.numel(); ++i) {
          double q = to_double(prob[i]);
          if (!(q >= 0.0 && q <= 1.0)) ctx.fail("probability ", q, " at ", i, " is outside [0, 1]");
          out[i] = static_cast<Y>(static_cast<float>(u(engine_) < q ? 1 : 0));
        }
      });
    });
  }

 private:
  std::mt19937_64 engine_;
  bool has_dtype_;
  DType dtype_;
};

class MultinomialKernel final : public Kernel {
 public:
  explicit MultinomialKernel(const KernelInfo& info)
      : engine_(make_engine(info.node)),
        samples_(info.node.attr_int("sample_size", 1)),
        dtype_(dtype_attr(info, DType::Int32)) {
    if (dtype_ != DType::Int32 && dtype_ != DType::Int64) {
      info.fail(ErrorKind::InvalidModel, "dtype must be int32 or int64");
    }
    if (samples_ < 1) info.fail(ErrorKind::InvalidModel, "sample_size must be positive");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<MultinomialKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 2)
      ctx.fail(ctx.input_name(0), " must be [batch, classes], got ", shape_str(x.shape()));
    int64_t batch = x.dim(0), classes = x.dim(1);
    Tensor& y = ctx.allocate(0, dtype_, {batch, samples_});
    std::vector<double> cdf(static_cast<size_t>(classes));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* logits = x.data<T>();
      for (int64_t b = 0; b < batch; ++b) {
        // Inputs are unnormalised log-probabilities: exponentiate relative to the max.
        double mx = -INFINITY;
        for (int64_t c = 0; c < classes; ++c)
          mx = std::max(mx, double(float(logits[b * classes + c])));
        double acc = 0;
        for (int64_t c = 0; c < classes; ++c) {
          acc += std::exp(double(float(logits[b * classes + c])) - mx);
          cdf[c] = acc;
        }
        for (int64_t s = 0; s < samples_; ++s) {
          double r = u(engine_) * acc;
          int64_t k = std::lower_bound(cdf.begin(), cdf.end(), r) - cdf.begin();
          k = std::min(k, classes - 1);
          if (dtype_ == DType::Int32)
            y.data<int32_t>()[b * samples_ + s] = static_cast<int32_t>(k);
          else
            y.data<int64_t>()[b * samples_ + s] = k;
        }
      }
    });
  }

 private:
  std::mt19937_64 engine_;
  int64_t samples_;
  DType dtype_;
};

constexpr KernelDef kDefs[] = {
    {"", "RandomNormal", 1, kLatest, &make_random<true, false>},
    {"", "RandomUniform", 1, kLatest, &make_random<false, false>},
    {"", "RandomNormalLike", 1, kLatest, &make_random<true, true>},
    {"", "RandomUniformLike", 1, kLatest, &make_random<false, true>},
    {"", "Bernoulli", 15, kLatest, &BernoulliKernel::make},
    {"", "Multinomial", 7, kLatest, &MultinomialKernel::make},
};

}  // namespace

void register_random_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
