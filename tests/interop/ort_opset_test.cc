// Interop: models onyx writes at a chosen opset (here 21, past libonnx's converter) load in
// onnxruntime (npm onnxruntime-node, installed by scripts/setup) and give the outputs the
// original model gives in onyx.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "../autodiff/training_refs.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/onnx/version_convert.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

namespace fs = std::filesystem;

class OrtOpset : public ::testing::TestWithParam<std::string> {};

TEST_P(OrtOpset, Opset21LoadsInOnnxruntimeWithTheSameOutputs) {
  std::string name = GetParam();
  fs::path models(ONYX_MODELS_DIR),
      dir = fs::temp_directory_path() / ("onyx_ort_opset_" + std::to_string(::getpid()) + name);
  fs::create_directories(dir);
  ir::Model model = onnx_io::load_model((models / (name + ".onnx")).string());
  ir::Model at21 = onnx_io::convert_opset(model, 21);
  std::string path = (dir / "model21.onnx").string();
  onnx_io::save_model(at21, path);
  ir::Model reloaded = onnx_io::load_model(path);
  EXPECT_EQ(reloaded.opset(""), 21);
  EXPECT_GE(reloaded.ir_version, 10);

  Tensor x = onnx_io::load_npy((models / (name + "_input.npy")).string());
  std::string in = model.graph->inputs[0].name;
  Tensor ours = runtime::Session(model).run({{in, x}})[0].tensor();
  Tensor ours21 = runtime::Session(reloaded).run({{in, x}})[0].tensor();
  testing::expect_close(ours21, ours, 1e-6, name + " in onyx at opset 21");
  onnx_io::save_npy(x, (dir / "x.npy").string());
  std::string cmd = "node " + std::string(ONYX_SOURCE_DIR) + "/bench/ort_run.js " + path + " " +
                    dir.string() + " '" + in + "=" + (dir / "x.npy").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Tensor theirs = onnx_io::load_npy((dir / "0.npy").string());
  // float32 sums in a different order: relative to the tensor's largest magnitude.
  testing::expect_close(theirs, ours, 1e-4, name + " in onnxruntime at opset 21");
  fs::remove_all(dir);
}

// The ops whose form changed after 17 (Reduce axes, GridSample's modes, DFT's axis), written
// at 17 and converted to 21: onnxruntime reads the new forms as onyx ran the old.
TEST(OrtOpset, ChangedOpsConvertedTo21RunInOnnxruntime) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  ir::TypeInfo image = ir::TypeInfo::tensor(DType::Float32);
  image.shape = std::vector<ir::Dim>{{1, "", ""}, {2, "", ""}, {4, "", ""}, {4, "", ""}};
  ir::TypeInfo grid_type = ir::TypeInfo::tensor(DType::Float32);
  grid_type.shape = std::vector<ir::Dim>{{1, "", ""}, {3, "", ""}, {3, "", ""}, {2, "", ""}};
  std::string x = b.input("x", image), grid = b.input("grid", grid_type);
  std::string sampled = b.op("GridSample", {x, grid}, {ir::attr("mode", "bicubic")});
  std::string mean = b.op("ReduceMean", {sampled}, {ir::attr("axes", std::vector<int64_t>{1})});
  std::string peak = b.op("ReduceMax", {x}, {ir::attr("axes", std::vector<int64_t>{2, 3})});
  std::string spectrum = b.op(
      "DFT", {b.op("Unsqueeze", {mean, b.constant("c", Tensor::from_vector<int64_t>({1}, {4}))})},
      {ir::attr("axis", int64_t{2})});
  b.output(spectrum);
  b.output(peak);

  fs::path dir =
      fs::temp_directory_path() / ("onyx_ort_opset_changed_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string path = (dir / "changed21.onnx").string();
  onnx_io::save_model(onnx_io::convert_opset(m, 21), path);
  Tensor xv = Tensor::empty(DType::Float32, {1, 2, 4, 4}),
         gv = Tensor::empty(DType::Float32, {1, 3, 3, 2});
  for (int64_t i = 0; i < xv.numel(); ++i)
    xv.data<float>()[i] = static_cast<float>((i * 7) % 11) - 5;
  for (int64_t i = 0; i < gv.numel(); ++i)
    gv.data<float>()[i] = static_cast<float>(i % 5) * 0.4f - 0.9f;
  std::vector<Value> ours = runtime::Session(m).run({{"x", xv}, {"grid", gv}});
  onnx_io::save_npy(xv, (dir / "x.npy").string());
  onnx_io::save_npy(gv, (dir / "grid.npy").string());
  std::string cmd = "node " + std::string(ONYX_SOURCE_DIR) + "/bench/ort_run.js " + path + " " +
                    dir.string() + " 'x=" + (dir / "x.npy").string() +
                    "' 'grid=" + (dir / "grid.npy").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (size_t i = 0; i < ours.size(); ++i) {
    Tensor theirs = onnx_io::load_npy((dir / (std::to_string(i) + ".npy")).string());
    testing::expect_close(theirs, ours[i].tensor(), 1e-5, "output " + std::to_string(i));
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Models, OrtOpset,
                         ::testing::Values("mlp_op13", "cnn_op17", "transformer_op17",
                                           "resnet18_op17", "mobilenet_v2_op17"));

}  // namespace
}  // namespace onyx
