// Attributes that do not fit each other or the inputs, and bodies that do not fit their
// node, are errors that name the node: each case here was a crash, a hang, garbage or a
// silently missing output, found by probing the fault classes of issue 16.
#include <gtest/gtest.h>

#include "test_util.h"

namespace onyx {
namespace {

using testing::attr_int;
using testing::attr_ints;
using testing::error_of;
using testing::run_model;
using testing::single_node_model;

// Drops input i of the one node (and the graph input that fed it): an omitted optional input.
void omit_input(ir::Model& m, size_t i) {
  std::string name = m.graph->nodes[0].inputs[i];
  m.graph->nodes[0].inputs[i] = "";
  std::erase_if(m.graph->inputs, [&](const ir::ValueInfo& v) { return v.name == name; });
}

const Tensor kImage = Tensor::from_vector<float>({1, 4, 2, 2}, std::vector<float>(16, 1.0f));

// blocksize 2^32 squared to 0: a division by zero (SIGFPE).
TEST(AttributeErrors, BlocksizesWhoseSquareOverflows) {
  for (const char* op : {"DepthToSpace", "SpaceToDepth"}) {
    std::string msg =
        error_of(single_node_model(op, 1, 1, {attr_int("blocksize", int64_t{1} << 32)}), {kImage});
    EXPECT_NE(msg.find("(" + std::string(op) + "): blocksize 4294967296"), std::string::npos)
        << msg;
  }
  auto y = run_model(single_node_model("DepthToSpace", 1, 1, {attr_int("blocksize", 2)}), {kImage});
  EXPECT_EQ(y[0].tensor().shape(), (Shape{1, 1, 4, 4}));
}

// output_shape shorter than the spatial rank read before the vector's start.
TEST(AttributeErrors, ConvTransposeOutputShapeOfTheWrongLength) {
  Tensor x = Tensor::from_vector<float>({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  Tensor w = Tensor::from_vector<float>({1, 1, 2, 2}, std::vector<float>(4, 1.0f));
  std::string msg =
      error_of(single_node_model("ConvTranspose", 2, 1, {attr_ints("output_shape", {5})}), {x, w});
  EXPECT_NE(msg.find("output_shape has 1 values for 2 spatial dimensions"), std::string::npos)
      << msg;
  for (std::vector<int64_t> shape : {std::vector<int64_t>{5, 5}, {1, 1, 5, 5}}) {
    auto y = run_model(single_node_model("ConvTranspose", 2, 1, {attr_ints("output_shape", shape)}),
                       {x, w});
    EXPECT_EQ(y[0].tensor().shape(), (Shape{1, 1, 5, 5}));
  }
}

// A Scan whose body makes fewer outputs than the node declares left the rest unset, and
// the run exited 0 printing "(none)".
TEST(AttributeErrors, ScanBodiesMakeEveryDeclaredOutput) {
  auto body = std::make_shared<ir::Graph>();
  body->name = "body";
  body->inputs = {{"s", {}, ""}, {"x", {}, ""}};
  ir::Node keep;
  keep.op_type = "Identity";
  keep.inputs = {"s"};
  keep.outputs = {"s_out"};
  body->nodes = {keep};
  body->outputs = {{"s_out", {}, ""}};
  ir::Attribute b;
  b.name = "body";
  b.type = ir::AttrType::Graph;
  b.g = body;
  ir::Model m = single_node_model("Scan", 2, 2, {b, attr_int("num_scan_inputs", 1)}, 16);
  std::string msg = error_of(
      m, {Tensor::from_vector<float>({1}, {1}), Tensor::from_vector<float>({3, 1}, {1, 2, 3})});
  EXPECT_NE(msg.find("(Scan): has 1 state values and 2 outputs, but its body makes 1 outputs"),
            std::string::npos)
      << msg;
}

// A max_skip_count of 2^40 looped over skips that find nothing.
TEST(AttributeErrors, TfIdfSkipsBoundedByTheRow) {
  ir::Model m = single_node_model(
      "TfIdfVectorizer", 1, 1,
      {testing::attr_string("mode", "TF"), attr_int("min_gram_length", 2),
       attr_int("max_gram_length", 2), attr_int("max_skip_count", int64_t{1} << 40),
       attr_ints("ngram_counts", {0, 0}), attr_ints("ngram_indexes", {0}),
       attr_ints("pool_int64s", {1, 3})},
      9);
  auto y = run_model(m, {Tensor::from_vector<int64_t>({4}, {1, 2, 3, 4})});
  // The bigram (1, 3): once with one skip (1 _ 3).
  EXPECT_EQ(y[0].tensor().to_vector<float>(), (std::vector<float>{1}));
}

// Resize to 2^60 elements built its tap tables before the output ("out of memory"), and
// a scale of 1e30 converted a double past int64 (undefined).
TEST(AttributeErrors, ResizeSizesMeetTheMemoryLimitFirst) {
  Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  ErrorKind kind = ErrorKind::Internal;
  ir::Model m = single_node_model("Resize", 4, 1, {testing::attr_string("mode", "nearest")}, 13);
  omit_input(m, 1);
  omit_input(m, 2);
  std::string msg =
      error_of(m,
               {x, Tensor(), Tensor(),
                Tensor::from_vector<int64_t>({4}, {1, 1, int64_t{1} << 40, int64_t{1} << 20})},
               &kind);
  EXPECT_EQ(kind, ErrorKind::ResourceLimit) << msg;
  EXPECT_NE(msg.find("(Resize)"), std::string::npos) << msg;
  ir::Model scaled = single_node_model("Resize", 3, 1, {}, 13);
  omit_input(scaled, 1);
  msg = error_of(scaled, {x, Tensor(), Tensor::from_vector<float>({4}, {1, 1, 1e30f, 1})});
  EXPECT_NE(msg.find("past int64"), std::string::npos) << msg;
}

// Attention's cache and lengths taken on trust: a past_key of the wrong shape read past its
// end (found by fuzz_model), a short nonpad_kv_seqlen threw std::out_of_range, zero
// key/value heads divided by zero, present_value alone was never written, and int8 keys were
// read as floats.
TEST(AttributeErrors, AttentionCachesAndLengthsFitTheInputs) {
  auto t = [](Shape shape) {
    std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i % 7);
    return Tensor::from_vector<float>(shape, v);
  };
  // [B=1, H=2, S=1, D=2] queries over one key/value head of 2 new keys and 3 cached.
  Tensor q = t({1, 2, 1, 2}), k = t({1, 1, 2, 2}), v = t({1, 1, 2, 2});
  Tensor past_k = t({1, 1, 3, 2}), past_v = t({1, 1, 3, 2});
  // Inputs Q, K, V, (no mask), past_key, past_value; outputs Y, (no present_key), present_value.
  auto model = [] {
    ir::Model m = single_node_model("Attention", 6, 3, {}, 23);
    omit_input(m, 3);
    m.graph->nodes[0].outputs[1] = "";
    std::erase_if(m.graph->outputs, [](const ir::ValueInfo& o) { return o.name == "out1"; });
    return m;
  };
  auto out = run_model(model(), {q, k, v, Tensor(), past_k, past_v});
  ASSERT_EQ(out.size(), 2u);
  std::vector<float> present = out[1].tensor().to_vector<float>();
  std::vector<float> expected = past_v.to_vector<float>(), fresh = v.to_vector<float>();
  expected.insert(expected.end(), fresh.begin(), fresh.end());
  EXPECT_EQ(present, expected) << "present_value is the cache followed by the new values";

  std::string msg = error_of(model(), {q, k, v, Tensor(), t({1, 1, 3, 1}), past_v});
  EXPECT_NE(
      msg.find("past_key [1,1,3,1] and past_value [1,1,3,2] must be [1,1,past,2] and [1,1,past,2]"),
      std::string::npos)
      << msg;
  msg = error_of(model(), {q, k, v, Tensor(), t({2, 1, 3, 2}), t({2, 1, 3, 2})});
  EXPECT_NE(msg.find("must be [1,1,past,2]"), std::string::npos) << msg;

  ir::Model lengths = single_node_model("Attention", 7, 1, {}, 23);
  for (size_t i : {5, 4, 3}) omit_input(lengths, i);
  msg = error_of(lengths,
                 {q, k, v, Tensor(), Tensor(), Tensor(), Tensor::from_vector<int64_t>({0}, {})});
  EXPECT_NE(msg.find("nonpad_kv_seqlen [0] must be [1]"), std::string::npos) << msg;

  msg =
      error_of(single_node_model("Attention", 3, 1, {}, 23), {q, t({1, 0, 2, 2}), t({1, 0, 2, 2})});
  EXPECT_NE(msg.find("2 query heads cannot share 0 key/value heads"), std::string::npos) << msg;
  Tensor k8 = Tensor::from_vector<int8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  msg = error_of(single_node_model("Attention", 3, 1, {}, 23), {q, k8, v});
  EXPECT_NE(msg.find("input 1 is int8 but Q is float"), std::string::npos) << msg;
}

}  // namespace
}  // namespace onyx
