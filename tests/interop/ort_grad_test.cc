// Interop: gradient graphs onyx writes (`onyx grad`) run in onnxruntime (npm
// onnxruntime-node, installed by scripts/setup) and give the numbers onyx gives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "../autodiff/training_refs.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

Tensor random_like(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  Tensor t = Tensor::empty(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

class OrtGrad : public ::testing::TestWithParam<std::string> {};

TEST_P(OrtGrad, SameNumbersAsOnyx) {
  std::string name = GetParam();
  fs::path models(ONYX_MODELS_DIR),
      dir = fs::temp_directory_path() / ("onyx_ort_grad_" + std::to_string(::getpid()) + name);
  fs::create_directories(dir);
  ir::Model model = onnx_io::load_model((models / (name + ".onnx")).string());
  ir::Model grad = autodiff::build_gradient_model(model, {});
  std::string grad_path = (dir / "grad.onnx").string();
  onnx_io::save_model(grad, grad_path);

  Tensor x = onnx_io::load_npy((models / (name + "_input.npy")).string());
  runtime::Session forward(model);
  Tensor y = forward.run({{model.graph->inputs[0].name, x}})[0].tensor();
  Tensor seed = random_like(y.shape(), 7);
  onnx_io::save_npy(x, (dir / "x.npy").string());
  onnx_io::save_npy(seed, (dir / "seed.npy").string());

  runtime::Session onyx_session(grad);
  std::string in = model.graph->inputs[0].name, out = model.graph->outputs[0].name;
  std::vector<Value> ours = onyx_session.run({{in, x}, {out + "_grad", seed}});

  std::string cmd = "node " + std::string(ONYX_SOURCE_DIR) + "/bench/ort_run.js " + grad_path +
                    " " + dir.string() + " '" + in + "=" + (dir / "x.npy").string() + "' '" + out +
                    "_grad=" + (dir / "seed.npy").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  ASSERT_EQ(ours.size(), grad.graph->outputs.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    Tensor theirs = onnx_io::load_npy((dir / (std::to_string(i) + ".npy")).string());
    const Tensor& mine = ours[i].tensor();
    // float32 sums in a different order: relative to the tensor's largest magnitude.
    testing::expect_close(mine, theirs, 1e-4, grad.graph->outputs[i].name);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Models, OrtGrad,
                         ::testing::Values("mlp_op17", "cnn_op17", "mlp_op13", "transformer_op17",
                                           "resnet18_op17"));

}  // namespace
}  // namespace onyx
