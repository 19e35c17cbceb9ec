// ai.onnx.ml SVMClassifier and SVMRegressor, computed in double.
//
// SVMClassifier with support vectors follows libsvm's one-vs-one scheme: for each class
// pair (i, j), i < j, the decision value is rho[k] + (class i's vectors weighted by
// coefficient row j-1) + (class j's vectors weighted by row i); a positive value votes for
// i, else j, and the label is the class with most votes (the first on ties). With
// prob_a/prob_b the scores are Platt probabilities of the pairs, coupled into class
// probabilities by libsvm's multiclass_probability. Without support vectors (liblinear
// mode) each class scores rho[0] + X . coefficients[class]. The label and score rules for
// one decision value (binary models) are the reference implementation's.
#include <cctype>
#include <cmath>
#include <numeric>
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/ml_transform.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class SvmKernelFn {
 public:
  explicit SvmKernelFn(const KernelInfo& info) {
    std::string k = info.node.attr_string("kernel_type", "LINEAR");
    for (char& ch : k) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (k == "LINEAR") {
      type_ = Type::Linear;
    } else if (k == "POLY") {
      type_ = Type::Poly;
    } else if (k == "RBF") {
      type_ = Type::Rbf;
    } else if (k == "SIGMOID") {
      type_ = Type::Sigmoid;
    } else {
      info.fail(ErrorKind::InvalidModel, "kernel_type must be LINEAR, POLY, RBF or SIGMOID, not '",
                k, "'");
    }
    std::vector<double> p = ml::doubles(info, "kernel_params");
    if (!p.empty() && p.size() != 3) {
      info.fail(ErrorKind::InvalidModel, "kernel_params must hold gamma, coef0 and degree, got ",
                p.size(), " values");
    }
    if (!p.empty()) {
      gamma_ = p[0];
      coef0_ = p[1];
      degree_ = static_cast<double>(static_cast<int64_t>(p[2]));  // the degree is an integer
    }
  }
  // The kernel of a and b (n values each); `linear` forces a plain dot product.
  double operator()(const double* a, const double* b, int64_t n, bool linear = false) const {
    if (type_ == Type::Rbf && !linear) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
      return std::exp(-gamma_ * s);
    }
    double dot = 0;
    for (int64_t i = 0; i < n; ++i) dot += a[i] * b[i];
    if (linear || type_ == Type::Linear) return dot;
    if (type_ == Type::Poly) return std::pow(dot * gamma_ + coef0_, degree_);
    return std::tanh(dot * gamma_ + coef0_);
  }

 private:
  enum class Type { Linear, Poly, Rbf, Sigmoid };
  Type type_ = Type::Linear;
  double gamma_ = 0, coef0_ = 0, degree_ = 0;
};

// Features per support vector (support_vectors holds `count` of them).
int64_t vector_length(const KernelInfo& info, size_t values, int64_t count) {
  if (count <= 0 || values % static_cast<size_t>(count) != 0) {
    info.fail(ErrorKind::InvalidModel, "support_vectors hold ", values,
              " values, not a multiple of ", count, " vectors");
  }
  return static_cast<int64_t>(values) / count;
}

void check_features(const KernelContext& ctx, const ml::Batch& b, int64_t want) {
  if (b.cols != want) {
    ctx.fail(ctx.input_name(0), " has ", b.cols, " features per row, the model ", want);
  }
}

// libsvm's pairwise coupling: class probabilities p[k] from the pairwise ones r ([k, k]).
void multiclass_probability(int64_t k, const double* r, double* p, std::vector<double>& q,
                            std::vector<double>& qp) {
  q.assign(static_cast<size_t>(k * k), 0.0);
  qp.assign(static_cast<size_t>(k), 0.0);
  for (int64_t t = 0; t < k; ++t) {
    p[t] = 1.0 / static_cast<double>(k);
    for (int64_t j = 0; j < k; ++j) {
      if (j == t) continue;
      q[t * k + t] += r[j * k + t] * r[j * k + t];
      q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  double eps = 0.005 / static_cast<double>(k);
  for (int64_t iter = 0; iter < std::max<int64_t>(100, k); ++iter) {
    double pqp = 0;
    for (int64_t t = 0; t < k; ++t) {
      qp[t] = 0;
      for (int64_t j = 0; j < k; ++j) qp[t] += q[t * k + j] * p[j];
      pqp += p[t] * qp[t];
    }
    double max_error = 0;
    for (int64_t t = 0; t < k; ++t) max_error = std::max(max_error, std::abs(qp[t] - pqp));
    if (max_error < eps) break;
    for (int64_t t = 0; t < k; ++t) {
      double diff = (-qp[t] + pqp) / q[t * k + t];
      p[t] += diff;
      pqp = (pqp + diff * (diff * q[t * k + t] + 2 * qp[t])) / (1 + diff) / (1 + diff);
      for (int64_t j = 0; j < k; ++j) {
        qp[j] = (qp[j] + diff * q[t * k + j]) / (1 + diff);
        p[j] /= 1 + diff;
      }
    }
  }
}

class SVMClassifierKernel final : public Kernel {
 public:
  explicit SVMClassifierKernel(const KernelInfo& info)
      : labels_(info, "classlabels_ints"),
        kernel_(info),
        coef_(ml::doubles(info, "coefficients")),
        rho_(ml::doubles(info, "rho")),
        sv_(ml::doubles(info, "support_vectors")),
        prob_a_(ml::doubles(info, "prob_a")),
        prob_b_(ml::doubles(info, "prob_b")),
        per_class_(ml::ints(info, "vectors_per_class")),
        post_(ml::post_transform_named(info)) {
    classes_ = std::max<int64_t>(labels_.size(), 1);
    pairs_ = classes_ * (classes_ - 1) / 2;
    for (int64_t v : per_class_) {
      if (v < 0) info.fail(ErrorKind::InvalidModel, "vectors_per_class must not be negative");
      starts_.push_back(vectors_);
      vectors_ += v;
    }
    if (coef_.empty() || rho_.empty()) {
      info.fail(ErrorKind::InvalidModel, "coefficients and rho must not be empty");
    }
    if (vectors_ > 0) {  // one-vs-one over support vectors
      if (classes_ < 2) info.fail(ErrorKind::InvalidModel, "needs at least two class labels");
      ml::check_size(info, "vectors_per_class", per_class_.size(), static_cast<size_t>(classes_),
                     "one per class");
      features_ = vector_length(info, sv_.size(), vectors_);
      if (coef_.size() % static_cast<size_t>(vectors_) != 0 ||
          static_cast<int64_t>(coef_.size()) / vectors_ < classes_ - 1) {
        info.fail(ErrorKind::InvalidModel, "coefficients must hold ", classes_ - 1, " rows of ",
                  vectors_, " values, got ", coef_.size());
      }
      if (static_cast<int64_t>(rho_.size()) < pairs_) {
        info.fail(ErrorKind::InvalidModel, "rho needs one value per class pair (", pairs_,
                  "), got ", rho_.size());
      }
      proba_ = !prob_a_.empty();
      if (proba_ && (static_cast<int64_t>(prob_a_.size()) < pairs_ ||
                     static_cast<int64_t>(prob_b_.size()) < pairs_)) {
        info.fail(ErrorKind::InvalidModel, "prob_a and prob_b need one value per class pair (",
                  pairs_, ")");
      }
    } else {  // liblinear: one coefficient row per class
      if (coef_.size() % static_cast<size_t>(classes_) != 0) {
        info.fail(ErrorKind::InvalidModel, "coefficients hold ", coef_.size(),
                  " values, not a multiple of ", classes_, " classes");
      }
      features_ = static_cast<int64_t>(coef_.size()) / classes_;
    }
    all_positive_ = *std::min_element(coef_.begin(), coef_.end()) >= 0;
    int64_t scores = proba_ ? classes_ : vectors_ > 0 ? pairs_ : classes_;
    // A single decision value: PROBIT keeps one column, binary labels get (-s, s).
    binary_ = rho_.size() == 1 && labels_.size() == 2;
    cols_ = scores >= 2 ? scores : post_ == ml::PostTransform::Probit ? 1 : binary_ ? 2 : 1;
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SVMClassifierKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    ml::Batch b = ml::batch_of(ctx, 0);
    check_features(ctx, b, features_);
    std::vector<double> x = ml::input_doubles(ctx, 0);
    Tensor* y = ctx.needs_output(0) ? &ctx.allocate(0, labels_.dtype(), {b.rows}) : nullptr;
    Tensor* z = ctx.needs_output(1) ? &ctx.allocate(1, DType::Float32, {b.rows, cols_}) : nullptr;
    int64_t cost = std::max<int64_t>(1, (vectors_ > 0 ? vectors_ : classes_) * features_);
    ctx.pool().parallel_for(
        b.rows, std::max<int64_t>(1, 16384 / cost), [&](int64_t lo, int64_t hi) {
          Row row;
          for (int64_t r = lo; r < hi; ++r) {
            score_row(x.data() + r * features_, row);
            if (y) put_label(*y, r, row);
            if (z) {
              for (int64_t k = 0; k < cols_; ++k)
                z->data<float>()[r * cols_ + k] = static_cast<float>(row.out[k]);
            }
          }
        });
  }

 private:
  struct Row {
    std::vector<double> kernels, scores, votes, pairwise, q, qp, out;
  };

  void score_row(const double* x, Row& row) const {
    row.scores.clear();
    row.votes.assign(static_cast<size_t>(vectors_ > 0 ? classes_ : 0), 0.0);
    if (vectors_ > 0) {
      row.kernels.resize(static_cast<size_t>(vectors_));
      for (int64_t v = 0; v < vectors_; ++v)
        row.kernels[v] = kernel_(x, sv_.data() + v * features_, features_);
      for (int64_t i = 0; i < classes_; ++i) {
        for (int64_t j = i + 1; j < classes_; ++j) {
          double s = rho_[row.scores.size()] + dot(j - 1, i, row) + dot(i, j, row);
          row.scores.push_back(s);
          row.votes[s > 0 ? i : j] += 1;
        }
      }
    } else {
      for (int64_t c = 0; c < classes_; ++c)
        row.scores.push_back(rho_[0] + kernel_(x, coef_.data() + c * features_, features_, true));
    }
    if (proba_) {
      row.pairwise.assign(static_cast<size_t>(classes_ * classes_), 0.0);
      int64_t k = 0;
      for (int64_t i = 0; i < classes_; ++i) {
        for (int64_t j = i + 1; j < classes_; ++j, ++k) {
          // libsvm's sigmoid_predict, kept away from 0 and 1.
          double p = 1.0 - ml::logistic(row.scores[k] * prob_a_[k] + prob_b_[k]);
          p = std::min(std::max(p, 1e-7), 1 - 1e-7);
          row.pairwise[i * classes_ + j] = p;
          row.pairwise[j * classes_ + i] = 1 - p;
        }
      }
      row.scores.resize(static_cast<size_t>(classes_));
      multiclass_probability(classes_, row.pairwise.data(), row.scores.data(), row.q, row.qp);
    }
    // The output columns.
    int64_t n = static_cast<int64_t>(row.scores.size());
    if (n >= 2) {
      row.out = row.scores;
      ml::apply(post_, row.out.data(), n);
    } else if (post_ == ml::PostTransform::Probit) {
      row.out = {ml::probit(row.scores[0])};
    } else if (binary_) {
      row.out = {-row.scores[0], row.scores[0]};
      ml::apply(post_, row.out.data(), 2);
    } else {
      row.out = {row.scores[0]};
    }
  }

  // Class `owner`'s support vectors weighted by coefficient row `coef_row`.
  double dot(int64_t coef_row, int64_t owner, const Row& row) const {
    const double* c = coef_.data() + coef_row * vectors_;
    double s = 0;
    for (int64_t v = starts_[owner]; v < starts_[owner] + per_class_[owner]; ++v)
      s += c[v] * row.kernels[v];
    return s;
  }

  void put_label(Tensor& y, int64_t r, const Row& row) const {
    const std::vector<double>& w = vectors_ > 0 ? row.votes : row.scores;
    int64_t best = ml::argmax(w.data(), static_cast<int64_t>(w.size()));
    if (rho_.size() != 1) {
      labels_.put_index(y, r, best);
    } else if (labels_.size() == 2) {
      bool second = !proba_ && all_positive_ && w[best] >= 0.5;
      labels_.put_index(y, r, second ? 1 : best);
    } else {
      labels_.put_value(y, r, w[best] > 0 ? 1 : 0);
    }
  }

  ml::ClassLabels labels_;
  SvmKernelFn kernel_;
  std::vector<double> coef_, rho_, sv_, prob_a_, prob_b_;
  std::vector<int64_t> per_class_, starts_;
  ml::PostTransform post_;
  int64_t classes_ = 1, pairs_ = 0, vectors_ = 0, features_ = 0, cols_ = 1;
  bool proba_ = false, all_positive_ = false, binary_ = false;
};

// SVMRegressor: rho[0] + sum of coefficient-weighted kernels of the support vectors (or,
// without them, rho[0] + X . coefficients); one_class gives the sign, +1 or -1.
class SVMRegressorKernel final : public Kernel {
 public:
  explicit SVMRegressorKernel(const KernelInfo& info)
      : kernel_(info),
        coef_(ml::doubles(info, "coefficients")),
        rho_(ml::doubles(info, "rho")),
        sv_(ml::doubles(info, "support_vectors")),
        supports_(info.node.attr_int("n_supports", 0)),
        one_class_(info.node.attr_int("one_class", 0) != 0),
        post_(ml::post_transform_named(info)) {
    if (rho_.empty()) info.fail(ErrorKind::InvalidModel, "rho must not be empty");
    if (supports_ < 0) info.fail(ErrorKind::InvalidModel, "n_supports must not be negative");
    if (supports_ > 0) {
      features_ = vector_length(info, sv_.size(), supports_);
      ml::check_size(info, "coefficients", coef_.size(), static_cast<size_t>(supports_),
                     "one per support vector");
    } else {
      features_ = static_cast<int64_t>(coef_.size());
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<SVMRegressorKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    ml::Batch b = ml::batch_of(ctx, 0);
    check_features(ctx, b, features_);
    std::vector<double> x = ml::input_doubles(ctx, 0);
    Tensor& y = ctx.allocate(0, DType::Float32, {b.rows, 1});
    int64_t cost = std::max<int64_t>(1, std::max<int64_t>(supports_, 1) * features_);
    ctx.pool().parallel_for(
        b.rows, std::max<int64_t>(1, 16384 / cost), [&](int64_t lo, int64_t hi) {
          for (int64_t r = lo; r < hi; ++r) {
            const double* xr = x.data() + r * features_;
            double s = 0;
            if (supports_ > 0) {
              for (int64_t v = 0; v < supports_; ++v)
                s += coef_[v] * kernel_(xr, sv_.data() + v * features_, features_);
            } else {
              s = kernel_(xr, coef_.data(), features_, true);
            }
            s += rho_[0];
            if (one_class_) s = s > 0 ? 1.0 : -1.0;
            ml::apply(post_, &s, 1);
            y.data<float>()[r] = static_cast<float>(s);
          }
        });
  }

 private:
  SvmKernelFn kernel_;
  std::vector<double> coef_, rho_, sv_;
  int64_t supports_, features_ = 0;
  bool one_class_;
  ml::PostTransform post_;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "SVMClassifier", 1, kLatest, &SVMClassifierKernel::make},
    {"ai.onnx.ml", "SVMRegressor", 1, kLatest, &SVMRegressorKernel::make},
};

}  // namespace

void register_ml_svm_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
