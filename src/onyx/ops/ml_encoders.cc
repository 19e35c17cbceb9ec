// ai.onnx.ml LabelEncoder (ML opsets 1, 2 and 4) and CategoryMapper: element-wise table
// look-ups. One Encoder holds the keys (strings, integers or floating point numbers, where
// a NaN key matches any NaN) and a value table whose last entry is the default.
#include <cmath>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "onyx/ops/ml_attrs.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

enum class KeyKind { String, Integer, Floating };

const char* kind_name(KeyKind k) {
  return k == KeyKind::String ? "strings" : k == KeyKind::Integer ? "integers" : "floats";
}

class Encoder {
 public:
  Encoder() = default;
  // Keys from a list attribute; a repeated key maps to its last value.
  explicit Encoder(const std::vector<std::string>& keys) : kind_(KeyKind::String) {
    for (size_t i = 0; i < keys.size(); ++i) strings_[keys[i]] = static_cast<int64_t>(i);
    count_ = static_cast<int64_t>(keys.size());
  }
  explicit Encoder(const std::vector<int64_t>& keys) : kind_(KeyKind::Integer) {
    for (size_t i = 0; i < keys.size(); ++i) ints_[keys[i]] = static_cast<int64_t>(i);
    count_ = static_cast<int64_t>(keys.size());
  }
  explicit Encoder(const std::vector<double>& keys) : kind_(KeyKind::Floating) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (std::isnan(keys[i])) {
        nan_ = static_cast<int64_t>(i);
      } else {
        floats_[keys[i]] = static_cast<int64_t>(i);
      }
    }
    count_ = static_cast<int64_t>(keys.size());
  }
  // Keys from a 1-D tensor attribute (keys_tensor).
  static Encoder from_tensor(const KernelInfo& info, const Tensor& t) {
    if (t.dtype() == DType::String) return Encoder(t.to_vector<std::string>());
    if (is_integer(t.dtype())) return Encoder(t.to_int64s());
    if (is_floating(t.dtype())) return Encoder(ml::tensor_doubles(info, "keys_tensor", t));
    info.fail(ErrorKind::InvalidModel, "keys_tensor cannot hold ", dtype_name(t.dtype()));
  }

  int64_t count() const { return count_; }

  // Sets the values: `values` holds count() entries plus the default, last.
  void set_values(const KernelInfo& info, Tensor values) {
    if (values.numel() != count_ + 1) {
      info.fail(ErrorKind::InvalidModel, "the ", count_, " keys have ", values.numel() - 1,
                " values");
    }
    values_ = std::move(values);
  }

  void compute(KernelContext& ctx) const {
    const Tensor& x = ctx.input(0);
    bool fits = kind_ == KeyKind::String    ? x.dtype() == DType::String
                : kind_ == KeyKind::Integer ? is_integer(x.dtype())
                                            : is_floating(x.dtype());
    if (!fits) {
      ctx.fail(ctx.input_name(0), " is ", dtype_name(x.dtype()), " but the keys are ",
               kind_name(kind_));
    }
    std::vector<int64_t> at(static_cast<size_t>(x.numel()), count_);  // default: last entry
    if (kind_ == KeyKind::String) {
      const std::string* p = x.data<std::string>();
      for (int64_t i = 0; i < x.numel(); ++i) find(strings_, p[i], at[i]);
    } else if (kind_ == KeyKind::Integer) {
      std::vector<int64_t> v = x.to_int64s();
      for (int64_t i = 0; i < x.numel(); ++i) find(ints_, v[i], at[i]);
    } else {
      for (int64_t i = 0; i < x.numel(); ++i) {
        double v = x.element_as_double(i);
        if (std::isnan(v)) {
          if (nan_ >= 0) at[i] = nan_;
        } else {
          find(floats_, v, at[i]);
        }
      }
    }
    Tensor& y = ctx.allocate(0, values_.dtype(), x.shape());
    visit_any(values_.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* table = values_.data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) out[i] = table[at[i]];
    });
  }

 private:
  template <typename Map, typename K>
  static void find(const Map& m, const K& key, int64_t& at) {
    auto it = m.find(key);
    if (it != m.end()) at = it->second;
  }

  KeyKind kind_ = KeyKind::String;
  std::unordered_map<std::string, int64_t> strings_;
  std::unordered_map<int64_t, int64_t> ints_;
  std::unordered_map<double, int64_t> floats_;  // -0.0 and 0.0 are one key
  int64_t nan_ = -1, count_ = 0;
  Tensor values_;
};

template <typename T>
Tensor table(std::vector<T> values, T fallback) {
  values.push_back(std::move(fallback));
  return Tensor::from_vector<T>({static_cast<int64_t>(values.size())}, values);
}

// values_tensor plus default_tensor (or the spec's default for the type: "_Unused", -1,
// -0.0) as one table.
Tensor tensor_table(const KernelInfo& info, const Tensor& values, const Tensor* fallback) {
  DType t = values.dtype();
  if (t != DType::String && t != DType::Int64 && t != DType::Int32 && t != DType::Int16 &&
      t != DType::Float32 && t != DType::Float64) {
    info.fail(ErrorKind::Unsupported, "values_tensor of type ", dtype_name(t));
  }
  if (fallback && (fallback->dtype() != t || fallback->numel() < 1)) {
    info.fail(ErrorKind::InvalidModel, "default_tensor must hold one ", dtype_name(t));
  }
  Tensor out = Tensor::empty(t, {values.numel() + 1});
  visit_any(t, [&](auto tag) {
    using T = decltype(tag);
    std::copy_n(values.data<T>(), values.numel(), out.data<T>());
    T d{};
    if (fallback) {
      d = fallback->data<T>()[0];
    } else if constexpr (std::is_same_v<T, std::string>) {
      d = "_Unused";
    } else if constexpr (std::is_integral_v<T>) {
      d = T(-1);
    } else {
      d = T(-0.0);
    }
    out.data<T>()[values.numel()] = d;
  });
  return out;
}

// LabelEncoder-2 and -4: exactly one keys_* and one values_* attribute.
Encoder label_encoder(const KernelInfo& info) {
  const Tensor* keys_tensor = info.opset >= 4 ? ml::tensor(info, "keys_tensor") : nullptr;
  std::vector<std::string> ks = ml::strings(info, "keys_strings");
  std::vector<int64_t> ki = ml::ints(info, "keys_int64s");
  std::vector<double> kf = ml::doubles(info, "keys_floats");
  int given = !ks.empty() + !ki.empty() + !kf.empty() + (keys_tensor != nullptr);
  if (given != 1) info.fail(ErrorKind::InvalidModel, "exactly one keys_* attribute is needed");
  Encoder e = keys_tensor   ? Encoder::from_tensor(info, *keys_tensor)
              : !ks.empty() ? Encoder(ks)
              : !ki.empty() ? Encoder(ki)
                            : Encoder(kf);

  const Tensor* values_tensor = info.opset >= 4 ? ml::tensor(info, "values_tensor") : nullptr;
  std::vector<std::string> vs = ml::strings(info, "values_strings");
  std::vector<int64_t> vi = ml::ints(info, "values_int64s");
  std::vector<double> vd = ml::doubles(info, "values_floats");
  std::vector<float> vf(vd.begin(), vd.end());
  given = !vs.empty() + !vi.empty() + !vf.empty() + (values_tensor != nullptr);
  if (given != 1) info.fail(ErrorKind::InvalidModel, "exactly one values_* attribute is needed");
  if (values_tensor) {
    e.set_values(info, tensor_table(info, *values_tensor, ml::tensor(info, "default_tensor")));
  } else if (!vs.empty()) {
    e.set_values(info, table(vs, info.node.attr_string("default_string", "_Unused")));
  } else if (!vi.empty()) {
    e.set_values(info, table(vi, info.node.attr_int("default_int64", -1)));
  } else {
    e.set_values(info, table(vf, info.node.attr_float("default_float", -0.0f)));
  }
  return e;
}

// Strings <-> integers in both directions, picked by the input's type: LabelEncoder-1
// (a string's index in classes_strings, and back) and CategoryMapper (cats_strings[i] <->
// cats_int64s[i]).
class TwoWayKernel final : public Kernel {
 public:
  TwoWayKernel(const KernelInfo& info, const std::vector<std::string>& strs,
               const std::vector<int64_t>& ints)
      : to_int_(strs), to_string_(ints) {
    to_int_.set_values(info, table(ints, info.node.attr_int("default_int64", -1)));
    to_string_.set_values(info, table(strs, info.node.attr_string("default_string", "_Unused")));
  }
  void compute(KernelContext& ctx) override {
    (ctx.input(0).dtype() == DType::String ? to_int_ : to_string_).compute(ctx);
  }

 private:
  Encoder to_int_, to_string_;
};

class LabelEncoderKernel final : public Kernel {
 public:
  explicit LabelEncoderKernel(const KernelInfo& info) : encoder_(label_encoder(info)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    if (info.opset >= 2) return std::make_unique<LabelEncoderKernel>(info);
    std::vector<std::string> classes = ml::strings(info, "classes_strings");
    std::vector<int64_t> index(classes.size());
    for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int64_t>(i);
    return std::make_unique<TwoWayKernel>(info, classes, index);
  }
  void compute(KernelContext& ctx) override { encoder_.compute(ctx); }

 private:
  Encoder encoder_;
};

std::unique_ptr<Kernel> make_category_mapper(const KernelInfo& info) {
  std::vector<std::string> strs = ml::strings(info, "cats_strings");
  std::vector<int64_t> ints = ml::ints(info, "cats_int64s");
  ml::check_size(info, "cats_strings", strs.size(), ints.size(), "one per entry of cats_int64s");
  return std::make_unique<TwoWayKernel>(info, strs, ints);
}

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "CategoryMapper", 1, kLatest, &make_category_mapper},
    {"ai.onnx.ml", "LabelEncoder", 1, 1, &LabelEncoderKernel::make},
    {"ai.onnx.ml", "LabelEncoder", 2, 3, &LabelEncoderKernel::make},
    {"ai.onnx.ml", "LabelEncoder", 4, kLatest, &LabelEncoderKernel::make},
};

}  // namespace

void register_ml_encoder_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
