// ai.onnx.ml LinearClassifier and LinearRegressor: scores = X W^T + b per row (in double),
// then the post_transform. A classifier with one coefficient row and two classes scores
// (-s, s), the way converters write binary models; with one score column the label is the
// first class when the score reaches 0 (0.5 after a transform), else 0.
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/ml_transform.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Rows of X times the `targets` rows of `coef` ([targets, C]) plus `intercepts` (or 0),
// into out ([N, targets], double).
void linear_scores(KernelContext& ctx, const std::vector<double>& x, int64_t n, int64_t c,
                   const std::vector<double>& coef, const std::vector<double>& intercepts,
                   int64_t targets, std::vector<double>& out) {
  out.assign(static_cast<size_t>(n * targets), 0.0);
  ctx.pool().parallel_for(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, c * targets)),
                          [&](int64_t b, int64_t e) {
                            for (int64_t r = b; r < e; ++r) {
                              const double* xr = x.data() + r * c;
                              for (int64_t t = 0; t < targets; ++t) {
                                const double* w = coef.data() + t * c;
                                double s = intercepts.empty() ? 0.0 : intercepts[t];
                                for (int64_t k = 0; k < c; ++k) s += xr[k] * w[k];
                                out[static_cast<size_t>(r * targets + t)] = s;
                              }
                            }
                          });
}

// How many coefficient rows `coef` holds for C features; fails unless it divides.
int64_t coefficient_rows(const KernelContext& ctx, const std::vector<double>& coef, int64_t c) {
  if (c <= 0 || coef.size() % static_cast<size_t>(c) != 0) {
    ctx.fail("coefficients hold ", coef.size(), " values, not a multiple of the ", c,
             " features of ", ctx.input_name(0));
  }
  return static_cast<int64_t>(coef.size()) / c;
}

class LinearClassifierKernel final : public Kernel {
 public:
  explicit LinearClassifierKernel(const KernelInfo& info)
      : labels_(info, "classlabels_ints"),
        coef_(ml::doubles(info, "coefficients")),
        intercepts_(ml::doubles(info, "intercepts")),
        post_(ml::post_transform_named(info)) {
    if (coef_.empty()) info.fail(ErrorKind::InvalidModel, "coefficients must not be empty");
    // multi_class (OvR or multinomial) changes nothing here: post_transform says how
    // the scores are normalised, as in the reference implementation.
    int64_t multi = info.node.attr_int("multi_class", 0);
    if (multi < 0 || multi > 2) info.fail(ErrorKind::InvalidModel, "bad multi_class ", multi);
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LinearClassifierKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    ml::Batch b = ml::batch_of(ctx, 0);
    int64_t classes = coefficient_rows(ctx, coef_, b.cols);
    if (!intercepts_.empty() && static_cast<int64_t>(intercepts_.size()) != classes) {
      ctx.fail("intercepts has ", intercepts_.size(), " values for ", classes, " coefficient rows");
    }
    bool two_sided = classes == 1 && labels_.size() == 2;
    int64_t cols = two_sided ? 2 : classes;
    if (cols > 1 && labels_.size() > 0 && labels_.size() != cols) {
      ctx.fail(cols, " score columns but ", labels_.size(), " class labels");
    }
    std::vector<double> raw;
    linear_scores(ctx, ml::input_doubles(ctx, 0), b.rows, b.cols, coef_, intercepts_, classes, raw);
    Tensor* y = ctx.needs_output(0) ? &ctx.allocate(0, labels_.dtype(), {b.rows}) : nullptr;
    Tensor* z = ctx.needs_output(1) ? &ctx.allocate(1, DType::Float32, {b.rows, cols}) : nullptr;
    double threshold = post_ == ml::PostTransform::None ? 0.0 : 0.5;
    std::vector<double> s(static_cast<size_t>(cols));
    for (int64_t r = 0; r < b.rows; ++r) {
      const double* in = raw.data() + r * classes;
      if (two_sided) {
        s[0] = -in[0];
        s[1] = in[0];
      } else {
        std::copy(in, in + classes, s.begin());
      }
      ml::apply(post_, s.data(), cols);
      if (z) {
        for (int64_t k = 0; k < cols; ++k)
          z->data<float>()[r * cols + k] = static_cast<float>(s[k]);
      }
      if (!y) continue;
      if (cols > 1) {
        labels_.put_index(*y, r, ml::argmax(s.data(), cols));
      } else if (s[0] >= threshold) {
        if (labels_.size() > 0) {
          labels_.put_index(*y, r, 0);
        } else {
          labels_.put_value(*y, r, 1);
        }
      } else {
        labels_.put_none(*y, r);
      }
    }
  }

 private:
  ml::ClassLabels labels_;
  std::vector<double> coef_, intercepts_;
  ml::PostTransform post_;
};

class LinearRegressorKernel final : public Kernel {
 public:
  explicit LinearRegressorKernel(const KernelInfo& info)
      : coef_(ml::doubles(info, "coefficients")),
        intercepts_(ml::doubles(info, "intercepts")),
        targets_(info.node.attr_int("targets", 1)),
        post_(ml::post_transform_named(info)) {
    if (targets_ < 1) info.fail(ErrorKind::InvalidModel, "targets must be at least 1");
    if (coef_.size() % static_cast<size_t>(targets_) != 0) {
      info.fail(ErrorKind::InvalidModel, "coefficients hold ", coef_.size(),
                " values, not a multiple of targets = ", targets_);
    }
    if (!intercepts_.empty()) {
      ml::check_size(info, "intercepts", intercepts_.size(), static_cast<size_t>(targets_),
                     "one per target");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LinearRegressorKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    ml::Batch b = ml::batch_of(ctx, 0);
    if (coefficient_rows(ctx, coef_, b.cols) != targets_) {
      ctx.fail(ctx.input_name(0), " has ", b.cols, " features but the coefficients hold ",
               coef_.size() / static_cast<size_t>(targets_), " per target");
    }
    std::vector<double> out;
    linear_scores(ctx, ml::input_doubles(ctx, 0), b.rows, b.cols, coef_, intercepts_, targets_,
                  out);
    Tensor& y = ctx.allocate(0, DType::Float32, {b.rows, targets_});
    for (int64_t r = 0; r < b.rows; ++r) {
      double* row = out.data() + r * targets_;
      ml::apply(post_, row, targets_);
      for (int64_t t = 0; t < targets_; ++t)
        y.data<float>()[r * targets_ + t] = static_cast<float>(row[t]);
    }
  }

 private:
  std::vector<double> coef_, intercepts_;
  int64_t targets_;
  ml::PostTransform post_;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "LinearClassifier", 1, kLatest, &LinearClassifierKernel::make},
    {"ai.onnx.ml", "LinearRegressor", 1, kLatest, &LinearRegressorKernel::make},
};

}  // namespace

void register_ml_linear_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
