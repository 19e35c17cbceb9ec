// The ai.onnx.ml ops that make or take maps: ZipMap (a classifier's scores as one map per
// row, what converted scikit-learn classifiers output), DictVectorizer and CastMap (a map
// to a tensor). A map is a Value of keys and values, two 1-D tensors (core/value.h).
#include <algorithm>
#include <cstring>
#include <numeric>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// The key tensor of one of two list attributes (int64 or string), exactly one given.
Tensor key_attr(const KernelInfo& info, const char* ints, const char* strings) {
  bool has_ints = info.node.has_attr(ints), has_strings = info.node.has_attr(strings);
  if (has_ints == has_strings)
    info.fail(ErrorKind::InvalidModel, "exactly one of ", ints, " and ", strings, " is required");
  if (has_ints) {
    std::vector<int64_t> v = info.node.attr_ints(ints);
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  std::vector<std::string> v = info.node.attr_strings(strings);
  return Tensor::from_vector<std::string>({static_cast<int64_t>(v.size())}, v);
}

const Value& map_input(const KernelContext& ctx) {
  const Value& v = ctx.input_value(0);
  if (!v.is_map()) ctx.fail(ctx.input_name(0), " must be a map");
  return v;
}

class ZipMapKernel final : public Kernel {
 public:
  explicit ZipMapKernel(const KernelInfo& info)
      : keys_(key_attr(info, "classlabels_int64s", "classlabels_strings")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<ZipMapKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t c = keys_.numel();
    if (x.dtype() != DType::Float32 || x.rank() < 1 || x.rank() > 2 || x.dim(x.rank() - 1) != c) {
      ctx.fail(ctx.input_name(0), " must be float [N, ", c, "] (one column per label), got ",
               dtype_name(x.dtype()), " ", shape_str(x.shape()));
    }
    int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
    std::vector<Value> maps;
    maps.reserve(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      Tensor values = Tensor::empty(DType::Float32, {c});
      if (c) std::memcpy(values.raw_data(), x.data<float>() + r * c, c * sizeof(float));
      maps.push_back(Value::map(keys_, std::move(values)));  // the keys' buffer is shared
    }
    ctx.set_output(0, Value::sequence(std::move(maps)));
  }

 private:
  Tensor keys_;
};

class DictVectorizerKernel final : public Kernel {
 public:
  explicit DictVectorizerKernel(const KernelInfo& info)
      : vocabulary_(key_attr(info, "int64_vocabulary", "string_vocabulary")) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<DictVectorizerKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Value& m = map_input(ctx);
    const Tensor &keys = m.keys(), &values = m.values();
    if (keys.dtype() != vocabulary_.dtype()) {
      ctx.fail("the map's keys are ", dtype_name(keys.dtype()), ", the vocabulary's ",
               dtype_name(vocabulary_.dtype()));
    }
    int64_t c = vocabulary_.numel();
    Tensor& y = ctx.allocate(0, values.dtype(), {1, c});  // absent keys are zero
    size_t es = dtype_size(values.dtype());
    if (values.dtype() != DType::String && y.nbytes()) std::memset(y.raw_data(), 0, y.nbytes());
    for (int64_t i = 0; i < keys.numel(); ++i) {
      int64_t at = position(keys, i);
      if (at < 0) ctx.fail("map key ", i, " is not in the vocabulary");
      if (values.dtype() == DType::String) {
        y.data<std::string>()[at] = values.data<std::string>()[i];
      } else {
        std::memcpy(static_cast<char*>(y.raw_data()) + at * es,
                    static_cast<const char*>(values.raw_data()) + i * es, es);
      }
    }
  }

 private:
  int64_t position(const Tensor& keys, int64_t i) const {
    for (int64_t k = 0; k < vocabulary_.numel(); ++k) {
      bool same = keys.dtype() == DType::String
                      ? keys.data<std::string>()[i] == vocabulary_.data<std::string>()[k]
                      : keys.data<int64_t>()[i] == vocabulary_.data<int64_t>()[k];
      if (same) return k;
    }
    return -1;
  }

  Tensor vocabulary_;
};

class CastMapKernel final : public Kernel {
 public:
  explicit CastMapKernel(const KernelInfo& info)
      : sparse_(info.node.attr_string("map_form", "DENSE") == "SPARSE"),
        max_map_(info.node.attr_int("max_map", 1)) {
    std::string to = info.node.attr_string("cast_to", "TO_FLOAT");
    if (to == "TO_FLOAT") {
      to_ = DType::Float32;
    } else if (to == "TO_STRING") {
      to_ = DType::String;
    } else if (to == "TO_INT64") {
      to_ = DType::Int64;
    } else {
      info.fail(ErrorKind::InvalidModel, "cast_to must be TO_FLOAT, TO_STRING or TO_INT64");
    }
    std::string form = info.node.attr_string("map_form", "DENSE");
    if (form != "DENSE" && form != "SPARSE")
      info.fail(ErrorKind::InvalidModel, "map_form must be DENSE or SPARSE");
    if (sparse_ && max_map_ < 0) info.fail(ErrorKind::InvalidModel, "max_map must be >= 0");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<CastMapKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Value& m = map_input(ctx);
    const Tensor &keys = m.keys(), &values = m.values();
    if (keys.dtype() != DType::Int64) ctx.fail("the map's keys must be int64");
    std::vector<int64_t> k = keys.to_int64s();
    std::vector<size_t> order(k.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return k[a] < k[b]; });
    int64_t n = sparse_ ? max_map_ : static_cast<int64_t>(k.size());
    Tensor& y = ctx.allocate(0, to_, {1, n});
    for (int64_t i = 0; i < n && to_ != DType::String; ++i) set(y, i, 0.0);
    for (size_t j = 0; j < order.size(); ++j) {
      size_t src = order[j];
      int64_t at = sparse_ ? k[src] : static_cast<int64_t>(j);
      if (at < 0 || at >= n) ctx.fail("map key ", k[src], " is outside [0, max_map = ", n, ")");
      if (values.dtype() == DType::String) {
        const std::string& s = values.data<std::string>()[src];
        if (to_ == DType::String) {
          y.data<std::string>()[at] = s;
        } else {
          set(y, at, std::strtod(s.c_str(), nullptr));
        }
      } else {
        double v = values.element_as_double(static_cast<int64_t>(src));
        if (to_ == DType::String) {
          y.data<std::string>()[at] = std::to_string(v);
        } else {
          set(y, at, v);
        }
      }
    }
  }

 private:
  static void set(Tensor& y, int64_t i, double v) {
    if (y.dtype() == DType::Int64) {
      y.data<int64_t>()[i] = static_cast<int64_t>(v);
    } else {
      y.data<float>()[i] = static_cast<float>(v);
    }
  }

  bool sparse_;
  int64_t max_map_;
  DType to_ = DType::Float32;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.ml", "ZipMap", 1, kLatest, &ZipMapKernel::make},
    {"ai.onnx.ml", "DictVectorizer", 1, kLatest, &DictVectorizerKernel::make},
    {"ai.onnx.ml", "CastMap", 1, kLatest, &CastMapKernel::make},
};

}  // namespace

void register_ml_map_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
