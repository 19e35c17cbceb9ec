// String ops: StringNormalizer and TfIdfVectorizer.
#include <algorithm>
#include <map>
#include <set>

#include "onyx/ops/elementwise.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class StringNormalizerKernel final : public Kernel {
 public:
  explicit StringNormalizerKernel(const KernelInfo& info) {
    const ir::Node& n = info.node;
    action_ = n.attr_string("case_change_action", "NONE");
    if (action_ != "NONE" && action_ != "LOWER" && action_ != "UPPER") {
      info.fail(ErrorKind::InvalidModel, "case_change_action must be NONE, LOWER or UPPER");
    }
    case_sensitive_ = n.attr_int("is_case_sensitive", 0) != 0;
    for (const auto& s : n.attr_strings("stopwords"))
      stopwords_.insert(case_sensitive_ ? s : lower(s));
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<StringNormalizerKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::String) ctx.fail(ctx.input_name(0), " must be a string tensor");
    if (!(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1))) {
      ctx.fail(ctx.input_name(0), " must have shape [C] or [1, C], got ", shape_str(x.shape()));
    }
    std::vector<std::string> kept;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const std::string& s = x.data<std::string>()[i];
      if (stopwords_.count(case_sensitive_ ? s : lower(s))) continue;
      kept.push_back(action_ == "LOWER" ? lower(s) : action_ == "UPPER" ? upper(s) : s);
    }
    if (kept.empty()) kept.emplace_back();  // the spec keeps one empty string
    Shape shape = x.rank() == 1 ? Shape{static_cast<int64_t>(kept.size())}
                                : Shape{1, static_cast<int64_t>(kept.size())};
    Tensor& y = ctx.allocate(0, DType::String, shape);
    std::copy(kept.begin(), kept.end(), y.data<std::string>());
  }

 private:
  std::string action_;
  bool case_sensitive_ = false;
  std::set<std::string> stopwords_;
};

// TfIdfVectorizer: counts the pool's n-grams (with skips) in each row of the input.
class TfIdfVectorizerKernel final : public Kernel {
 public:
  explicit TfIdfVectorizerKernel(const KernelInfo& info) {
    const ir::Node& n = info.node;
    min_n_ = n.attr_int("min_gram_length", 1);
    max_n_ = n.attr_int("max_gram_length", 1);
    max_skip_ = n.attr_int("max_skip_count", 0);
    mode_ = n.attr_string("mode", "TF");
    counts_ = n.attr_ints("ngram_counts");
    indexes_ = n.attr_ints("ngram_indexes");
    weights_ = n.attr_floats("weights");
    ints_ = n.attr_ints("pool_int64s");
    strings_ = n.attr_strings("pool_strings");
    if (min_n_ < 1 || max_n_ < min_n_ || max_skip_ < 0)
      info.fail(ErrorKind::InvalidModel, "bad gram lengths");
    if (mode_ != "TF" && mode_ != "IDF" && mode_ != "TFIDF")
      info.fail(ErrorKind::InvalidModel, "bad mode");
    if (static_cast<int64_t>(counts_.size()) < max_n_) {
      info.fail(ErrorKind::InvalidModel, "ngram_counts needs an entry per gram length");
    }
    bool use_strings = !strings_.empty();
    int64_t pool_size =
        use_strings ? static_cast<int64_t>(strings_.size()) : static_cast<int64_t>(ints_.size());
    // Map each pool n-gram to its output index.
    int64_t gram_id = 0;
    for (int64_t len = 1; len <= static_cast<int64_t>(counts_.size()); ++len) {
      int64_t start = counts_[len - 1];
      int64_t end = len < static_cast<int64_t>(counts_.size()) ? counts_[len] : pool_size;
      if (start < 0 || end > pool_size || start > end || (end - start) % len) {
        info.fail(ErrorKind::InvalidModel, "ngram_counts do not fit the pool");
      }
      for (int64_t p = start; p < end; p += len, ++gram_id) {
        if (gram_id >= static_cast<int64_t>(indexes_.size())) {
          info.fail(ErrorKind::InvalidModel, "ngram_indexes is shorter than the pool");
        }
        std::vector<std::string> key;
        for (int64_t k = 0; k < len; ++k)
          key.push_back(use_strings ? strings_[p + k] : std::to_string(ints_[p + k]));
        grams_[key] = indexes_[gram_id];
      }
    }
    for (int64_t i : indexes_) {
      if (i < 0) info.fail(ErrorKind::InvalidModel, "negative ngram index");
      out_size_ = std::max(out_size_, i + 1);
    }
    if (!weights_.empty() && static_cast<int64_t>(weights_.size()) < out_size_) {
      info.fail(ErrorKind::InvalidModel, "weights has fewer entries than output columns");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<TfIdfVectorizerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.rank() != 1 && x.rank() != 2) ctx.fail(ctx.input_name(0), " must have rank 1 or 2");
    int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
    int64_t cols = x.rank() == 2 ? x.dim(1) : x.dim(0);
    std::vector<std::string> tokens(static_cast<size_t>(x.numel()));
    if (x.dtype() == DType::String) {
      std::copy_n(x.data<std::string>(), x.numel(), tokens.begin());
    } else if (x.dtype() == DType::Int32 || x.dtype() == DType::Int64) {
      auto v = x.to_int64s();
      for (size_t i = 0; i < v.size(); ++i) tokens[i] = std::to_string(v[i]);
    } else {
      ctx.fail(ctx.input_name(0), " must be string, int32 or int64");
    }
    Shape shape = x.rank() == 2 ? Shape{rows, out_size_} : Shape{out_size_};
    Tensor& y = ctx.allocate(0, DType::Float32, shape);
    float* out = y.data<float>();
    std::fill_n(out, y.numel(), 0.0f);
    std::vector<std::string> key;
    for (int64_t r = 0; r < rows; ++r) {
      const std::string* row = tokens.data() + r * cols;
      float* o = out + r * out_size_;
      // Lengths past the row and skips past its end find nothing: the attributes, which
      // may say 2^40, bound nothing by themselves.
      for (int64_t len = min_n_; len <= std::min(max_n_, cols); ++len) {
        // Unigrams have no gaps to skip over, so count them once.
        int64_t max_skip = len == 1 ? 0 : std::min(max_skip_, cols);
        for (int64_t skip = 0; skip <= max_skip; ++skip) {
          int64_t stride = skip + 1;
          for (int64_t start = 0; start + (len - 1) * stride < cols; ++start) {
            key.clear();
            for (int64_t k = 0; k < len; ++k) key.push_back(row[start + k * stride]);
            auto it = grams_.find(key);
            if (it != grams_.end()) o[it->second] += 1.0f;
          }
        }
      }
      for (int64_t c = 0; c < out_size_; ++c) {
        float w = weights_.empty() ? 1.0f : weights_[c];
        if (mode_ == "IDF")
          o[c] = o[c] > 0 ? w : 0.0f;
        else if (mode_ == "TFIDF")
          o[c] *= w;
      }
    }
  }

 private:
  int64_t min_n_ = 1, max_n_ = 1, max_skip_ = 0, out_size_ = 0;
  std::string mode_;
  std::vector<int64_t> counts_, indexes_, ints_;
  std::vector<float> weights_;
  std::vector<std::string> strings_;
  std::map<std::vector<std::string>, int64_t> grams_;
};

// StringConcat (opset 20): X + Y elementwise, with NumPy broadcasting.
void string_concat(KernelContext& ctx) {
  const Tensor &x = ctx.input(0), &y = ctx.input(1);
  if (x.dtype() != DType::String || y.dtype() != DType::String) ctx.fail("inputs must be strings");
  Shape shape = broadcast_inputs(ctx, {0, 1});
  Tensor& out = ctx.allocate(0, DType::String, shape);
  auto strides = [&](const Tensor& t) {  // element strides aligned right, 0 on broadcast axes
    std::vector<int64_t> st(shape.size(), 0);
    int64_t s = 1;
    for (int64_t d = t.rank() - 1, o = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d, --o) {
      st[static_cast<size_t>(o)] = t.dim(d) == 1 ? 0 : s;
      s *= t.dim(d);
    }
    return st;
  };
  std::vector<int64_t> sx = strides(x), sy = strides(y);
  std::string* o = out.data<std::string>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t rem = i, ix = 0, iy = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      int64_t c = rem % shape[d];
      rem /= shape[d];
      ix += c * sx[d];
      iy += c * sy[d];
    }
    o[i] = x.data<std::string>()[ix] + y.data<std::string>()[iy];
  }
}

constexpr KernelDef kDefs[] = {
    {"", "StringConcat", 20, kLatest, &FnKernel<string_concat>::make},
    {"", "StringNormalizer", 10, kLatest, &StringNormalizerKernel::make},
    {"", "TfIdfVectorizer", 9, kLatest, &TfIdfVectorizerKernel::make},
};

}  // namespace

void register_string_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
