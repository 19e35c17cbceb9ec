// inspect (costs counted by hand), draw (DOT and SVG through Graphviz) and plot.
#include "onyx/tools/inspect.h"

#include <gtest/gtest.h>

#include "onyx/nn/models.h"
#include "onyx/onnx/dot.h"
#include "onyx/onnx/model_io.h"
#include "onyx/tools/plot.h"

namespace onyx {
namespace {

TEST(Inspect, CountsTheDefaultCnnByHand) {
  tools::Inspection r = tools::inspect(nn::cnn().to_onnx({1, 28, 28}), 1);
  // conv1: 32x28x28 outputs of 1*3*3 MACs; conv2: 64x14x14 of 32*3*3; fc1 128x3136; fc2 10x128.
  int64_t macs = 32 * 28 * 28 * 9 + 64 * 14 * 14 * 288 + 128 * 3136 + 10 * 128;
  EXPECT_EQ(r.macs, macs);
  EXPECT_EQ(r.parameters, 32 * 9 + 32 + 64 * 288 + 64 + 128 * 3136 + 128 + 10 * 128 + 10);
  EXPECT_EQ(r.parameter_bytes, 4 * r.parameters);
  EXPECT_EQ(r.op_counts.at("Conv"), 2);
  EXPECT_EQ(r.op_counts.at("Gemm"), 2);
  // FLOPs: 2 per MAC plus one per element of the elementwise and pooling outputs.
  int64_t elementwise = 32 * 28 * 28 + 32 * 14 * 14 + 64 * 14 * 14 + 64 * 7 * 7 + 3136 + 128;
  EXPECT_EQ(r.flops, 2 * macs + elementwise);
  // Batch 8 scales the work, not the parameters.
  tools::Inspection r8 = tools::inspect(nn::cnn().to_onnx({1, 28, 28}), 8);
  EXPECT_EQ(r8.macs, 8 * macs);
  EXPECT_EQ(r8.parameters, r.parameters);
  EXPECT_GT(r8.peak_activation_bytes, 0);
  EXPECT_LE(r8.peak_activation_bytes, r8.activation_bytes);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].name, "input");
}

TEST(Draw, DotNamesEveryNodeAndShape) {
  ir::Model m = nn::Sequential{nn::Linear(4, 3), nn::ReLU()}.to_onnx({4});
  std::string dot = onnx_io::to_dot(m);
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  EXPECT_NE(dot.find("Gemm"), std::string::npos) << dot;
  EXPECT_NE(dot.find("0.weight [3,4]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n0 -> n1"), std::string::npos) << dot;
  EXPECT_NE(dot.find("-> out0"), std::string::npos) << dot;
}

TEST(Plot, TrainingCurves) {
  std::string csv = "step,epoch,loss,test_accuracy\n1,1,2.3,\n2,1,1.9,\n3,1,1.2,\n3,1,,0.81\n";
  std::string svg = tools::training_curves_svg(csv, "log.csv");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("<title>0.81</title>"), std::string::npos) << svg;
  EXPECT_THROW(tools::training_curves_svg("a,b\n1,2\n", "x.csv"), Error);
  EXPECT_THROW(tools::training_curves_svg("step,epoch,loss,test_accuracy\n1,1,oops,\n", "x.csv"),
               Error);
}

}  // namespace
}  // namespace onyx
