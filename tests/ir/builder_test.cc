#include <gtest/gtest.h>

#include "onyx/ir/builder.h"
#include "onyx/onnx/model_io.h"
#include "onyx/runtime/session.h"

namespace onyx {
namespace {

// y = relu(x @ W + b), built with the builder, saved, reloaded and run.
TEST(GraphBuilder, BuildsARunnableModelWithUniqueNames) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input("x", ir::TypeInfo::tensor(DType::Float32));
  std::string w = b.constant("W", Tensor::from_vector<float>({2, 2}, {1, -1, 2, 0}));
  std::string bias = b.constant("b", Tensor::from_vector<float>({2}, {0.5f, 0.5f}));
  std::string h = b.op("MatMul", {x, w});
  std::string z = b.op("Add", {h, bias});
  std::string y = b.op("Relu", {z});
  b.output(y);
  EXPECT_NE(h, z);
  EXPECT_EQ(b.unique("x"), "x_1");  // taken names get a suffix
  ir::Model back = onnx_io::load_model_from_bytes(onnx_io::serialize_model(m), "", "mem");
  runtime::Session s(back);
  auto out = s.run({{"x", Tensor::from_vector<float>({1, 2}, {1, 1})}});
  EXPECT_EQ(out[0].tensor().to_vector<float>(), (std::vector<float>{3.5f, 0.0f}));
}

TEST(GraphBuilder, AttributesAndDuplicateInputs) {
  ir::Graph g;
  ir::GraphBuilder b(g);
  b.input("x", {});
  EXPECT_THROW(b.input("x", {}), Error);
  auto outs = b.add("TopK", {"x", "k"}, {ir::attr("axis", -1), ir::attr("largest", 1)}, 2);
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(g.nodes[0].attr_int("axis", 0), -1);
  EXPECT_EQ(g.nodes[0].attr_int("largest", 0), 1);
}

}  // namespace
}  // namespace onyx
