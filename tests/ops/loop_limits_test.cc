// A Loop whose condition never turns false ends in a ResourceLimit error naming the node
// once a bound is set (SessionOptions::max_loop_iterations, `onyx run
// --max-loop-iterations`); scan outputs, held until the loop ends, count against the memory
// budget while they grow.
#include <gtest/gtest.h>

#include "onyx/core/buffer.h"
#include "onyx/core/limits.h"
#include "test_util.h"

namespace onyx {
namespace {

// Loop(M, cond) whose body passes its condition through and scans `scan_len` floats a trip.
ir::Model endless_loop(int64_t scan_len) {
  auto body = std::make_shared<ir::Graph>();
  body->name = "body";
  body->inputs = {{"i", ir::TypeInfo::tensor(DType::Int64, std::vector<int64_t>{}), ""},
                  {"c_in", ir::TypeInfo::tensor(DType::Bool, std::vector<int64_t>{}), ""}};
  ir::Node keep;
  keep.op_type = "Identity";
  keep.inputs = {"c_in"};
  keep.outputs = {"c_out"};
  ir::Node shape;
  shape.op_type = "ConstantOfShape";
  shape.inputs = {"len"};
  shape.outputs = {"row"};
  body->initializers.push_back({"len", Tensor::from_vector<int64_t>({1}, {scan_len}), "", false});
  body->nodes = {keep, shape};
  body->outputs = {{"c_out", {}, ""}, {"row", {}, ""}};
  ir::Model m = testing::single_node_model("Loop", 2, 1, {}, 17);
  ir::Attribute a;
  a.name = "body";
  a.type = ir::AttrType::Graph;
  a.g = body;
  m.graph->nodes[0].name = "forever";
  m.graph->nodes[0].attributes = {a};
  m.graph->nodes[0].inputs = {"", "in1"};
  m.graph->inputs.erase(m.graph->inputs.begin());
  m.graph->inputs[0].type = ir::TypeInfo::tensor(DType::Bool, std::vector<int64_t>{});
  return m;
}

// The message of the ResourceLimit error the run ends in ("" when it ends otherwise).
std::string resource_limit_of(runtime::Session& s) {
  try {
    s.run({{"in1", Tensor::scalar(true)}});
  } catch (const Error& e) {
    return e.kind() == ErrorKind::ResourceLimit ? e.what() : "";
  }
  return "";
}

TEST(LoopLimits, EndlessLoopStopsAtTheBound) {
  runtime::SessionOptions so;
  so.max_loop_iterations = 1000;
  runtime::Session s(endless_loop(1), so);
  std::string what = resource_limit_of(s);
  set_max_loop_iterations(0);
  EXPECT_NE(what.find("node 'forever' (Loop): stopped after 1000 iterations"), std::string::npos)
      << what;
}

TEST(LoopLimits, ScanOutputsMeetTheMemoryLimitAsTheyGrow) {
  size_t before = memory_limit();
  runtime::Session s(endless_loop(1024));  // 4 KB a trip, kept for the scan output
  set_memory_limit(memory_in_use() + (size_t{1} << 20));
  std::string what = resource_limit_of(s);
  set_memory_limit(before);
  EXPECT_NE(what.find("node 'forever' (Loop): "), std::string::npos) << what;
  EXPECT_NE(what.find("would pass the memory limit"), std::string::npos) << what;
}

}  // namespace
}  // namespace onyx
