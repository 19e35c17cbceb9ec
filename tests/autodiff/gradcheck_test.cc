// Every gradient rule against finite differences in float64 (see gradcheck.h).
#include "gradcheck.h"

#include "onyx/ir/builder.h"

namespace onyx {
namespace {

using ir::attr;
using testing::check;
using testing::constant;
using testing::fixed;
using testing::GradChecker;
using testing::GradCheckOptions;
using testing::i64;
using testing::no_grad;
using testing::rnd;

TEST(GradCheck, BroadcastingBinaries) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    check(op, {rnd({2, 3}), rnd({2, 3}, 0.5, 2, 2)});
    check(op, {rnd({2, 3, 4}), rnd({3, 1}, 0.5, 2, 2)});          // broadcast and leading axes
    check(op, {rnd({1, 4}, 0.5, 2, 3), rnd({3, 1}, 0.5, 2, 2)});  // both broadcast
    check(op, {rnd({}), rnd({2, 2}, 0.5, 2, 2)});                 // scalar
  }
  check("Pow", {rnd({2, 3}, 0.5, 2), rnd({2, 3}, -1, 2, 2)});
  check("Pow", {rnd({2, 3}, 0.5, 2), rnd({3}, -1, 2, 2)});
}

TEST(GradCheck, UnaryMath) {
  for (const char* op : {"Neg", "Exp", "Sin", "Cos", "Tanh", "Sigmoid", "Erf", "Softsign",
                         "Softplus", "Identity", "Tan"}) {
    check(op, {rnd({2, 3}, -1.2, 1.2)});
  }
  for (const char* op : {"Sqrt", "Log", "Reciprocal"}) check(op, {rnd({2, 3}, 0.5, 2)});
  for (const char* op : {"Asin", "Acos", "Atanh"}) check(op, {rnd({2, 3}, -0.8, 0.8)});
  for (const char* op : {"Atan", "Sinh", "Cosh", "Asinh"}) check(op, {rnd({2, 3}, -1.5, 1.5)});
  check("Acosh", {rnd({2, 3}, 1.2, 3)});
  // Quotients away from integers, where trunc(a / b) jumps.
  check("Mod",
        {fixed(Tensor::from_vector<double>({4}, {2.5, -2.5, 7.3, -0.4})),
         fixed(Tensor::from_vector<double>({4}, {0.7, 0.9, -2.2, 1.1}))},
        {attr("fmod", int64_t{1})});
  // Kinks away from the sampled points: |x| >= 0.1.
  Tensor away = Tensor::from_vector<double>({2, 3}, {-1.5, -0.7, -0.1, 0.2, 0.9, 1.6});
  for (const char* op : {"Abs", "Relu", "Elu", "Selu", "Celu", "LeakyRelu", "HardSwish"}) {
    check(op, {fixed(away)});
  }
  check("LeakyRelu", {fixed(away)}, {attr("alpha", 0.3f)});
  check("ThresholdedRelu", {fixed(away)}, {attr("alpha", 0.5f)});
  check("Shrink", {fixed(away)}, {attr("lambd", 0.5f), attr("bias", 0.2f)});
  check("Elu", {fixed(away)}, {attr("alpha", 0.7f)});
  check("Celu", {fixed(away)}, {attr("alpha", 2.0f)});
  check("HardSigmoid", {fixed(away)}, {attr("alpha", 0.4f), attr("beta", 0.3f)});
  check("PRelu", {fixed(away), rnd({3}, 0.1, 0.5, 3)});
}

// Mish is opset 18, newer than this ONNX library's shape inference.
TEST(GradCheck, Mish) {
  check("Mish", {rnd({3, 4}, -4, 4)}, {}, {.opset = 18});
}

// Gelu (opset 20, both forms) and Swish (opset 24).
TEST(GradCheck, GeluAndSwish) {
  check("Gelu", {rnd({3, 4}, -4, 4)}, {}, {.opset = 20});
  check("Gelu", {rnd({3, 4}, -4, 4, 2)}, {attr("approximate", "tanh")}, {.opset = 20});
  check("Swish", {rnd({3, 4}, -4, 4, 3)}, {}, {.opset = 24});
  check("Swish", {rnd({3, 4}, -4, 4, 4)}, {attr("alpha", 0.6f)}, {.opset = 24});
}

// RMSNormalization (opset 23) over the last axis and over the last two, scale broadcast.
TEST(GradCheck, RmsNormalization) {
  check("RMSNormalization", {rnd({2, 3, 4}), rnd({4}, 0.5, 1.5, 2)}, {}, {.opset = 23});
  check("RMSNormalization", {rnd({2, 3, 4}, -2, 2, 3), rnd({3, 4}, 0.5, 1.5, 4)},
        {attr("axis", int64_t{1}), attr("epsilon", 0.01f)}, {.opset = 23});
}

// LpNormalization (p 1 and 2, two axes) and CenterCropPad (crop one axis, pad another).
TEST(GradCheck, LpNormalizationAndCenterCropPad) {
  check("LpNormalization", {rnd({3, 4})});
  check("LpNormalization", {rnd({3, 4}, 0.2, 2, 2)},
        {attr("p", int64_t{1}), attr("axis", int64_t{0})});
  check("CenterCropPad", {rnd({2, 5, 3}), constant(Tensor::from_vector<int64_t>({2}, {2, 6}))},
        {attr("axes", std::vector<int64_t>{1, 2})}, {.opset = 18});
}

TEST(GradCheck, SelectAndClamp) {
  Tensor x = Tensor::from_vector<double>({2, 3}, {-1.5, -0.7, -0.1, 0.2, 0.9, 1.6});
  check("Clip",
        {fixed(x), constant(Tensor::scalar<double>(-0.5)), constant(Tensor::scalar<double>(1.0))});
  check("Clip", {fixed(x)}, {attr("min", -0.5f)}, {.opset = 6});
  Tensor cond = Tensor::from_vector<bool>({3}, {true, false, true});
  check("Where", {no_grad(cond), rnd({2, 3}), rnd({1, 3}, -2, 2, 5)});
  check("Max", {rnd({2, 3}), rnd({3}, -2, 2, 7), rnd({2, 1}, -2, 2, 9)});
  check("Min", {rnd({2, 3}), rnd({3}, -2, 2, 7)});
  check("Sum", {rnd({2, 3}), rnd({3}, -2, 2, 7)});
  check("Mean", {rnd({2, 3}), rnd({3}, -2, 2, 7)});
}

TEST(GradCheck, MatMulAndGemm) {
  check("MatMul", {rnd({3, 4}), rnd({4, 2}, -2, 2, 2)});
  check("MatMul", {rnd({2, 3, 4}), rnd({4, 5}, -2, 2, 2)});     // broadcast B
  check("MatMul", {rnd({1, 3, 4}), rnd({2, 4, 5}, -2, 2, 2)});  // broadcast batch of A
  check("MatMul", {rnd({4}), rnd({2, 4, 3}, -2, 2, 2)});        // 1-D A
  check("MatMul", {rnd({2, 3, 4}), rnd({4}, -2, 2, 2)});        // 1-D B
  check("MatMul", {rnd({4}), rnd({4}, -2, 2, 2)});              // dot
  for (int64_t ta : {0, 1}) {
    for (int64_t tb : {0, 1}) {
      Shape a = ta ? Shape{4, 3} : Shape{3, 4}, b = tb ? Shape{5, 4} : Shape{4, 5};
      check("Gemm", {rnd(a), rnd(b, -2, 2, 2), rnd({5}, -2, 2, 3)},
            {attr("transA", ta), attr("transB", tb), attr("alpha", 0.7f), attr("beta", 1.3f)});
    }
  }
  check("Einsum", {rnd({2, 3}), rnd({3, 4}, -2, 2, 2)}, {attr("equation", "ij,jk->ik")});
  check("Einsum", {rnd({2, 3, 4}), rnd({2, 4, 5}, -2, 2, 2)}, {attr("equation", "bij,bjk->bik")});
  check("Einsum", {rnd({2, 3}), rnd({4}, -2, 2, 2)}, {attr("equation", "ij,k->i")});
  check("Einsum", {rnd({3, 4})}, {attr("equation", "ij->j")});
  check("Einsum", {rnd({3, 4}), rnd({3, 4}, -2, 2, 2)}, {attr("equation", "ij,ij")});
  // Diagonals: trace, diagonal extraction, a repeated label against another operand.
  check("Einsum", {rnd({3, 3})}, {attr("equation", "ii->")});
  check("Einsum", {rnd({3, 3})}, {attr("equation", "ii->i")});
  check("Einsum", {rnd({3, 3, 2}), rnd({2, 4}, -2, 2, 2)}, {attr("equation", "iij,jk->ik")});
  // Repeated subscripts next to an ellipsis, around it, and with the ellipsis broadcast.
  check("Einsum", {rnd({2, 3, 3})}, {attr("equation", "...ii->...i")});
  check("Einsum", {rnd({3, 2, 3})}, {attr("equation", "i...i->...")});
  check("Einsum", {rnd({2, 3, 3}), rnd({2, 3}, -2, 2, 2)}, {attr("equation", "...ii,...i->...")});
  check("Einsum", {rnd({1, 3, 3}), rnd({2, 3}, -2, 2, 2)}, {attr("equation", "...ii,...i->...i")});
}

// Det through cofactors: batched, 1x1 and 2x2 edge sizes, and a singular matrix (where
// det(X) X^-T does not exist but the gradient does).
TEST(GradCheck, Det) {
  check("Det", {rnd({3, 3})});
  check("Det", {rnd({2, 4, 4}, -1, 1, 3)});
  check("Det", {rnd({2, 1, 1})});
  check("Det", {rnd({2, 2}, -1, 1, 5)});
  check("Det", {fixed(Tensor::from_vector<double>({3, 3}, {1, 2, 3, 1, 2, 3, 0.5, -1, 2}))});
}

TEST(GradCheck, Reductions) {
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceL2", "ReduceSumSquare",
                         "ReduceLogSumExp", "ReduceMax", "ReduceMin", "ReduceL1"}) {
    bool input_axes = std::string(op) == "ReduceSum";
    for (int64_t keep : {0, 1}) {
      std::vector<ir::Attribute> a{attr("keepdims", keep)};
      if (input_axes) {
        check(op, {rnd({2, 3, 4}, 0.3, 2), constant(i64({1, -1}))}, a);
      } else {
        a.push_back(attr("axes", std::vector<int64_t>{1, -1}));
        check(op, {rnd({2, 3, 4}, 0.3, 2)}, a);
      }
      check(op, {rnd({2, 3}, 0.3, 2)}, {attr("keepdims", keep)});  // all axes
    }
  }
  check("ReduceProd", {rnd({2, 3}, 0.5, 1.5)}, {attr("axes", std::vector<int64_t>{0})});
  // Rows with no zero, one zero and two zeros (PyTorch's cases).
  Tensor zeros = Tensor::from_vector<double>({3, 3}, {0.5, -1.2, 1.5, 0.7, 0, -0.8, 0, 1.3, 0});
  check("ReduceProd", {fixed(zeros)}, {attr("axes", std::vector<int64_t>{1})});
  check("ReduceProd", {fixed(zeros)}, {attr("keepdims", int64_t{0})});
  check("ReduceLogSum", {rnd({2, 3}, 0.5, 1.5)}, {attr("axes", std::vector<int64_t>{1})});
  check("ReduceSum", {rnd({2, 3}), constant(i64({}))}, {attr("noop_with_empty_axes", int64_t{1})});
  check("ReduceSum", {rnd({2, 3}, -2, 2)}, {attr("axes", std::vector<int64_t>{1})}, {.opset = 11});
  for (int64_t rev : {0, 1}) {
    for (int64_t exc : {0, 1}) {
      check("CumSum", {rnd({3, 4}), constant(Tensor::scalar<int64_t>(1))},
            {attr("reverse", rev), attr("exclusive", exc)});
    }
  }
}

TEST(GradCheck, Softmax) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    check(op, {rnd({2, 3, 4})});
    check(op, {rnd({2, 3, 4})}, {attr("axis", int64_t{1})});
    check(op, {rnd({2, 3, 4})}, {attr("axis", int64_t{1})}, {.opset = 11});  // 2-D coercion
  }
}

TEST(GradCheck, ShapeOps) {
  check("Reshape", {rnd({2, 3, 4}), constant(i64({4, -1}))});
  check("Flatten", {rnd({2, 3, 4})}, {attr("axis", int64_t{2})});
  check("Squeeze", {rnd({2, 1, 3}), constant(i64({1}))});
  check("Unsqueeze", {rnd({2, 3}), constant(i64({0, 3}))});
  check("Transpose", {rnd({2, 3, 4})}, {attr("perm", std::vector<int64_t>{1, 2, 0})});
  check("Transpose", {rnd({2, 3, 4})});
  check("Concat", {rnd({2, 3}), rnd({2, 1}, -2, 2, 2), rnd({2, 2}, -2, 2, 3)},
        {attr("axis", int64_t{1})});
  check("Split", {rnd({2, 6}), constant(i64({1, 2, 3}))}, {attr("axis", int64_t{1})},
        {.num_outputs = 3});
  check("Slice", {rnd({4, 5}), constant(i64({1, 4})), constant(i64({3, 0})), constant(i64({0, 1})),
                  constant(i64({1, -2}))});
  check("Gather", {rnd({4, 3}), constant(Tensor::from_vector<int64_t>({2, 2}, {0, 3, 3, -1}))});
  check("Gather", {rnd({4, 3}), constant(i64({2, 0, 2}))}, {attr("axis", int64_t{1})});
  check("GatherElements",
        {rnd({3, 3}), constant(Tensor::from_vector<int64_t>({2, 3}, {0, 1, 1, 2, 0, 0}))},
        {attr("axis", int64_t{0})});
  check("Expand", {rnd({3, 1}), constant(i64({2, 3, 4}))});
  check("Tile", {rnd({2, 3}), constant(i64({2, 3}))});
  check("Pad", {rnd({2, 3}), constant(i64({0, 1, 2, 1})), constant(Tensor::scalar<double>(0.5))});
}

TEST(GradCheck, RearrangeAndIndex) {
  using V = std::vector<int64_t>;
  auto ints = [](Shape shape, std::vector<int64_t> v) {
    return constant(Tensor::from_vector<int64_t>(std::move(shape), v));
  };
  check("DepthToSpace", {rnd({1, 8, 2, 3})}, {attr("blocksize", int64_t{2})});
  check("DepthToSpace", {rnd({1, 8, 2, 3})}, {attr("blocksize", int64_t{2}), attr("mode", "CRD")});
  check("SpaceToDepth", {rnd({1, 2, 4, 6})}, {attr("blocksize", int64_t{2})});
  Tensor keep = Tensor::from_vector<bool>({3}, {true, false, true});
  check("Compress", {rnd({3, 4}), constant(keep)}, {attr("axis", int64_t{0})});
  check("Compress", {rnd({2, 3}), constant(keep)});  // flattened, condition shorter
  check("ReverseSequence", {rnd({4, 3}), ints({3}, {4, 2, 3})},
        {attr("batch_axis", int64_t{1}), attr("time_axis", int64_t{0})});
  check("GatherND", {rnd({3, 4}), ints({3, 2}, {0, 1, 2, 3, 0, 1})});  // a repeat
  check("GatherND", {rnd({2, 3, 4}), ints({2, 2, 1}, {0, 2, 1, 1})},
        {attr("batch_dims", int64_t{1})});
  Tensor distinct = Tensor::from_vector<double>(
      {3, 4}, {0.3, -1.2, 0.8, 1.9, -0.4, 0.1, 1.1, -0.9, 0.6, 1.4, -1.7, 0.2});
  check("TopK", {fixed(distinct), ints({1}, {2})}, {attr("axis", int64_t{1})},
        {.num_outputs = 2, .seeded_outputs = 1});
  check("MaxUnpool", {rnd({1, 1, 2, 2}), ints({1, 1, 2, 2}, {1, 6, 8, 15})},
        {attr("kernel_shape", V{2, 2}), attr("strides", V{2, 2})});
  check("Trilu", {rnd({3, 4}), ints({}, {1})}, {attr("upper", int64_t{0})});
  check("Trilu", {rnd({3, 4})});
  Tensor idx = Tensor::from_vector<int64_t>({2, 3}, {1, 0, 2, 0, 2, 1});
  check("ScatterElements", {rnd({3, 3}), constant(idx), rnd({2, 3}, -2, 2, 5)});
  Tensor repeats = Tensor::from_vector<int64_t>({2, 3}, {1, 0, 2, 1, 0, 2});
  check("ScatterElements", {rnd({3, 3}), constant(repeats), rnd({2, 3}, -2, 2, 5)},
        {attr("reduction", "add")});
  // Scatter (opsets 9, 10): indices smaller than data on the other axis, axis 1 and -2.
  Tensor narrow = Tensor::from_vector<int64_t>({2, 2}, {1, 0, 2, 1});
  for (int64_t opset : {9, 10}) {
    check("Scatter", {rnd({3, 4}), constant(narrow), rnd({2, 2}, -2, 2, 5)},
          {attr("axis", int64_t{-2})}, {.opset = opset});
    check("Scatter", {rnd({2, 3}), constant(narrow), rnd({2, 2}, -2, 2, 5)},
          {attr("axis", int64_t{1})}, {.opset = opset});
  }
  // OneHot with respect to its values (off, on), indices negative and repeated.
  check("OneHot", {ints({2, 2}, {1, -1, 0, 1}), ints({}, {3}), rnd({2})},
        {attr("axis", int64_t{1})});
  check("ScatterND", {rnd({4, 3}), ints({2, 1}, {1, 3}), rnd({2, 3}, -2, 2, 5)});
  check("ScatterND", {rnd({4, 3}), ints({2, 1}, {1, 1}), rnd({2, 3}, -2, 2, 5)},
        {attr("reduction", "add")});
}

// Recurrent layers are differentiated unrolled (unroll.h): the gradient model's forward
// outputs must equal the kernel's, and its gradients the finite differences of the kernel.
TEST(GradCheck, Recurrent) {
  constexpr int64_t T = 3, N = 2, I = 3, H = 2;
  testing::GradInput none{Tensor(), false, false};
  auto weights = [&](const char* op, int64_t d, uint32_t seed) {
    int64_t g = std::string(op) == "LSTM" ? 4 : std::string(op) == "GRU" ? 3 : 1;
    return std::vector<testing::GradInput>{rnd({d, g * H, I}, -0.6, 0.6, seed),
                                           rnd({d, g * H, H}, -0.6, 0.6, seed + 1),
                                           rnd({d, 2 * g * H}, -0.3, 0.3, seed + 2)};
  };
  for (const char* op : {"RNN", "GRU", "LSTM"}) {
    size_t outputs = std::string(op) == "LSTM" ? 3 : 2;
    for (const char* direction : {"forward", "reverse", "bidirectional"}) {
      int64_t d = std::string(direction) == "bidirectional" ? 2 : 1;
      auto w = weights(op, d, 3);
      std::vector<testing::GradInput> in{rnd({T, N, I}, -1, 1, 2),    w[0], w[1], w[2], none,
                                         rnd({d, N, H}, -0.5, 0.5, 9)};
      if (outputs == 3) {
        in.push_back(rnd({d, N, H}, -0.5, 0.5, 10));
        in.push_back(rnd({d, 3 * H}, -0.5, 0.5, 11));  // peepholes
      }
      check(op, in, {attr("hidden_size", H), attr("direction", direction)},
            {.num_outputs = outputs});
    }
    // Batch-first layout, no bias, zero initial state.
    auto w = weights(op, 1, 5);
    check(op, {rnd({N, T, I}, -1, 1, 2), w[0], w[1]},
          {attr("hidden_size", H), attr("layout", int64_t{1})}, {.num_outputs = outputs});
  }
  auto w = weights("GRU", 1, 7);
  check("GRU", {rnd({T, N, I}, -1, 1, 2), w[0], w[1], w[2]},
        {attr("hidden_size", H), attr("linear_before_reset", int64_t{1})}, {.num_outputs = 2});
  check("RNN", {rnd({T, N, I}, -1, 1, 2), weights("RNN", 1, 4)[0], weights("RNN", 1, 4)[1]},
        {attr("hidden_size", H), attr("activations", std::vector<std::string>{"Relu"})},
        {.num_outputs = 2});
}

// If: gradients flow through whichever branch the condition takes to the enclosing values
// the branches read (in1, in2), including one a branch ignores (zero) and an output that
// is an enclosing value itself.
TEST(GradCheck, If) {
  auto branch = [](const std::string& op, bool read_second) {
    auto g = std::make_shared<ir::Graph>();
    g->name = op + "_branch";
    ir::GraphBuilder b(*g);
    std::string y = read_second ? b.op(op, {"in1", "in2"}) : b.op(op, {"in1"});
    b.output(b.op("Tanh", {y}), ir::TypeInfo::tensor(DType::Float64));
    b.output("in2", ir::TypeInfo::tensor(DType::Float64));
    return g;
  };
  for (bool cond : {true, false}) {
    check("If", {no_grad(Tensor::scalar<bool>(cond)), rnd({2, 3}), rnd({2, 3}, -2, 2, 2)},
          {attr("then_branch", branch("Mul", true)), attr("else_branch", branch("Sin", false))},
          {.num_outputs = 2, .node_inputs = 1});
  }
}

// Loop and Scan are differentiated unrolled, one copy of the body per iteration
// (unroll_loops): through the loop-carried values, the scan outputs, the iteration number
// and an enclosing value the body reads (in4 for Loop, in3 for Scan).
TEST(GradCheck, Loop) {
  auto t = [](std::optional<Shape> shape = std::nullopt) {
    return shape ? ir::TypeInfo::tensor(DType::Float64, *shape)
                 : ir::TypeInfo::tensor(DType::Float64);
  };
  // cond_out is the condition input passed through, or a Constant true.
  for (bool constant_cond : {false, true}) {
    auto body = std::make_shared<ir::Graph>();
    body->name = "body";
    ir::GraphBuilder b(*body);
    std::string i = b.input("i", ir::TypeInfo::tensor(DType::Int64, Shape{}));
    std::string cond = b.input("cond", ir::TypeInfo::tensor(DType::Bool, Shape{}));
    std::string s = b.input("s", t(Shape{2, 3}));
    std::string u = b.input("u", t(Shape{3}));
    std::string step = b.op("Cast", {i}, {attr("to", int64_t{11})});
    std::string next = b.op("Tanh", {b.op("Add", {b.op("Mul", {s, "in4"}), step})});
    std::string u_next = b.op(
        "Mul",
        {u, b.op("ReduceSum", {next, b.constant("axes", Tensor::from_vector<int64_t>({1}, {0}))},
                 {attr("keepdims", int64_t{0})})});
    std::string c = constant_cond
                        ? b.op("Constant", {}, {attr("value", Tensor::scalar<bool>(true))})
                        : b.op("Identity", {cond});
    b.output(c, ir::TypeInfo::tensor(DType::Bool, Shape{}));
    b.output(next, t(Shape{2, 3}));
    b.output(u_next, t(Shape{3}));
    b.output(b.op("Sin", {next}), t(Shape{2, 3}));
    check("Loop",
          {constant(Tensor::scalar<int64_t>(3)), constant(Tensor::scalar<bool>(true)),
           rnd({2, 3}, -1, 1, 1), rnd({3}, -1, 1, 2), rnd({2, 3}, -1, 1, 3)},
          {attr("body", body)}, {.num_outputs = 3, .node_inputs = 4});
  }
}

// Loops that cannot be unrolled (their number of iterations depends on data) get a
// backward Loop over the recorded iterations (rules_control.cc): a trip count fed as an
// input, and a while loop whose condition depends on the carried values. The values keep
// every finite-difference step on the same side of the condition.
TEST(GradCheck, WhileLoop) {
  auto f64 = [](Shape s) { return ir::TypeInfo::tensor(DType::Float64, s); };
  auto body = [&](bool data_cond) {
    auto g = std::make_shared<ir::Graph>();
    g->name = "body";
    ir::GraphBuilder b(*g);
    std::string i = b.input("i", ir::TypeInfo::tensor(DType::Int64, Shape{}));
    std::string cond = b.input("cond", ir::TypeInfo::tensor(DType::Bool, Shape{}));
    std::string s = b.input("s", f64({3}));
    std::string step = b.op("Cast", {i}, {attr("to", int64_t{11})});
    std::string grow = b.op("Sigmoid", {b.op("Mul", {s, "in3"})});
    std::string next = b.op("Add", {b.op("Add", {s, grow}), b.op("Mul", {step, "in3"})});
    std::string c = cond;
    if (data_cond) {
      std::string four = b.constant("four", Tensor::scalar<double>(4.0));
      c = b.op("Less", {b.op("ReduceSum", {next}, {attr("keepdims", int64_t{0})}), four});
    }
    b.output(c, ir::TypeInfo::tensor(DType::Bool, Shape{}));
    b.output(next, f64({3}));
    b.output(b.op("Tanh", {next}), f64({3}));
    return g;
  };
  testing::GradInput none{Tensor(), false, false};
  Tensor s0 = Tensor::from_vector<double>({3}, {0.3, -0.2, 0.1});
  Tensor w = Tensor::from_vector<double>({3}, {0.5, -0.4, 0.2});
  // A trip count fed at run time: 3 iterations.
  check("Loop", {no_grad(Tensor::scalar<int64_t>(3)), none, fixed(s0), fixed(w)},
        {attr("body", body(false))}, {.num_outputs = 2, .node_inputs = 3});
  // While the sum stays under 4: it is 0.2 at first and grows by about 1.6 an iteration.
  check("Loop", {none, no_grad(Tensor::scalar<bool>(true)), fixed(s0), fixed(w)},
        {attr("body", body(true))}, {.num_outputs = 2, .node_inputs = 3});
}

// The Scan of both Scan tests: state s, scan inputs x1 (along axis 0, forwards) and x2
// (along axis 1, backwards); outputs the next state, next * in3 (an enclosing value;
// stacked along axis 1 in reverse) and sin(x2) (along axis 0).
std::vector<ir::Attribute> scan_test_attrs() {
  auto body = std::make_shared<ir::Graph>();
  body->name = "body";
  ir::GraphBuilder b(*body);
  auto two = ir::TypeInfo::tensor(DType::Float64, Shape{2});
  std::string s = b.input("s", two), x1 = b.input("x1", two), x2 = b.input("x2", two);
  std::string next = b.op("Tanh", {b.op("Add", {s, b.op("Mul", {x1, x2})})});
  b.output(next, two);
  b.output(b.op("Mul", {next, "in3"}), two);
  b.output(b.op("Sin", {x2}), two);
  return {attr("body", body),
          attr("num_scan_inputs", int64_t{2}),
          attr("scan_input_axes", std::vector<int64_t>{0, 1}),
          attr("scan_input_directions", std::vector<int64_t>{0, 1}),
          attr("scan_output_axes", std::vector<int64_t>{1, 0}),
          attr("scan_output_directions", std::vector<int64_t>{1, 0})};
}

// A Scan whose length is known only at run time (declared "T") runs as a Loop that the
// Loop rule differentiates; the same Scan as GradCheck.Scan.
TEST(GradCheck, ScanOfRunTimeLength) {
  auto f64 = [](std::vector<ir::Dim> d) { return ir::TypeInfo::tensor(DType::Float64, d); };
  ir::Model m;
  m.set_opset("", 17);
  m.graph->name = "scan_of_run_time_length";
  ir::Dim two{2, "", ""}, t{std::nullopt, "T", ""};
  m.graph->inputs = {{"in0", f64({two}), ""},
                     {"in1", f64({t, two}), ""},
                     {"in2", f64({two, t}), ""},
                     {"in3", f64({two}), ""}};
  ir::Node n;
  n.name = "under_test";
  n.op_type = "Scan";
  n.inputs = {"in0", "in1", "in2"};
  n.outputs = {"out0", "out1", "out2"};
  n.attributes = scan_test_attrs();
  m.graph->nodes.push_back(n);
  for (const char* o : {"out0", "out1", "out2"}) m.graph->outputs.push_back({o, {}, ""});
  GradChecker c(
      m, {rnd({2}, -1, 1, 1), rnd({4, 2}, -1, 1, 2), rnd({2, 4}, -1, 1, 3), rnd({2}, -1, 1, 4)},
      {.num_outputs = 3});
  c.run("scan of run-time length");
}

// Sequences known statically are followed through and their reads become tensor ops
// (fold_sequences.cc): construct, insert at the front, erase the last, read one, stack
// them, map a body over them, split a tensor into a sequence and concatenate it back, and
// wrap and unwrap optionals.
TEST(GradCheck, Sequences) {
  ir::Model m;
  m.set_opset("", 17);
  m.graph->name = "sequences";
  ir::GraphBuilder b(*m.graph);
  auto t = [](Shape s) { return ir::TypeInfo::tensor(DType::Float64, s); };
  b.input("in0", t({2, 3}));
  b.input("in1", t({2, 3}));
  auto i64 = [&](std::vector<int64_t> v, Shape s) {
    return b.constant("c", Tensor::from_vector<int64_t>(s, v));
  };
  std::string s = b.op("SequenceConstruct", {"in0", "in1"});
  s = b.op("SequenceInsert", {s, b.op("Sin", {"in0"}), i64({0}, {})});  // [sin x, x, y]
  s = b.op("SequenceErase", {s, i64({-1}, {})});                        // [sin x, x]
  std::string stacked =
      b.op("ConcatFromSequence", {s}, {attr("axis", int64_t{-1}), attr("new_axis", int64_t{1})});
  std::string picked = b.op("SequenceAt", {s, i64({1}, {})});
  std::string pieces =
      b.op("SplitToSequence", {"in1"}, {attr("axis", int64_t{1}), attr("keepdims", int64_t{0})});
  std::string joined = b.op("ConcatFromSequence", {pieces}, {attr("axis", int64_t{0})});
  std::string count = b.op("Cast", {b.op("SequenceLength", {pieces})}, {attr("to", int64_t{11})});
  // SequenceMap: a body applied to each element, with a tensor input shared by all.
  auto body = std::make_shared<ir::Graph>();
  body->name = "map_body";
  ir::GraphBuilder mb(*body);
  mb.input("e", t({2, 3}));
  mb.input("w", t({2, 3}));
  mb.output(mb.op("Mul", {mb.op("Sin", {"e"}), "w"}), t({2, 3}));
  std::string mapped = b.op("SequenceMap", {s, "in1"}, {attr("body", body)});
  std::vector<std::string> results{
      b.op("Mul", {stacked, stacked}), b.op("Mul", {picked, b.op("Cos", {"in1"})}),
      b.op("Mul", {b.op("Tanh", {joined}), count}),
      b.op("ConcatFromSequence", {mapped}, {attr("axis", int64_t{1})}),
      // An optional holding in0, unwrapped, and whether it holds one (1).
      b.op("Mul", {b.op("OptionalGetElement", {b.op("Optional", {"in0"})}),
                   b.op("Cast", {b.op("OptionalHasElement", {b.op("Optional", {"in1"})})},
                        {attr("to", int64_t{11})})})};
  for (size_t k = 0; k < results.size(); ++k) {  // named out0.. as the checker expects
    ir::Node id;
    id.op_type = "Identity";
    id.inputs = {results[k]};
    id.outputs = {"out" + std::to_string(k)};
    m.graph->nodes.push_back(id);
    b.output(id.outputs[0]);
  }
  GradChecker c(m, {rnd({2, 3}), rnd({2, 3}, -2, 2, 2)}, {.num_outputs = 5});
  c.run("sequences");
}

// The same folding at opset 12, where Unsqueeze still takes its axes as an attribute.
TEST(GradCheck, SequencesAtOpset12) {
  ir::Model m;
  m.set_opset("", 12);
  m.graph->name = "sequences_12";
  ir::GraphBuilder b(*m.graph);
  b.input("in0", ir::TypeInfo::tensor(DType::Float64, Shape{2, 3}));
  b.input("in1", ir::TypeInfo::tensor(DType::Float64, Shape{2, 3}));
  std::string s = b.op("SequenceConstruct", {"in0", b.op("Sin", {"in1"})});
  std::string stacked =
      b.op("ConcatFromSequence", {s}, {attr("axis", int64_t{0}), attr("new_axis", int64_t{1})});
  ir::Node out;
  out.op_type = "Mul";
  out.inputs = {stacked, stacked};
  out.outputs = {"out0"};
  m.graph->nodes.push_back(out);
  b.output("out0");
  GradChecker c(m, {rnd({2, 3}), rnd({2, 3}, -2, 2, 2)}, {.num_outputs = 1, .opset = 12});
  c.run("sequences at opset 12");
}

TEST(GradCheck, Scan) {
  check("Scan",
        {rnd({2}, -1, 1, 1), rnd({4, 2}, -1, 1, 2), rnd({2, 4}, -1, 1, 3), rnd({2}, -1, 1, 4)},
        scan_test_attrs(), {.num_outputs = 3, .node_inputs = 3});
}

TEST(GradCheck, Convolution) {
  using V = std::vector<int64_t>;
  check("Conv", {rnd({2, 3, 5, 5}), rnd({4, 3, 3, 3}, -1, 1, 2), rnd({4}, -1, 1, 3)});
  check("Conv", {rnd({1, 2, 7, 6}), rnd({3, 2, 3, 2}, -1, 1, 2)},
        {attr("strides", V{2, 2}), attr("pads", V{1, 0, 2, 1}), attr("dilations", V{1, 2})});
  check("Conv", {rnd({2, 4, 5, 5}), rnd({6, 2, 3, 3}, -1, 1, 2)}, {attr("group", int64_t{2})});
  check("Conv", {rnd({1, 3, 6, 6}), rnd({3, 1, 3, 3}, -1, 1, 2)},
        {attr("group", int64_t{3}), attr("strides", V{2, 2}), attr("auto_pad", "SAME_UPPER")});
  check("Conv", {rnd({2, 2, 9}), rnd({3, 2, 4}, -1, 1, 2), rnd({3}, -1, 1, 3)},
        {attr("strides", V{3})});  // 1-D, input not a whole number of strides
}

// Col2Im (opset 18): overlapping blocks, strides, padding and dilation.
TEST(GradCheck, Col2Im) {
  using V = std::vector<int64_t>;
  auto shape = [](V v) { return constant(Tensor::from_vector<int64_t>({2}, v)); };
  // 5x5 image, 2x2 blocks at stride 1: 4x4 = 16 locations, 2 channels of 4 elements.
  check("Col2Im", {rnd({1, 8, 16}), shape({5, 5}), shape({2, 2})}, {}, {.opset = 18});
  // 2x3 blocks, dilation 2 by 1 (a 3x3 reach), stride 1 by 2, pads 1: locations
  // (6+2-3+1) x ((6+2-3)/2+1) = 6x3.
  check("Col2Im", {rnd({2, 6, 18}), shape({6, 6}), shape({2, 3})},
        {attr("dilations", V{2, 1}), attr("strides", V{1, 2}), attr("pads", V{1, 1, 1, 1})},
        {.opset = 18});
}

TEST(GradCheck, ConvTranspose) {
  using V = std::vector<int64_t>;
  check("ConvTranspose", {rnd({2, 3, 4, 4}), rnd({3, 2, 3, 3}, -1, 1, 2), rnd({2}, -1, 1, 3)});
  check("ConvTranspose", {rnd({1, 2, 3, 4}), rnd({2, 3, 3, 2}, -1, 1, 2)},
        {attr("strides", V{2, 3}), attr("pads", V{1, 0, 0, 1}), attr("output_padding", V{1, 2}),
         attr("dilations", V{1, 2})});
  check("ConvTranspose", {rnd({2, 4, 3, 3}), rnd({4, 1, 2, 2}, -1, 1, 2)},
        {attr("group", int64_t{2}), attr("strides", V{2, 2})});
  check("ConvTranspose", {rnd({1, 2, 3, 3}), rnd({2, 2, 3, 3}, -1, 1, 2)},
        {attr("strides", V{2, 2}), attr("auto_pad", "SAME_UPPER")});
  check("ConvTranspose", {rnd({1, 2, 3, 3}), rnd({2, 2, 3, 3}, -1, 1, 2)},
        {attr("strides", V{2, 2}), attr("output_shape", V{6, 5})});
  check("ConvTranspose", {rnd({2, 2, 5}), rnd({2, 3, 4}, -1, 1, 2), rnd({3}, -1, 1, 3)},
        {attr("strides", V{3})});  // 1-D
}

TEST(GradCheck, Resize) {
  auto floats = [](std::vector<float> v) {
    return constant(Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v));
  };
  Tensor x = testing::random_tensor({2, 1, 3, 4}, -2, 2, 4);
  testing::GradInput none{Tensor(), false, false};
  check("Resize", {fixed(x), none, floats({1, 1, 2, 2})}, {attr("mode", "nearest")});
  check("Resize", {fixed(x), none, floats({1, 1, 1.7f, 0.6f})},
        {attr("mode", "nearest"), attr("nearest_mode", "round_prefer_ceil")});
  check("Resize", {fixed(x), none, floats({1, 1, 1.5f, 2.5f})}, {attr("mode", "linear")});
  check("Resize", {fixed(x), none, none, constant(i64({2, 1, 5, 3}))},
        {attr("mode", "linear"), attr("coordinate_transformation_mode", "align_corners")});
  check("Resize", {fixed(x), none, floats({1, 1, 2, 1.5f})},
        {attr("mode", "cubic"), attr("coordinate_transformation_mode", "asymmetric")});
  check("Resize", {fixed(x), none, floats({1, 1, 2, 2})},
        {attr("mode", "linear"), attr("coordinate_transformation_mode", "pytorch_half_pixel")});
  check("Resize", {fixed(x), floats({}), none, constant(i64({2, 1, 6, 8}))},
        {attr("mode", "linear")}, {.opset = 11});
  check("Resize", {fixed(x), floats({1, 1, 2, 2})}, {attr("mode", "nearest")}, {.opset = 10});
  // tf_crop_and_resize: a region reaching outside the image (extrapolated there), and an
  // axis kept at its size but cropped.
  auto crop = [&](std::vector<float> roi, std::vector<int64_t> sizes) {
    check("Resize", {fixed(x), floats(roi), none, constant(i64(sizes))},
          {attr("mode", "linear"), attr("coordinate_transformation_mode", "tf_crop_and_resize"),
           attr("extrapolation_value", 10.0f)});
  };
  crop({0, 0, -0.2f, 0.1f, 1, 1, 1.1f, 0.8f}, {2, 1, 5, 3});
  crop({0, 0, 0.2f, 0.1f, 1, 1, 0.9f, 0.7f}, {2, 1, 3, 4});
  // tf_half_pixel_for_nn (opset 11 only) shifts even an unresized axis by half a pixel.
  for (const char* rounding : {"round_prefer_floor", "round_prefer_ceil"}) {
    check("Resize", {fixed(x), floats({}), floats({1, 1, 2, 1})},
          {attr("mode", "nearest"), attr("nearest_mode", rounding),
           attr("coordinate_transformation_mode", "tf_half_pixel_for_nn")},
          {.opset = 11});
  }
  check("Upsample", {fixed(x), floats({1, 1, 2, 1.5f})}, {attr("mode", "linear")}, {.opset = 9});
  check("Upsample", {fixed(x)},
        {attr("mode", "nearest"), attr("scales", std::vector<float>{1, 1, 2, 3})}, {.opset = 7});
}

// GridSample, lowered to primitive ops (lower_grid_sample.cc): with respect to the image
// and the grid, in every mode, padding mode and corner alignment. The grid reaches outside
// the image (-1.4 to 1.4) so that every padding rule is exercised; finite differences
// step over no tap boundary as long as no coordinate sits within eps of an integer.
TEST(GradCheck, GridSample) {
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    for (const char* padding : {"zeros", "border", "reflection"}) {
      for (int64_t align : {0, 1}) {
        SCOPED_TRACE(std::string(mode) + " " + padding + " align_corners " + std::to_string(align));
        check("GridSample", {rnd({2, 2, 3, 4}), rnd({2, 3, 2, 2}, -1.4, 1.4, 7)},
              {attr("mode", mode), attr("padding_mode", padding), attr("align_corners", align)});
      }
    }
  }
}

// RoiAlign, lowered to primitive ops (lower_roi_align.cc), with respect to the feature map:
// regions of different sizes (so an adaptive grid masks points), one reaching outside the
// map, two regions on the same image; fixed and adaptive sampling, avg and max, both
// coordinate modes.
TEST(GradCheck, RoiAlign) {
  Tensor rois = Tensor::from_vector<double>(
      {3, 4}, {0.3, 0.6, 3.7, 2.9, 1.1, 0.2, 2.3, 4.6, -2.5, 2.2, 7.5, 6.5});
  Tensor batch = Tensor::from_vector<int64_t>({3}, {1, 0, 1});
  for (const char* mode : {"avg", "max"}) {
    for (int64_t ratio : {0, 2}) {
      for (const char* coords : {"half_pixel", "output_half_pixel"}) {
        SCOPED_TRACE(std::string(mode) + " sampling_ratio " + std::to_string(ratio) + " " + coords);
        check("RoiAlign", {rnd({2, 2, 5, 6}), no_grad(rois), constant(batch)},
              {attr("mode", mode), attr("sampling_ratio", ratio), attr("output_height", int64_t{2}),
               attr("output_width", int64_t{3}), attr("spatial_scale", 0.9f),
               attr("coordinate_transformation_mode", coords)});
      }
    }
  }
  // Before opset 16 the lowered form's GatherElements has no gradient: the error says to
  // convert, and names the node.
  GradChecker old("RoiAlign", {rnd({2, 2, 5, 6}), no_grad(rois), constant(batch)}, {},
                  {.opset = 13});
  try {
    old.run("RoiAlign-10");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'under_test' (RoiAlign): cannot lower for "
                                         "differentiation: ScatterElements(reduction='add') "
                                         "needs opset 16 (the model has 13); convert"),
              std::string::npos)
        << e.what();
  }
}

TEST(GradCheck, Dft) {
  auto length = [](int64_t n) { return constant(Tensor::scalar<int64_t>(n)); };
  check("DFT", {rnd({2, 5, 2})});                                  // complex
  check("DFT", {rnd({2, 5, 2})}, {attr("inverse", int64_t{1})});   // inverse
  check("DFT", {rnd({2, 6, 1})}, {attr("onesided", int64_t{1})});  // real, onesided
  check("DFT", {rnd({2, 5, 1})}, {attr("onesided", int64_t{1})});  // odd length
  check("DFT", {rnd({2, 4, 2}), length(6)});                       // zero-padded signal
  check("DFT", {rnd({2, 6, 1}), length(4)});                       // truncated signal
  check("DFT", {rnd({3, 4, 2, 2})}, {attr("axis", int64_t{2})});
}

// STFT with respect to the signal and the window: overlapping frames (step < length), a
// signal whose last samples are in no frame, complex input, no window.
TEST(GradCheck, Stft) {
  auto scalar = [](int64_t n) { return constant(Tensor::scalar<int64_t>(n)); };
  testing::GradInput none{Tensor(), false, false};
  check("STFT", {rnd({2, 11, 1}), scalar(2), rnd({4}, -1, 1, 2)});  // 4 frames, 1 left over
  check("STFT", {rnd({1, 9, 1}), scalar(3), rnd({5}, -1, 1, 3)});   // odd length
  check("STFT", {rnd({2, 8, 2}), scalar(2), rnd({4}, -1, 1, 4)}, {attr("onesided", int64_t{0})});
  check("STFT", {rnd({2, 8, 1}), scalar(4), none, scalar(4)});
}

TEST(GradCheck, Pooling) {
  using V = std::vector<int64_t>;
  // Distinct values so that no window has a tie.
  Tensor x = testing::random_tensor({2, 2, 5, 5}, -2, 2, 4);
  check("MaxPool", {fixed(x)}, {attr("kernel_shape", V{2, 2}), attr("strides", V{2, 2})});
  check("MaxPool", {fixed(x)},
        {attr("kernel_shape", V{3, 3}), attr("strides", V{1, 2}), attr("pads", V{1, 1, 1, 1})});
  check("MaxPool", {fixed(x)},
        {attr("kernel_shape", V{2, 2}), attr("strides", V{2, 2}), attr("ceil_mode", int64_t{1})});
  for (int64_t include : {0, 1}) {
    check("AveragePool", {fixed(x)},
          {attr("kernel_shape", V{3, 3}), attr("strides", V{2, 2}), attr("pads", V{1, 1, 1, 1}),
           attr("count_include_pad", include)});
  }
  check("AveragePool", {fixed(x)}, {attr("kernel_shape", V{2, 3})});
  check("GlobalAveragePool", {fixed(x)});
  check("GlobalMaxPool", {fixed(x)});
  check("LpPool", {fixed(x)}, {attr("kernel_shape", V{2, 2}), attr("strides", V{1, 2})});
  check("LpPool", {fixed(x)},
        {attr("kernel_shape", V{3, 3}), attr("p", int64_t{3}), attr("pads", V{1, 1, 1, 1})});
  check("GlobalLpPool", {fixed(x)});
  check("GlobalLpPool", {fixed(x)}, {attr("p", int64_t{1})});
}

TEST(GradCheck, Normalization) {
  Tensor x = testing::random_tensor({3, 2, 2, 2}, -2, 2, 4);
  Tensor channels = testing::random_tensor({2, 5, 3}, -2, 2, 4);
  check("LRN", {fixed(channels)}, {attr("size", int64_t{3}), attr("alpha", 0.3f)});
  check("LRN", {fixed(channels)},  // even window: asymmetric around c
        {attr("size", int64_t{2}), attr("alpha", 0.5f), attr("beta", 0.6f), attr("bias", 2.0f)});
  auto params = [](uint32_t s) { return rnd({2}, 0.5, 1.5, s); };
  // Training mode: batch statistics.
  check("BatchNormalization",
        {fixed(x), params(5), params(6), no_grad(Tensor::from_vector<double>({2}, {0.1, -0.2})),
         no_grad(Tensor::from_vector<double>({2}, {1.5, 0.7}))},
        {attr("training_mode", int64_t{1})}, {.num_outputs = 3, .seeded_outputs = 1});
  // Inference mode: running statistics.
  check("BatchNormalization",
        {fixed(x), params(5), params(6), no_grad(Tensor::from_vector<double>({2}, {0.1, -0.2})),
         no_grad(Tensor::from_vector<double>({2}, {1.5, 0.7}))});
  check("InstanceNormalization", {fixed(x), params(5), params(6)});
  check("LayerNormalization", {fixed(x), rnd({2, 2}, 0.5, 1.5, 5), rnd({2}, -1, 1, 6)},
        {attr("axis", int64_t{-2})});
  check("LayerNormalization", {fixed(x), rnd({2}, 0.5, 1.5, 5)});
}

TEST(GradCheck, Losses) {
  Tensor labels = Tensor::from_vector<int64_t>({4}, {0, 2, 1, 2});
  Tensor weights = Tensor::from_vector<double>({3}, {0.5, 1.0, 2.0});
  for (const char* reduction : {"mean", "sum", "none"}) {
    check("SoftmaxCrossEntropyLoss", {rnd({4, 3}), constant(labels)},
          {attr("reduction", reduction)});
    check("SoftmaxCrossEntropyLoss", {rnd({4, 3}), constant(labels), constant(weights)},
          {attr("reduction", reduction), attr("ignore_index", int64_t{1})});
    check("NegativeLogLikelihoodLoss", {rnd({4, 3}), constant(labels), constant(weights)},
          {attr("reduction", reduction)});
  }
  // Extra dimensions, and the log_prob output used too.
  Tensor labels2 = Tensor::from_vector<int64_t>({2, 2}, {0, 2, 1, -100});
  check("SoftmaxCrossEntropyLoss", {rnd({2, 3, 2}), constant(labels2)},
        {attr("ignore_index", int64_t{-100})}, {.num_outputs = 2});
}

TEST(GradCheck, Dropout) {
  // Inference mode is the identity; training mode passes the kept elements, scaled.
  check("Dropout", {rnd({2, 3}), constant(Tensor::scalar<double>(0.3))});
  check("Dropout",
        {rnd({2, 3}), constant(Tensor::scalar<double>(0.0)), constant(Tensor::scalar<bool>(true))},
        {}, {.num_outputs = 2});
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// Attention (opset 23), lowered to MatMul and Softmax (lower_attention.cc): with respect to
// Q, K, V, an additive mask and the caches; 4-D and 3-D (packed heads), grouped-query heads,
// causal masking with a cache, soft capping, a boolean mask leaving one row empty, and the
// present caches and qk output (mode 1: soft-capped scores; mode 2 holds -inf, which finite
// differences cannot step through) seeded too.
TEST(GradCheck, Attention) {
  GradCheckOptions o{.opset = 23};
  check("Attention", {rnd({2, 2, 3, 4}), rnd({2, 2, 5, 4}, -2, 2, 2), rnd({2, 2, 5, 3}, -2, 2, 3)},
        {}, o);
  check("Attention", {rnd({1, 3, 8}, -2, 2, 4), rnd({1, 4, 4}, -2, 2, 5), rnd({1, 4, 6}, -2, 2, 6)},
        {attr("q_num_heads", int64_t{4}), attr("kv_num_heads", int64_t{2})}, o);
  GradCheckOptions cached{.num_outputs = 4, .opset = 23};
  check("Attention",
        {rnd({1, 4, 2, 3}, -2, 2, 7), rnd({1, 2, 2, 3}, -2, 2, 8), rnd({1, 2, 2, 3}, -2, 2, 9),
         rnd({1, 1, 5}, -1, 1, 10), rnd({1, 2, 3, 3}, -2, 2, 11), rnd({1, 2, 3, 3}, -2, 2, 12)},
        {attr("is_causal", int64_t{1}), attr("softcap", 1.5f), attr("scale", 0.4f),
         attr("qk_matmul_output_mode", int64_t{1})},
        cached);
  Tensor mask = Tensor::from_vector<bool>(
      {3, 4}, {true, false, true, true, false, false, false, false, true, true, false, true});
  check("Attention",
        {rnd({1, 1, 3, 2}, -2, 2, 13), rnd({1, 1, 4, 2}, -2, 2, 14), rnd({1, 1, 4, 2}, -2, 2, 15),
         no_grad(mask)},
        {}, o);
}

}  // namespace
}  // namespace onyx
