// ai.onnx.ml feature preprocessing: Normalizer, Scaler, Binarizer, OneHotEncoder,
// ArrayFeatureExtractor, Imputer and FeatureVectorizer.
#include <cmath>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Normalizer: each row (the last axis) divided by its max |x| (MAX), its L1 or its L2 norm;
// a row whose divisor is 0 is kept. Rows are first scaled by max |x| (in double), as the
// reference does, so that L2 cannot overflow.
class NormalizerKernel final : public Kernel {
 public:
  explicit NormalizerKernel(const KernelInfo& info) {
    std::string norm = info.node.attr_string("norm", "MAX");
    if (norm == "MAX") {
      norm_ = Norm::Max;
    } else if (norm == "L1") {
      norm_ = Norm::L1;
    } else if (norm == "L2") {
      norm_ = Norm::L2;
    } else {
      info.fail(ErrorKind::InvalidModel, "norm must be MAX, L1 or L2, not '", norm, "'");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<NormalizerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    ml::Batch b = ml::batch_of(ctx, 0);
    std::vector<double> x = ml::input_doubles(ctx, 0);
    Tensor& y = ctx.allocate(0, DType::Float32, ctx.input(0).shape());
    for (int64_t r = 0; r < b.rows; ++r) {
      double* row = x.data() + r * b.cols;
      double mx = 0;
      for (int64_t k = 0; k < b.cols; ++k) mx = std::max(mx, std::abs(row[k]));
      if (mx != 0)
        for (int64_t k = 0; k < b.cols; ++k) row[k] /= mx;
      double d = 0;
      for (int64_t k = 0; k < b.cols && norm_ != Norm::Max; ++k)
        d += norm_ == Norm::L1 ? std::abs(row[k]) : row[k] * row[k];
      if (norm_ == Norm::L2) d = std::sqrt(d);
      for (int64_t k = 0; k < b.cols; ++k)
        y.data<float>()[r * b.cols + k] = static_cast<float>(d != 0 ? row[k] / d : row[k]);
    }
  }

 private:
  enum class Norm { Max, L1, L2 };
  Norm norm_ = Norm::Max;
};

// A per-feature attribute (length 1: every feature) checked against the last axis.
const std::vector<double>& per_feature(const KernelContext& ctx, const std::vector<double>& v,
                                       const char* name, int64_t features) {
  if (v.size() > 1 && static_cast<int64_t>(v.size()) != features) {
    ctx.fail(name, " has ", v.size(), " values but ", ctx.input_name(0), " has ", features,
             " features");
  }
  return v;
}

int64_t last_dim(const Tensor& x) {
  return x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
}

// Scaler: (x - offset) * scale along the last axis; absent attributes leave x unchanged.
class ScalerKernel final : public Kernel {
 public:
  explicit ScalerKernel(const KernelInfo& info)
      : offset_(ml::doubles(info, "offset")), scale_(ml::doubles(info, "scale")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ScalerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t f = last_dim(x);
    const auto& off = per_feature(ctx, offset_, "offset", f);
    const auto& sc = per_feature(ctx, scale_, "scale", f);
    std::vector<double> v = ml::input_doubles(ctx, 0);
    Tensor& y = ctx.allocate(0, DType::Float32, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      size_t k = static_cast<size_t>(f ? i % f : 0);
      double o = off.empty() ? 0.0 : off[off.size() == 1 ? 0 : k];
      double s = sc.empty() ? 1.0 : sc[sc.size() == 1 ? 0 : k];
      y.data<float>()[i] = static_cast<float>((v[static_cast<size_t>(i)] - o) * s);
    }
  }

 private:
  std::vector<double> offset_, scale_;
};

// Binarizer: 1 where x > threshold, else 0, in x's type.
class BinarizerKernel final : public Kernel {
 public:
  explicit BinarizerKernel(const KernelInfo& info)
      : threshold_(info.node.attr_float("threshold", 0.0f)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<BinarizerKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() == DType::String) ctx.fail(ctx.input_name(0), " must be numeric");
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i)
        out[i] = from_double<T>(to_double(in[i]) > threshold_ ? 1.0 : 0.0);
    });
  }

 private:
  double threshold_;
};

// OneHotEncoder: Y = X's shape + [categories]; numbers are cast (truncated) to integers
// and looked up in cats_int64s, strings in cats_strings. An unknown value gives zeros, or
// an error when zeros = 0.
class OneHotEncoderKernel final : public Kernel {
 public:
  explicit OneHotEncoderKernel(const KernelInfo& info)
      : zeros_(info.node.attr_int("zeros", 1) != 0) {
    std::vector<int64_t> ints = ml::ints(info, "cats_int64s");
    std::vector<std::string> strs = ml::strings(info, "cats_strings");
    if (ints.empty() == strs.empty()) {
      info.fail(ErrorKind::InvalidModel, "exactly one of cats_int64s and cats_strings is needed");
    }
    // The last occurrence of a repeated category gives its column, as in the reference.
    for (size_t i = 0; i < ints.size(); ++i) ints_[ints[i]] = static_cast<int64_t>(i);
    for (size_t i = 0; i < strs.size(); ++i) strings_[strs[i]] = static_cast<int64_t>(i);
    count_ = static_cast<int64_t>(ints.size() + strs.size());
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<OneHotEncoderKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    bool text = x.dtype() == DType::String;
    if (text != !strings_.empty()) {
      ctx.fail(ctx.input_name(0), " is ", dtype_name(x.dtype()), " but the categories are ",
               text ? "integers (cats_int64s)" : "strings (cats_strings)");
    }
    std::vector<int64_t> column(static_cast<size_t>(x.numel()), -1);
    if (text) {
      for (int64_t i = 0; i < x.numel(); ++i) {
        auto it = strings_.find(x.data<std::string>()[i]);
        if (it != strings_.end()) column[i] = it->second;
      }
    } else {
      std::vector<double> v = ml::input_doubles(ctx, 0);
      for (int64_t i = 0; i < x.numel(); ++i) {
        double d = std::trunc(v[static_cast<size_t>(i)]);
        if (!(std::abs(d) < 9.2e18)) continue;  // NaN, infinite or beyond int64
        auto it = ints_.find(static_cast<int64_t>(d));
        if (it != ints_.end()) column[i] = it->second;
      }
    }
    Shape shape = x.shape();
    shape.push_back(count_);
    Tensor& y = ctx.allocate(0, DType::Float32, shape);
    std::fill_n(y.data<float>(), y.numel(), 0.0f);
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (column[i] >= 0) {
        y.data<float>()[i * count_ + column[i]] = 1.0f;
      } else if (!zeros_) {
        ctx.fail(ctx.input_name(0), " element ", i, " is not among the categories (zeros = 0)");
      }
    }
  }

 private:
  bool zeros_;
  std::unordered_map<int64_t, int64_t> ints_;
  std::unordered_map<std::string, int64_t> strings_;
  int64_t count_ = 0;
};

// ArrayFeatureExtractor: X[..., Y] with Y's indices flattened; a 1-D X gives [1, k].
void array_feature_extractor(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 1) ctx.fail(ctx.input_name(0), " must have at least one dimension");
  std::vector<int64_t> idx = ctx.input(1).to_int64s();
  int64_t last = x.dim(x.rank() - 1), k = static_cast<int64_t>(idx.size());
  for (int64_t i : idx) {
    if (i < 0 || i >= last) {
      ctx.fail(ctx.input_name(1), " holds index ", i, ", out of range for the last axis of ",
               ctx.input_name(0), " ", shape_str(x.shape()));
    }
  }
  Shape shape = x.shape();
  if (x.rank() == 1) shape.insert(shape.begin(), 1);
  shape.back() = k;
  Tensor& y = ctx.allocate(0, x.dtype(), shape);
  int64_t outer = last ? x.numel() / last : 0;
  visit_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j) out[o * k + j] = in[o * last + idx[static_cast<size_t>(j)]];
  });
}

// Imputer: elements equal to the replaced value (NaN matches NaN) become the imputed value
// of their feature (the last axis; one value: every feature). Floating inputs use the
// *_float(s) attributes, integer inputs the *_int64(s) ones.
class ImputerKernel final : public Kernel {
 public:
  explicit ImputerKernel(const KernelInfo& info)
      : floats_(ml::doubles(info, "imputed_value_floats")),
        ints_(ml::ints(info, "imputed_value_int64s")),
        replaced_float_(info.node.attr_float("replaced_value_float", 0.0f)),
        replaced_int_(info.node.attr_int("replaced_value_int64", 0)) {
    if (floats_.empty() && ints_.empty()) {
      info.fail(ErrorKind::InvalidModel, "imputed_value_floats or imputed_value_int64s is needed");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ImputerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    bool floating = is_floating(x.dtype());
    if (!floating && !is_integer(x.dtype())) ctx.fail(ctx.input_name(0), " must be numeric");
    size_t n = floating ? floats_.size() : ints_.size();
    if (n == 0) {
      ctx.fail(ctx.input_name(0), " is ", dtype_name(x.dtype()), " but imputed_value_",
               floating ? "floats" : "int64s", " is not given");
    }
    int64_t f = last_dim(x);
    if (n != 1 && static_cast<int64_t>(n) != f) {
      ctx.fail("the ", n, " imputed values do not match the ", f, " features of ",
               ctx.input_name(0), " ", shape_str(x.shape()));
    }
    // The input's buffer may become the output's: read nothing through `x` from here on.
    Tensor& y = ctx.output_from_input(0, 0);
    visit_numeric(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = y.data<T>();
      for (int64_t i = 0; i < y.numel(); ++i) {
        size_t k = n == 1 ? 0 : static_cast<size_t>(i % f);
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          double v = to_double(p[i]);
          if (std::isnan(replaced_float_) ? std::isnan(v) : v == replaced_float_)
            p[i] = from_double<T>(floats_[k]);
        } else if (static_cast<int64_t>(p[i]) == replaced_int_) {
          p[i] = static_cast<T>(ints_[k]);
        }
      }
    });
  }

 private:
  std::vector<double> floats_;
  std::vector<int64_t> ints_;
  double replaced_float_;
  int64_t replaced_int_;
};

// FeatureVectorizer: the inputs' rows side by side, input i cut or zero-padded to
// inputdimensions[i] columns (its own width when the attribute is absent); a 1-D input is
// one row, [1, C], as the spec says.
class FeatureVectorizerKernel final : public Kernel {
 public:
  explicit FeatureVectorizerKernel(const KernelInfo& info)
      : dims_(ml::ints(info, "inputdimensions")) {
    for (int64_t d : dims_)
      if (d < 0) info.fail(ErrorKind::InvalidModel, "inputdimensions must not be negative");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<FeatureVectorizerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    size_t n = ctx.num_inputs();
    if (!dims_.empty() && dims_.size() != n) {
      ctx.fail("inputdimensions has ", dims_.size(), " entries for ", n, " inputs");
    }
    std::vector<ml::Batch> in(n);
    std::vector<int64_t> width(n);
    int64_t rows = -1, total = 0;
    for (size_t i = 0; i < n; ++i) {
      in[i] = ml::batch_of(ctx, i);
      if (rows >= 0 && in[i].rows != rows) {
        ctx.fail(ctx.input_name(i), " has ", in[i].rows, " rows, ", ctx.input_name(0), " ", rows);
      }
      rows = in[i].rows;
      width[i] = dims_.empty() ? in[i].cols : dims_[i];
      total += width[i];
    }
    Tensor& y = ctx.allocate(0, DType::Float32, {std::max<int64_t>(rows, 0), total});
    std::fill_n(y.data<float>(), y.numel(), 0.0f);
    int64_t at = 0;
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> v = ml::input_doubles(ctx, i);
      int64_t w = std::min(width[i], in[i].cols);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < w; ++k)
          y.data<float>()[r * total + at + k] = static_cast<float>(v[r * in[i].cols + k]);
      at += width[i];
    }
  }

 private:
  std::vector<int64_t> dims_;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "ArrayFeatureExtractor", 1, kLatest, &FnKernel<array_feature_extractor>::make},
    {"ai.onnx.ml", "Binarizer", 1, kLatest, &BinarizerKernel::make},
    {"ai.onnx.ml", "FeatureVectorizer", 1, kLatest, &FeatureVectorizerKernel::make},
    {"ai.onnx.ml", "Imputer", 1, kLatest, &ImputerKernel::make},
    {"ai.onnx.ml", "Normalizer", 1, kLatest, &NormalizerKernel::make},
    {"ai.onnx.ml", "OneHotEncoder", 1, kLatest, &OneHotEncoderKernel::make},
    {"ai.onnx.ml", "Scaler", 1, kLatest, &ScalerKernel::make},
};

}  // namespace

void register_ml_preprocess_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
