// Models libonnx 1.12 cannot take are refused with onyx's error before it sees them, or
// made takeable: each case here was a SEGV inside libonnx (found by fuzz_training, or by a
// sweep of every schema with rank-0 and untyped inputs).
#include <gtest/gtest.h>

#include <filesystem>

#include "../ops/test_util.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/version_convert.h"

namespace onyx {
namespace {

using testing::single_node_model;

// Shape (opset 24, newer than libonnx knows) reading a value nothing defines.
ir::Model shape_of_nothing() {
  ir::Model m = single_node_model("Shape", 1, 1, {}, 24);
  m.graph->inputs[0].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{2, 3});
  m.graph->nodes[0].inputs[0] = "misspelt";
  return m;
}

void expect_names_the_value(const std::string& what) {
  EXPECT_NE(what.find("node 'n0' (Shape)"), std::string::npos) << what;
  EXPECT_NE(what.find("'misspelt'"), std::string::npos) << what;
}

TEST(LibonnxInput, TypeInferenceRefusesUndefinedValues) {
  try {
    onnx_io::infer_value_types(shape_of_nothing());
    FAIL() << "inferred";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    expect_names_the_value(e.what());
  }
  ir::Model fine = shape_of_nothing();
  fine.graph->nodes[0].inputs[0] = "in0";
  auto types = onnx_io::infer_value_types(fine);
  ASSERT_TRUE(types.count("out0"));
  EXPECT_EQ(types.at("out0").str(),
            ir::TypeInfo::tensor(DType::Int64, std::vector<int64_t>{2}).str());
}

TEST(LibonnxInput, CheckerSaysWhyInferenceDidNotRun) {
  std::string dir = ::testing::TempDir();
  for (int64_t opset : {13, 21}) {  // the checker's two paths: as it is, and converted down
    ir::Model m = shape_of_nothing();
    m.set_opset("", opset);
    std::string path = dir + "/shape_of_nothing_" + std::to_string(opset) + ".onnx";
    onnx_io::save_model(m, path);
    onnx_io::CheckerResult r = onnx_io::run_onnx_checker(path);
    EXPECT_EQ(r.shape_inference_error.rfind("not run: ", 0), 0u) << r.shape_inference_error;
    expect_names_the_value(r.shape_inference_error);
    if (opset == 13) {
      EXPECT_FALSE(r.checker_error.empty()) << "libonnx's checker refuses it too";
    }
    std::filesystem::remove(path);
  }
}

// Shape's data propagation reads its input's type: a value after an op libonnx does not
// know (a custom one here) and an input declared without a type both reach it untyped.
TEST(LibonnxInput, ShapeOfUntypedValuesIsInferred) {
  ir::Model m = single_node_model("Shape", 1, 1, {}, 15);
  m.set_opset("com.example", 1);
  ir::Node custom;
  custom.name = "custom";
  custom.op_type = "Foo";
  custom.domain = "com.example";
  custom.inputs = {"in0"};
  custom.outputs = {"h"};
  m.graph->nodes[0].inputs[0] = "h";
  m.graph->nodes.insert(m.graph->nodes.begin(), custom);
  m.graph->inputs[0].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{2, 3});
  ir::Node shape_of_input = m.graph->nodes[1];
  shape_of_input.name = "n1";
  shape_of_input.inputs = {"untyped"};
  shape_of_input.outputs = {"out1"};
  m.graph->nodes.push_back(shape_of_input);
  m.graph->inputs.push_back({"untyped", {}, ""});
  m.graph->outputs.push_back({"out1", {}, ""});

  auto types = onnx_io::infer_value_types(m);
  for (const char* out : {"out0", "out1"}) {
    ASSERT_TRUE(types.count(out)) << out;
    EXPECT_EQ(types.at(out).elem, DType::Int64) << out;
    ASSERT_TRUE(types.at(out).shape) << out;
    EXPECT_EQ(types.at(out).shape->size(), 1u) << out;
  }
  EXPECT_FALSE(types.count("h")) << "the placeholder declared for libonnx is not a type";
}

void expect_invalid(const ir::Model& m, const std::string& says) {
  try {
    onnx_io::infer_value_types(m);
    FAIL() << "inferred";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(LibonnxInput, RequiredAttributesArePresent) {
  ir::Model scan = single_node_model("Scan", 1, 1, {testing::attr_int("num_scan_inputs", 1)}, 16);
  expect_invalid(scan, "node 'n0' (Scan): attribute 'body' is required (Scan-16)");
}

// STFT without its frame_step: libonnx's inference read the missing input's type (found by
// fuzz_check, at opset 27), and too many inputs.
TEST(LibonnxInput, InputCountsFitTheSchema) {
  expect_invalid(single_node_model("STFT", 1, 1, {}, 27),
                 "node 'n0' (STFT): 1 inputs, where STFT-17 takes 2 to 4");
  expect_invalid(single_node_model("Relu", 2, 1, {}, 14),
                 "node 'n0' (Relu): 2 inputs, where Relu-14 takes 1 to 1");
  // Past opset 17 a newer version may take more than libonnx's schema says: not refused.
  ir::Model dft = single_node_model("DFT", 3, 1, {}, 20);
  dft.graph->inputs[0].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{1, 8, 1});
  EXPECT_NO_THROW(onnx_io::infer_value_types(dft));
}

// Gemm-6, LSTM-1, GRU-3, RNN-1 and STFT-17 read the first dimension of a scalar.
TEST(LibonnxInput, ScalarsAreRefusedWhereLibonnxReadsADimension) {
  ir::Model gemm = single_node_model("Gemm", 3, 1, {}, 6);  // Gemm-6 requires C
  gemm.graph->inputs[0].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{2, 3});
  gemm.graph->inputs[1].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{});
  gemm.graph->inputs[2].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{4});
  expect_invalid(gemm, "node 'n0' (Gemm): input 1 ('in1') is a scalar");
  gemm.graph->inputs[1].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{3, 4});
  auto types = onnx_io::infer_value_types(gemm);
  EXPECT_EQ(types.at("out0").str(),
            ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{2, 4}).str());
  gemm.set_opset("", 13);  // Gemm-13 checks ranks itself: libonnx reports it, no refusal
  gemm.graph->inputs[1].type = ir::TypeInfo::tensor(DType::Float32, std::vector<int64_t>{});
  EXPECT_NO_THROW(onnx_io::infer_value_types(gemm));

  ir::Model lstm = single_node_model("LSTM", 3, 1, {testing::attr_int("hidden_size", 4)}, 6);
  lstm.graph->initializers.push_back({"in0", Tensor::scalar(1.0f), "", false});
  expect_invalid(lstm, "node 'n0' (LSTM): input 0 ('in0') is a scalar");
}

// An IR 3 graph output that is an initializer but not a graph input: libonnx's version
// converter read through a null value (found by fuzz_training).
TEST(LibonnxInput, IrThreeInitializersAreGraphInputs) {
  ir::Model m = single_node_model("Relu", 1, 1, {}, 6);
  m.ir_version = 3;
  m.graph->initializers.push_back({"w", Tensor::from_vector<float>({3}, {1, 2, 3}), "", false});
  m.graph->outputs.push_back({"w", ir::TypeInfo::tensor(DType::Float32), ""});
  try {
    onnx_io::convert_opset(m, 7);
    FAIL() << "converted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(e.what()).find(
                  "initializer 'w' is not a graph input, as IR version 3 requires"),
              std::string::npos)
        << e.what();
  }
  m.graph->inputs.push_back({"w", ir::TypeInfo::tensor(DType::Float32), ""});
  EXPECT_EQ(onnx_io::convert_opset(m, 7).opset(""), 7);
}

}  // namespace
}  // namespace onyx
