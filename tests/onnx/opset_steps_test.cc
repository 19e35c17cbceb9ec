// Opset conversion past libonnx's converter (17 to 23 and back): each op whose form changed
// gives the same numbers before and after, and steps that cannot be made are refused.
#include <gtest/gtest.h>

#include "../ops/test_util.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/opset_steps.h"
#include "onyx/onnx/version_convert.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_ints;
using testing::attr_string;
using testing::random_tensor;
using testing::run_model;
using testing::single_node_model;

// Runs `m` and its conversion to `target` on the same inputs; returns the converted model.
ir::Model expect_same_outputs(const ir::Model& m, int64_t target, const std::vector<Tensor>& in) {
  ir::Model c = onnx_io::convert_opset(m, target);
  EXPECT_EQ(c.opset(""), target);
  std::vector<Value> a = run_model(m, in), b = run_model(c, in);
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    EXPECT_EQ(a[i].tensor().to_vector<float>(), b[i].tensor().to_vector<float>()) << "output " << i;
  }
  return c;
}

TEST(OpsetSteps, ReduceAxesBecomeAnInputAt18AndComeBack) {
  ir::Model m = single_node_model("ReduceMean", 1, 1, {attr_ints("axes", {1})}, 17);
  Tensor x = random_tensor({2, 3, 4}, 1);
  ir::Model up = expect_same_outputs(m, 21, {x});
  const ir::Node& n = up.graph->nodes[0];
  EXPECT_FALSE(n.has_attr("axes"));
  ASSERT_TRUE(n.has_input(1));
  EXPECT_EQ(up.graph->constant_value(n.input(1))->to_int64s(), (std::vector<int64_t>{1}));
  EXPECT_GE(up.ir_version, 10) << "opset 21 came with IR 10";
  ir::Model down = expect_same_outputs(up, 17, {x});
  EXPECT_EQ(down.graph->nodes[0].attr_ints("axes"), (std::vector<int64_t>{1}));
  EXPECT_EQ(down.ir_version, 8);
}

TEST(OpsetSteps, GridSampleModesAndDftAxisAt20) {
  ir::Model gs = single_node_model("GridSample", 2, 1, {attr_string("mode", "bicubic")}, 19);
  Tensor x = random_tensor({1, 2, 4, 4}, 2), grid = random_tensor({1, 3, 3, 2}, 3);
  ir::Model up = expect_same_outputs(gs, 20, {x, grid});
  EXPECT_EQ(up.graph->nodes[0].attr_string("mode", ""), "cubic");
  EXPECT_EQ(onnx_io::convert_opset(up, 19).graph->nodes[0].attr_string("mode", ""), "bicubic");
  ir::Model plain = onnx_io::convert_opset(single_node_model("GridSample", 2, 1, {}, 19), 20);
  EXPECT_EQ(plain.graph->nodes[0].attr_string("mode", ""), "linear") << "the default, renamed";

  ir::Model dft = single_node_model("DFT", 1, 1, {attr_int("axis", 2)}, 19);
  Tensor signal = random_tensor({1, 3, 5, 1}, 4);
  ir::Model dft20 = expect_same_outputs(dft, 20, {signal});
  EXPECT_EQ(dft20.graph->constant_int(dft20.graph->nodes[0].input(2)), 2);
  expect_same_outputs(dft20, 19, {signal});
}

TEST(OpsetSteps, GroupNormalizationParametersPerChannelAt21) {
  ir::Model m = single_node_model("GroupNormalization", 3, 1, {attr_int("num_groups", 2)}, 18);
  Tensor x = random_tensor({2, 4, 3}, 5), scale = random_tensor({2}, 6),
         bias = random_tensor({2}, 7);
  ir::Model up = onnx_io::convert_opset(m, 21);
  std::vector<Value> a = run_model(m, {x, scale, bias}), b = run_model(up, {x, scale, bias});
  std::vector<float> va = a[0].tensor().to_vector<float>(), vb = b[0].tensor().to_vector<float>();
  ASSERT_EQ(va.size(), vb.size());
  for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-6) << i;
  // Down again: per-channel constants that repeat within each group become per-group.
  ir::Model c21 = single_node_model("GroupNormalization", 1, 1, {attr_int("num_groups", 2)}, 21);
  ir::GraphBuilder builder(*c21.graph);
  c21.graph->nodes[0].inputs.push_back(
      builder.constant("scale", Tensor::from_vector<float>({4}, {1, 1, 2, 2})));
  c21.graph->nodes[0].inputs.push_back(
      builder.constant("bias", Tensor::from_vector<float>({4}, {0, 0, 3, 3})));
  expect_same_outputs(c21, 18, {x});
  c21.graph->initializers[0].value = Tensor::from_vector<float>({4}, {1, 2, 2, 2});
  EXPECT_THROW(onnx_io::convert_opset(c21, 18), Error) << "a group with two scales";
}

TEST(OpsetSteps, RefusesOpsOlderOpsetsDoNotHave) {
  ir::Model gelu = single_node_model("Gelu", 1, 1, {}, 20);
  try {
    onnx_io::convert_opset(gelu, 17);
    FAIL() << "Gelu has no opset 17 form";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'n0' (Gelu)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exists from opset 20"), std::string::npos) << e.what();
  }
  ir::Model reduce = single_node_model("ReduceMax", 2, 1, {}, 18);  // axes fed at run time
  EXPECT_THROW(onnx_io::convert_opset(reduce, 17), Error);
  EXPECT_THROW(onnx_io::convert_opset(single_node_model("Relu", 1, 1, {}, 17), 24), Error);
}

// libonnx's converter dereferences values it looks up: a graph output or an input nothing
// defines (in a subgraph too) is refused before it gets there.
TEST(OpsetSteps, UndefinedValuesAreRefusedBeforeLibonnxSeesThem) {
  ir::Model m = single_node_model("Relu", 1, 1, {}, 11);
  m.graph->outputs.push_back({"nowhere", ir::TypeInfo::tensor(DType::Float32), ""});
  try {
    onnx_io::convert_opset(m, 13);
    FAIL() << "converted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(e.what()).find("output 'nowhere'"), std::string::npos) << e.what();
  }
  ir::Model in = single_node_model("Relu", 1, 1, {}, 11);
  in.graph->nodes[0].inputs[0] = "unknown";
  EXPECT_THROW(onnx_io::convert_opset(in, 13), Error);
  ir::Model fine = single_node_model("Relu", 1, 1, {}, 11);
  EXPECT_EQ(onnx_io::convert_opset(fine, 13).opset(""), 13);
}

}  // namespace
}  // namespace onyx
