// The session's graph passes (runtime/passes.h, runtime/simplify.h): each rewrites what it
// should, leaves what it must not touch, and the rewritten graph computes what the original
// does (the session with its passes against the session without them).
#include <gtest/gtest.h>

#include "../ops/test_util.h"
#include "onyx/ir/builder.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/passes.h"
#include "onyx/runtime/simplify.h"
#include "run_util.h"

namespace onyx {
namespace {

using testing::expect_close;
using testing::run;

int count(const ir::Graph& g, const std::string& op) {
  int k = 0;
  for (const auto& n : g.nodes) k += n.op_type == op;
  return k;
}

Tensor int64s(std::vector<int64_t> v) {
  Tensor t = Tensor::empty(DType::Int64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

ir::TypeInfo float_of(const Shape& s) {
  return ir::TypeInfo::tensor(DType::Float32, s);
}

// Both sessions on the same feeds, output by output.
void expect_same_results(const ir::Model& m, const runtime::NamedValues& feeds, double tol) {
  auto plain = run(m, feeds, 1, false);
  auto fast = run(m, feeds, 2, true);
  ASSERT_EQ(plain.size(), fast.size());
  for (size_t i = 0; i < plain.size(); ++i)
    expect_close(fast[i], plain[i], tol, "output " + std::to_string(i));
}

TEST(EliminateNoOps, RemovesWhatChangesNothing) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 3, 4}));
  std::string a = g.op("Identity", {x});
  std::string b = g.op("Dropout", {a});  // inference: no training_mode input
  std::string c = g.op("Transpose", {b}, {ir::attr("perm", std::vector<int64_t>{0, 1, 2})});
  std::string d = g.op("Cast", {c}, {ir::attr("to", int64_t{1})});
  std::string e = g.op("Reshape", {d, g.constant("s", int64s({2, -1, 4}))});
  // Two Transposes that undo each other; two that compose into one.
  std::string f = g.op("Transpose", {e}, {ir::attr("perm", std::vector<int64_t>{1, 2, 0})});
  std::string h = g.op("Transpose", {f}, {ir::attr("perm", std::vector<int64_t>{2, 0, 1})});
  std::string i = g.op("Transpose", {h}, {ir::attr("perm", std::vector<int64_t>{1, 0, 2})});
  std::string j = g.op("Transpose", {i}, {ir::attr("perm", std::vector<int64_t>{0, 2, 1})});
  // Reshape of a Reshape: the inner one goes.
  std::string k = g.op("Reshape", {j, g.constant("s", int64s({6, 4}))});
  std::string l = g.op("Reshape", {k, g.constant("s", int64s({4, 6}))});
  std::string out = g.op("Relu", {l});
  g.output(out);
  g.output(g.op("Identity", {out}));  // an output keeps its producer
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  auto r = runtime::eliminate_no_ops(m.graph, ctx);
  EXPECT_EQ(count(*r, "Identity"), 1);
  EXPECT_EQ(count(*r, "Dropout"), 0);
  EXPECT_EQ(count(*r, "Cast"), 0);
  EXPECT_EQ(count(*r, "Transpose"), 1) << "four Transposes were one permutation";
  EXPECT_EQ(count(*r, "Reshape"), 1);
  EXPECT_EQ(r->nodes.size(), 4u);
  expect_same_results(m, {{"x", testing::random_tensor({2, 3, 4}, 1)}}, 0);
}

TEST(EliminateNoOps, KeepsWhatChangesValues) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 3}));
  Tensor yes = Tensor::empty(DType::Bool, {});
  yes.data<bool>()[0] = true;
  std::string dropped =
      g.op("Dropout", {x, g.scalar(0.5, DType::Float32), g.constant("training", yes)});
  std::string cast = g.op("Cast", {x}, {ir::attr("to", int64_t{11})});  // to double
  std::string moved = g.op("Reshape", {x, g.constant("s", int64s({3, 2}))});
  std::string t = g.op("Transpose", {x});  // reversed: no perm
  // The inner Reshape's output is read twice, so it stays.
  std::string inner = g.op("Reshape", {x, g.constant("s", int64s({6}))});
  std::string outer = g.op("Reshape", {inner, g.constant("s", int64s({1, 6}))});
  // Read by nodes, not only as graph outputs (whose producers stay anyway).
  for (const auto& v : {dropped, cast, moved, t, inner, outer}) g.output(g.op("Neg", {v}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  auto r = runtime::eliminate_no_ops(m.graph, ctx);
  EXPECT_EQ(r, m.graph) << "nothing here is a no-op";
}

TEST(FoldConstants, EvaluatesConstantSubgraphsOnce) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 6}));
  // A weight computed from constants: Transpose(w) * 2.
  std::string w = g.constant("w", testing::random_tensor({4, 6}, 2));
  std::string wt = g.op("Mul", {g.op("Transpose", {w}), g.scalar(2, DType::Float32)});
  std::string y = g.op("MatMul", {x, wt});
  // A shape computed from x's static shape: Reshape(y, [Shape(x)[0], -1]).
  std::string n0 = g.op("Gather", {g.op("Shape", {x}), g.constant("i", int64s({0}))},
                        {ir::attr("axis", int64_t{0})});
  std::string shape =
      g.op("Concat", {n0, g.constant("m1", int64s({-1}))}, {ir::attr("axis", int64_t{0})});
  std::string z = g.op("Reshape", {y, shape});
  // Something made from nothing, too large to store: stays a node.
  std::string big = g.op("ConstantOfShape", {g.constant("dims", int64s({1 << 20}))});
  std::string total = g.op("ReduceSum", {big}, {ir::attr("keepdims", int64_t{0})});
  g.output(g.op("Mul", {z, total}));
  std::string noise = g.op("RandomNormal", {}, {ir::attr("shape", std::vector<int64_t>{2})});
  g.output(g.op("Mul", {noise, g.scalar(0, DType::Float32)}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  auto r = runtime::fold_constants(m.graph, ctx);
  for (const char* op : {"Transpose", "Shape", "Gather", "Concat"})
    EXPECT_EQ(count(*r, op), 0) << op;
  EXPECT_EQ(count(*r, "Mul"), 2) << "the product of constants folded, the outputs' stay";
  EXPECT_EQ(count(*r, "ReduceSum"), 0) << "its scalar result is stored instead";
  EXPECT_EQ(count(*r, "ConstantOfShape"), 0) << "nothing reads it now";
  EXPECT_EQ(count(*r, "RandomNormal"), 1);
  for (const auto& init : r->initializers) EXPECT_LE(init.value.numel(), 24) << init.name;
  expect_same_results(m, {{"x", testing::random_tensor({2, 6}, 3)}}, 1e-6);
}

TEST(FoldConstants, LargeResultsStayNodes) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({1}));
  std::string big = g.op("ConstantOfShape", {g.constant("dims", int64s({1 << 20}))});
  g.output(g.op("Add", {big, x}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  auto r = runtime::fold_constants(m.graph, ctx);
  EXPECT_EQ(count(*r, "ConstantOfShape"), 1);
  for (const auto& init : r->initializers) EXPECT_LE(init.value.numel(), 1) << init.name;
  expect_same_results(m, {{"x", testing::random_tensor({1}, 4)}}, 0);
}

// A generator whose result would be huge is not even evaluated.
TEST(FoldConstants, HugeGeneratorsAreNotEvaluated) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({1}));
  std::string big = g.op("ConstantOfShape", {g.constant("dims", int64s({1 << 20, 1 << 20}))});
  g.output(g.op("Add", {g.op("ReduceSum", {big}, {ir::attr("keepdims", int64_t{0})}), x}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  EXPECT_EQ(runtime::fold_constants(m.graph, ctx), m.graph);
}

// An initializer that is also an input is a default the caller may replace: never folded.
TEST(FoldConstants, FedInitializersAreNotConstants) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({3}));
  std::string w = g.constant("w", testing::random_tensor({3}, 5));
  m.graph->expose_initializer(w);
  g.output(g.op("Mul", {x, g.op("Neg", {w})}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  EXPECT_EQ(runtime::fold_constants(m.graph, ctx), m.graph);
  Tensor fed = testing::random_tensor({3}, 6);
  auto plain = run(m, {{"x", fed}, {"w", fed}}, 1, false);
  auto fast = run(m, {{"x", fed}, {"w", fed}}, 1, true);
  expect_close(fast[0], plain[0], 0, "fed weight");
}

// A node that fails on its constants is left for the run to report, naming it.
TEST(FoldConstants, FailingNodesAreLeftForTheRun) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({3}));
  std::string bad = g.op("Add", {g.constant("a", testing::random_tensor({3}, 1)),
                                 g.constant("b", testing::random_tensor({4}, 2))});
  g.output(g.op("Add", {x, bad}));
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  EXPECT_EQ(runtime::fold_constants(m.graph, ctx), m.graph);
  runtime::Session s(m);
  try {
    s.run({{"x", testing::random_tensor({3}, 3)}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Add"), std::string::npos) << e.what();
  }
}

ir::Model conv_bn(bool training_mode, bool conv_read_twice) {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder g(*m.graph);
  std::string x = g.input("x", float_of({2, 5, 7, 7}));
  std::string c = g.op("Conv",
                       {x, g.constant("w", testing::random_tensor({6, 5, 3, 3}, 1, -0.4, 0.4)),
                        g.constant("b", testing::random_tensor({6}, 2))},
                       {ir::attr("pads", std::vector<int64_t>{1, 1, 1, 1})});
  std::vector<std::string> bn = {c, g.constant("scale", testing::random_tensor({6}, 3, 0.5, 2)),
                                 g.constant("shift", testing::random_tensor({6}, 4)),
                                 g.constant("mean", testing::random_tensor({6}, 5)),
                                 g.constant("var", testing::random_tensor({6}, 6, 0.1, 3))};
  std::vector<ir::Attribute> attrs{ir::attr("epsilon", 1e-3f)};
  if (training_mode) attrs.push_back(ir::attr("training_mode", int64_t{1}));
  g.output(g.op("Relu", {g.op("BatchNormalization", bn, attrs)}));
  if (conv_read_twice) g.output(c);
  return m;
}

TEST(FoldConvBatchNorm, FoldsIntoTheWeights) {
  ir::Model m = conv_bn(false, false);
  runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
  auto r = runtime::fold_conv_batchnorm(m.graph, ctx);
  EXPECT_EQ(count(*r, "BatchNormalization"), 0);
  EXPECT_EQ(r->initializers.size(), 2u) << "the folded W and B; the originals are unread";
  expect_same_results(m, {{"x", testing::random_tensor({2, 5, 7, 7}, 7)}}, 1e-5);
}

TEST(FoldConvBatchNorm, LeavesTrainingModeAndSharedOutputs) {
  for (bool training : {false, true}) {
    ir::Model m = conv_bn(training, !training);
    runtime::PassContext ctx(m, runtime::PassLevel::Runtime);
    EXPECT_EQ(runtime::fold_conv_batchnorm(m.graph, ctx), m.graph) << training;
  }
}

// At the standard level the session's passes write no op of the runtime's own.
TEST(GraphPasses, StandardLevelStaysStandardOnnx) {
  ir::Model m = conv_bn(false, false);
  auto std_graph = runtime::optimize_graph(m.graph, m, runtime::PassLevel::Standard);
  auto rt_graph = runtime::optimize_graph(m.graph, m, runtime::PassLevel::Runtime);
  for (const auto& n : std_graph->nodes) EXPECT_TRUE(n.domain.empty()) << n.describe();
  bool runtime_ops = false;
  for (const auto& n : rt_graph->nodes) runtime_ops |= n.domain == ops::kRuntimeDomain;
  EXPECT_TRUE(runtime_ops) << "the Conv runs blocked";
  auto training = runtime::optimize_graph(m.graph, m, runtime::PassLevel::Standard, true);
  EXPECT_EQ(count(*training, "BatchNormalization"), 1) << "folding into weights changes training";
}

}  // namespace
}  // namespace onyx
