// Bad models and bad inputs give an onyx::Error that says where, never a crash.
#include <gtest/gtest.h>

#include "../ops/test_util.h"

namespace onyx {
namespace {

using testing::single_node_model;

std::string error_of(const std::function<void()>& fn, ErrorKind* kind = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

ir::Model typed_relu() {
  ir::Model m = single_node_model("Relu", 1, 1);
  m.graph->inputs[0].type =
      ir::TypeInfo::tensor(DType::Float32, std::vector<ir::Dim>{{2, "", ""}, {{}, "N", ""}});
  return m;
}

TEST(BadInput, UnknownOpFailsAtLoadNamingNodeAndOp) {
  ErrorKind kind;
  std::string msg =
      error_of([] { runtime::Session s(single_node_model("NoSuchOp", 1, 1)); }, &kind);
  EXPECT_EQ(kind, ErrorKind::Unsupported);
  EXPECT_NE(msg.find("node 'n0' (NoSuchOp)"), std::string::npos) << msg;
}

TEST(BadInput, UnimportedDomainIsInvalidModel) {
  ir::Model m = single_node_model("Relu", 1, 1);
  m.graph->nodes[0].domain = "com.example";
  ErrorKind kind;
  std::string msg = error_of([&] { runtime::Session s(m); }, &kind);
  EXPECT_EQ(kind, ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("com.example"), std::string::npos) << msg;
}

TEST(BadInput, CycleIsInvalidModel) {
  ir::Model m = single_node_model("Relu", 1, 1);
  ir::Node a = m.graph->nodes[0];
  a.name = "a";
  a.inputs = {"b_out"};
  a.outputs = {"a_out"};
  ir::Node b = a;
  b.name = "b";
  b.inputs = {"a_out"};
  b.outputs = {"b_out"};
  m.graph->nodes = {a, b};
  m.graph->outputs[0].name = "b_out";
  ErrorKind kind;
  std::string msg = error_of([&] { runtime::Session s(m); }, &kind);
  EXPECT_EQ(kind, ErrorKind::InvalidModel);
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
}

TEST(BadInput, DanglingInputIsInvalidModel) {
  ir::Model m = single_node_model("Relu", 1, 1);
  m.graph->nodes[0].inputs[0] = "nowhere";
  std::string msg = error_of([&] { runtime::Session s(m); });
  EXPECT_NE(msg.find("'nowhere'"), std::string::npos) << msg;
}

TEST(BadInput, MissingUnknownAndMistypedFeeds) {
  runtime::Session s(typed_relu());
  Tensor good = Tensor::from_vector<float>({2, 1}, {1, -1});
  EXPECT_EQ(s.run({{"in0", good}})[0].tensor().to_vector<float>(), (std::vector<float>{1, 0}));
  std::string msg = error_of([&] { s.run({}); });
  EXPECT_NE(msg.find("missing input 'in0'"), std::string::npos) << msg;
  msg = error_of([&] { s.run({{"in0", good}, {"extra", good}}); });
  EXPECT_NE(msg.find("unknown input 'extra'"), std::string::npos) << msg;
  msg = error_of([&] { s.run({{"in0", Tensor::from_vector<int64_t>({2, 1}, {1, 2})}}); });
  EXPECT_NE(msg.find("wrong element type"), std::string::npos) << msg;
  msg = error_of([&] { s.run({{"in0", Tensor::from_vector<float>({2}, {1, 2})}}); });
  EXPECT_NE(msg.find("wrong rank"), std::string::npos) << msg;
  msg = error_of([&] { s.run({{"in0", Tensor::from_vector<float>({3, 1}, {1, 2, 3})}}); });
  EXPECT_NE(msg.find("dimension 0 must be 2"), std::string::npos) << msg;
}

TEST(BadInput, SteadyStateRunsReuseBuffers) {
  ir::Model m = single_node_model("Relu", 1, 1);
  ir::Node second = m.graph->nodes[0];
  second.name = "n1";
  second.inputs = {"out0"};
  second.outputs = {"out1"};
  m.graph->nodes.push_back(second);
  m.graph->outputs[0].name = "out1";
  runtime::Session s(m);
  Tensor x = Tensor::from_vector<float>({4}, {1, -2, 3, -4});
  s.run({{"in0", x}});
  s.run({{"in0", x}});
  size_t after_warmup = s.pool_allocations();
  for (int i = 0; i < 5; ++i) s.run({{"in0", x}});
  EXPECT_EQ(s.pool_allocations(), after_warmup);
}

}  // namespace
}  // namespace onyx
