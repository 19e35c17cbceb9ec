// The PyTorch references scripts/make_training_refs.py writes (see its docstring), loaded
// for the training tests: batches, initial values, gradients, losses and final values.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "onyx/ir/graph.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"

namespace onyx::testing {

class TrainingRefs {
 public:
  // `subdir` of the models directory: "training" (make_training_refs.py) or "fit"
  // (make_fit_refs.py).
  explicit TrainingRefs(const std::string& name, const std::string& subdir = "training")
      : dir_(std::string(ONYX_MODELS_DIR) + "/" + subdir) {
    model_ = onnx_io::load_model(dir_ + "/" + name + ".onnx");
    std::ifstream manifest(dir_ + "/" + name + ".txt");
    std::string key, file;
    while (manifest >> key >> file) files_[key] = dir_ + "/" + file;
    if (files_.empty()) ADD_FAILURE() << "no manifest for " << name << " in " << dir_;
  }
  const ir::Model& model() const { return model_; }
  const std::string& dir() const { return dir_; }
  bool has(const std::string& key) const { return files_.count(key) > 0; }
  Tensor get(const std::string& key) const {
    auto it = files_.find(key);
    if (it == files_.end()) throw std::runtime_error("no reference '" + key + "'");
    return onnx_io::load_npy(it->second);
  }
  // PyTorch's parameter names.
  std::vector<std::string> params() const {
    std::vector<std::string> out;
    for (const auto& [k, f] : files_) {
      if (k.rfind("init:", 0) == 0) out.push_back(k.substr(5));
    }
    return out;
  }
  // The ONNX initializer that starts with the parameter's value (export may rename).
  std::string initializer_of(const std::string& param) const {
    Tensor v = get("init:" + param);
    std::string found;
    for (const auto& init : model_.graph->initializers) {
      if (init.value.dtype() == v.dtype() && init.value.shape() == v.shape() &&
          std::memcmp(init.value.raw_data(), v.raw_data(), v.nbytes()) == 0) {
        if (!found.empty()) ADD_FAILURE() << "two initializers hold " << param;
        found = init.name;
      }
    }
    if (found.empty()) ADD_FAILURE() << "no initializer holds " << param;
    return found;
  }
  // Element i along axis 0 of a stacked tensor.
  static Tensor row(const Tensor& t, int64_t i) {
    Shape s(t.shape().begin() + 1, t.shape().end());
    Tensor r = Tensor::empty(t.dtype(), s);
    std::memcpy(r.raw_data(), static_cast<const char*>(t.raw_data()) + i * r.nbytes(), r.nbytes());
    return r;
  }

 private:
  std::string dir_;
  ir::Model model_;
  std::map<std::string, std::string> files_;
};

// |a - b| <= tol * max |b| elementwise: relative to the reference's scale, which is at
// least `floor`. The floor matters for values that are zero in exact arithmetic, such as
// the gradient of a convolution bias followed by BatchNorm: both sides hold float32
// rounding noise there (about 1e-8), which has no scale of its own.
inline void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what,
                         double floor = 1e-3) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  double scale = floor;
  for (int64_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::abs(b.element_as_double(i)));
  double worst = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    worst = std::max(worst, std::abs(a.element_as_double(i) - b.element_as_double(i)));
  }
  EXPECT_LE(worst, tol * scale) << what << ": largest difference " << worst << ", scale " << scale;
}

}  // namespace onyx::testing
