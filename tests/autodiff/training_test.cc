// Training steps against PyTorch: whole-model gradients of the loss and 20 optimizer steps
// from the same weights and batches (references from scripts/make_training_refs.py).
#include "onyx/autodiff/training.h"

#include "onyx/autodiff/embedded_training.h"

#include <set>

#include "gradcheck.h"
#include "onyx/runtime/session.h"
#include "training_refs.h"

namespace onyx {
namespace {

using testing::expect_close;
using testing::TrainingRefs;

// The optimizers as scripts/make_training_refs.py configures them.
autodiff::TrainingOptions options_for(const std::string& optimizer) {
  autodiff::TrainingOptions o;
  o.optimizer = optimizer;
  if (optimizer == "sgd" || optimizer == "adagrad") o.lr = 0.1;
  if (optimizer == "momentum") o.lr = 0.05, o.momentum = 0.9, o.weight_decay = 0.01;
  if (optimizer == "nesterov") o.lr = 0.05, o.momentum = 0.8;
  if (optimizer == "adam") o.lr = 0.01;
  if (optimizer == "adamw") o.lr = 0.01, o.weight_decay = 0.1;
  return o;
}

class LossGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(LossGradient, MatchesPyTorch) {
  TrainingRefs refs(GetParam());
  ir::Model grad = autodiff::build_loss_gradient(refs.model(), {});
  runtime::Session session(grad);
  Tensor x = TrainingRefs::row(refs.get("x"), 0), labels = TrainingRefs::row(refs.get("labels"), 0);
  std::vector<Value> out = session.run({{"x", x}, {"labels", labels}});
  expect_close(out[0].tensor(), refs.get("loss"), 1e-5, "loss");
  const auto& outputs = grad.graph->outputs;
  size_t checked = 0;
  for (const std::string& p : refs.params()) {
    std::string name = refs.initializer_of(p) + "_grad";
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].name != name) continue;
      expect_close(out[i].tensor(), refs.get("grad:" + p), 1e-4, p);
      ++checked;
    }
  }
  EXPECT_EQ(checked, refs.params().size()) << "every PyTorch parameter has an onyx gradient";
  EXPECT_EQ(outputs.size(), refs.params().size() + 1) << "and no other parameter has one";
}

INSTANTIATE_TEST_SUITE_P(Models, LossGradient,
                         ::testing::Values("mlp", "cnn_bn", "resblock", "lstm", "loop", "list",
                                           "while"));

struct StepCase {
  std::string model, optimizer;
};
void PrintTo(const StepCase& c, std::ostream* os) {
  *os << c.model << " with " << c.optimizer;
}

class TrainingSteps : public ::testing::TestWithParam<StepCase> {};

// 20 steps in onyx, parameters and state carried by Session::bind, against torch.optim.
TEST_P(TrainingSteps, FollowPyTorch) {
  const StepCase& c = GetParam();
  TrainingRefs refs(c.model);
  autodiff::TrainingStep step =
      autodiff::build_training_step(refs.model(), options_for(c.optimizer));
  runtime::Session session(step.model);
  session.bind(autodiff::binding_pairs(step));
  Tensor xs = refs.get("x"), labels = refs.get("labels");
  Tensor expected = refs.get("losses:" + c.optimizer);
  for (int64_t s = 0; s < xs.dim(0); ++s) {
    std::vector<Value> out =
        session.run({{"x", TrainingRefs::row(xs, s)}, {"labels", TrainingRefs::row(labels, s)}});
    double ours = out[0].tensor().element_as_double(0), theirs = expected.element_as_double(s);
    EXPECT_NEAR(ours, theirs, 1e-3 * std::abs(theirs)) << "step " << s;
  }
  for (const std::string& p : refs.params()) {
    expect_close(session.bound_value(refs.initializer_of(p)).tensor(),
                 refs.get("final:" + c.optimizer + ":" + p), 1e-3, p);
  }
  EXPECT_EQ(session.bound_value("step").tensor().element_as_double(0), 20);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, TrainingSteps,
                         ::testing::Values(StepCase{"mlp", "sgd"}, StepCase{"mlp", "momentum"},
                                           StepCase{"mlp", "nesterov"}, StepCase{"mlp", "adagrad"},
                                           StepCase{"mlp", "adam"}, StepCase{"mlp", "adamw"},
                                           StepCase{"cnn_bn", "sgd"}, StepCase{"resblock", "sgd"},
                                           StepCase{"resblock", "adam"}, StepCase{"lstm", "adam"},
                                           StepCase{"loop", "sgd"}, StepCase{"list", "adam"},
                                           StepCase{"while", "sgd"}),
                         [](const auto& info) {
                           return info.param.model + "_" + info.param.optimizer;
                         });

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

using testing::TrainingRefs;

// The losses onyx appends, against their definitions computed here from the prediction.
TEST(TrainingLoss, MseL1AndNllFollowTheirDefinitions) {
  TrainingRefs refs("mlp");
  Tensor x = TrainingRefs::row(refs.get("x"), 0),
         classes = TrainingRefs::row(refs.get("labels"), 0);
  Tensor pred = runtime::Session(refs.model()).run({{"x", x}})[0].tensor();
  Tensor target = testing::random_tensor(pred.shape(), -1, 1, 3);
  Tensor target32 = Tensor::empty(DType::Float32, pred.shape());
  for (int64_t i = 0; i < pred.numel(); ++i) target32.data<float>()[i] = target.data<double>()[i];
  double mse = 0, l1 = 0, nll = 0;
  for (int64_t i = 0; i < pred.numel(); ++i) {
    double d = pred.data<float>()[i] - target32.data<float>()[i];
    mse += d * d / static_cast<double>(pred.numel());
    l1 += std::abs(d) / static_cast<double>(pred.numel());
  }
  for (int64_t n = 0; n < pred.dim(0); ++n) {
    nll -= pred.data<float>()[n * pred.dim(1) + classes.data<int64_t>()[n]] /
           static_cast<double>(pred.dim(0));
  }
  auto loss = [&](const std::string& kind, const Tensor& labels) {
    autodiff::TrainingOptions o;
    o.loss = kind;
    runtime::Session s(autodiff::build_loss_gradient(refs.model(), o));
    return s.run({{"x", x}, {"labels", labels}})[0].tensor().element_as_double(0);
  };
  EXPECT_NEAR(loss("mse", target32), mse, 1e-6 * mse);
  EXPECT_NEAR(loss("l1", target32), l1, 1e-6 * l1);
  EXPECT_NEAR(loss("nll", classes), nll, 1e-6 * std::abs(nll));
}

// A model whose op runs by its function body (MeanVarianceNormalization: no kernel, no
// rule) gets a new graph when the body is expanded; the loss must be built on that graph.
// (It was appended to the graph the expansion replaced, read after it was freed.)
TEST(TrainingLoss, BuiltOnTheGraphFunctionExpansionMakes) {
  ir::Model m;
  m.set_opset("", 13);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input("x", ir::TypeInfo::tensor(DType::Float32, {2, 3, 2, 2}));
  Tensor w = Tensor::empty(DType::Float32, {1, 3, 1, 1});
  for (int i = 0; i < 3; ++i) w.data<float>()[i] = 0.5f + static_cast<float>(i);
  m.graph->initializers.push_back({"w", w, ""});
  std::string y = b.op("MeanVarianceNormalization", {b.op("Mul", {x, "w"})});
  b.write("Identity", {y}, "y");
  b.output("y", ir::TypeInfo::tensor(DType::Float32, {2, 3, 2, 2}));
  auto floats = [](uint32_t seed) {
    Tensor d = testing::random_tensor({2, 3, 2, 2}, -1, 1, seed);
    Tensor f = Tensor::empty(DType::Float32, d.shape());
    for (int64_t i = 0; i < d.numel(); ++i) f.data<float>()[i] = d.data<double>()[i];
    return f;
  };
  Tensor xs = floats(1), target = floats(2);
  Tensor pred = runtime::Session(m).run({{"x", xs}})[0].tensor();
  double mse = 0;
  for (int64_t i = 0; i < pred.numel(); ++i) {
    double d = pred.data<float>()[i] - target.data<float>()[i];
    mse += d * d / static_cast<double>(pred.numel());
  }
  autodiff::TrainingOptions o;
  o.loss = "mse";
  ir::Model grad = autodiff::build_loss_gradient(m, o);
  std::vector<Value> out = runtime::Session(grad).run({{"x", xs}, {"labels", target}});
  EXPECT_NEAR(out[0].tensor().element_as_double(0), mse, 1e-6 * mse);
  ASSERT_EQ(grad.graph->outputs.size(), 2u);
  EXPECT_EQ(grad.graph->outputs[1].name, "w_grad");
}

TEST(TrainingStep, EvalModeKeepsRunningStatistics) {
  TrainingRefs refs("cnn_bn");
  autodiff::TrainingOptions o;
  o.train_mode = false;
  autodiff::TrainingStep step = autodiff::build_training_step(refs.model(), o);
  size_t bn = 0;
  for (const auto& n : step.model.graph->nodes) {
    if (n.op_type != "BatchNormalization") continue;
    ++bn;
    EXPECT_EQ(n.attr_int("training_mode", -1), 0);
    EXPECT_EQ(n.outputs.size(), 1u);
  }
  EXPECT_EQ(bn, 2u);
  // Parameters and the step count only: SGD keeps no state.
  EXPECT_EQ(step.bindings.size(), step.params.size() + 1);
  autodiff::TrainingStep train = autodiff::build_training_step(refs.model(), {});
  EXPECT_EQ(train.bindings.size(), train.params.size() + 2 * bn + 1);
  EXPECT_EQ(train.bindings[train.params.size()].output,
            train.bindings[train.params.size()].input + "_new");
}

TEST(TrainingStep, InterfaceFollowsTheConventions) {
  TrainingRefs refs("mlp");
  autodiff::TrainingOptions o;
  o.optimizer = "adam";
  autodiff::TrainingStep step = autodiff::build_training_step(refs.model(), o);
  const ir::Graph& g = *step.model.graph;
  ASSERT_GE(g.inputs.size(), 4u);
  EXPECT_EQ(g.inputs[0].name, "x");
  EXPECT_EQ(g.inputs[1].name, "labels");
  EXPECT_EQ(g.inputs[1].type.elem, DType::Int64);
  EXPECT_EQ(g.inputs.back().name, "step");
  EXPECT_EQ(g.inputs[g.inputs.size() - 2].name, "lr");
  EXPECT_EQ(g.outputs[0].name, "loss");
  EXPECT_EQ(step.params.size(), 6u);
  // Each parameter, its two Adam moments, the step count; each an input with its value.
  EXPECT_EQ(step.bindings.size(), 6u * 3 + 1);
  for (size_t i = 0; i < step.bindings.size(); ++i) {
    EXPECT_EQ(step.bindings[i].output, step.bindings[i].input + "_new");
    EXPECT_EQ(g.outputs[i + 1].name, step.bindings[i].output);
    EXPECT_TRUE(g.find_initializer(step.bindings[i].input)) << step.bindings[i].input;
    EXPECT_TRUE(g.find_input(step.bindings[i].input)) << step.bindings[i].input;
  }
}

TEST(TrainingStep, ClearErrors) {
  TrainingRefs refs("mlp");
  auto message = [&](autodiff::TrainingOptions o) {
    try {
      autodiff::build_training_step(refs.model(), o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  autodiff::TrainingOptions o;
  o.label = "x";
  EXPECT_NE(message(o).find("already has a value named 'x'"), std::string::npos) << message(o);
  o = {};
  o.loss = "hinge";
  EXPECT_NE(message(o).find("unknown loss 'hinge'"), std::string::npos) << message(o);
  o = {};
  o.optimizer = "lbfgs";
  EXPECT_NE(message(o).find("unknown optimizer 'lbfgs'"), std::string::npos) << message(o);
  o = {};
  o.params = {"nope"};
  EXPECT_NE(message(o).find("parameter 'nope' is not an initializer"), std::string::npos)
      << message(o);
  o = {};
  o.output = "nope";
  EXPECT_NE(message(o).find("'nope' is not an output"), std::string::npos) << message(o);
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

using testing::TrainingRefs;

// Runs `steps` steps of `step` on the reference batches from `first`; returns the losses
// and leaves the session's state in `state`.
std::vector<double> run_steps(const autodiff::TrainingStep& step, const TrainingRefs& refs,
                              int64_t first, int64_t steps,
                              std::vector<std::pair<std::string, Tensor>>* state = nullptr) {
  runtime::Session session(step.model);
  session.bind(autodiff::binding_pairs(step));
  Tensor xs = refs.get("x"), labels = refs.get("labels");
  std::vector<double> losses;
  for (int64_t s = first; s < first + steps; ++s) {
    std::vector<Value> out =
        session.run({{"x", TrainingRefs::row(xs, s)}, {"labels", TrainingRefs::row(labels, s)}});
    losses.push_back(out[0].tensor().element_as_double(0));
  }
  if (state) {
    for (const auto& b : step.bindings) {
      state->emplace_back(b.input, session.bound_value(b.input).tensor());
    }
  }
  return losses;
}

TEST(EmbeddedTraining, RunsLikeTheStepFileAndResumesFromTheSavedFile) {
  TrainingRefs refs("cnn_bn");
  autodiff::TrainingOptions o;
  o.optimizer = "adam";
  std::vector<double> direct =
      run_steps(autodiff::build_training_step(refs.model(), o), refs, 0, 3);

  ir::Model embedded = autodiff::embed_training_step(refs.model(), o);
  // The inference graph is the model's own; the step lives in training_info.
  EXPECT_EQ(embedded.graph->nodes.size(), refs.model().graph->nodes.size());
  ASSERT_EQ(embedded.training_info.size(), 1u);
  // Saved and loaded: the TrainingInfoProto survives the file.
  std::string path = ::testing::TempDir() + "/embedded_training.onnx";
  onnx_io::save_model(embedded, path);
  ir::Model loaded = onnx_io::load_model(path);
  std::vector<std::pair<std::string, Tensor>> state;
  std::vector<double> first = run_steps(autodiff::training_step_of(loaded), refs, 0, 2, &state);
  autodiff::store_state(loaded, state);
  onnx_io::save_model(loaded, path);
  std::vector<double> rest =
      run_steps(autodiff::training_step_of(onnx_io::load_model(path)), refs, 2, 1);
  ASSERT_EQ(first.size() + rest.size(), direct.size());
  first.insert(first.end(), rest.begin(), rest.end());
  for (size_t s = 0; s < direct.size(); ++s) {
    EXPECT_NEAR(first[s], direct[s], 1e-6 * direct[s]) << "step " << s;
  }
  EXPECT_GT(direct[0], direct[2]) << "the loss falls";

  // The initialization graph resets the optimizer state and the step count to zeros.
  std::vector<std::pair<std::string, Tensor>> init = autodiff::initial_state(loaded);
  EXPECT_EQ(init.size(), 2 * 10 + 1u);  // two Adam moments per parameter, the step count
  for (const auto& [name, value] : init) {
    for (int64_t i = 0; i < value.numel(); ++i) ASSERT_EQ(value.element_as_double(i), 0) << name;
  }
}

TEST(EmbeddedTraining, AModelWithoutAStepSaysSo) {
  TrainingRefs refs("mlp");
  try {
    autodiff::training_step_of(refs.model());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a training step"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// x -> Dropout(ratio 0.5, an initializer) -> MatMul(w) -> logits.
ir::Model dropout_model() {
  ir::Model m;
  m.set_opset("", 17);
  ir::GraphBuilder b(*m.graph);
  std::string x = b.input(
      "x", ir::TypeInfo::tensor(DType::Float32, std::vector<ir::Dim>{{4, "", ""}, {8, "", ""}}));
  std::string ratio = b.constant("ratio", Tensor::scalar<float>(0.5f));
  Tensor w64 = testing::random_tensor({8, 3}, -1, 1, 2),
         w32 = Tensor::empty(DType::Float32, {8, 3});
  for (int64_t i = 0; i < w32.numel(); ++i)
    w32.data<float>()[i] = static_cast<float>(w64.data<double>()[i]);
  std::string w = b.constant("w", w32);
  b.output(b.op("MatMul", {b.op("Dropout", {x, ratio}), w}));
  return m;
}

TEST(TrainingStep, DropoutDropsInTrainModeOnly) {
  Tensor x = Tensor::empty(DType::Float32, {4, 8});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  Tensor labels = Tensor::from_vector<int64_t>({4}, {0, 1, 2, 1});
  for (bool train : {true, false}) {
    autodiff::TrainingOptions o;
    o.train_mode = train;
    o.lr = 0;  // parameters stay: only Dropout can change the loss
    autodiff::TrainingStep step = autodiff::build_training_step(dropout_model(), o);
    EXPECT_EQ(step.params, std::vector<std::string>{"w"}) << "the ratio is not a parameter";
    runtime::Session session(step.model);
    std::set<double> losses;
    for (int i = 0; i < 6; ++i) {
      losses.insert(session.run({{"x", x}, {"labels", labels}})[0].tensor().element_as_double(0));
    }
    if (train) {
      EXPECT_GT(losses.size(), 1u) << "random masks give different losses";
    } else {
      EXPECT_EQ(losses.size(), 1u) << "inference mode is deterministic";
    }
  }
}

}  // namespace
}  // namespace onyx

namespace onyx {
namespace {

// With state bound, steps reuse the buffers of the values they replace: after warm-up a
// step allocates nothing new. (Warm-up takes about a dozen steps here: which free buffer
// serves which request, kernels' scratch included, settles over the first runs.)
TEST(TrainingStep, BoundStepsReuseTheirBuffers) {
  testing::TrainingRefs refs("resblock");
  autodiff::TrainingOptions o;
  o.optimizer = "adam";
  autodiff::TrainingStep step = autodiff::build_training_step(refs.model(), o);
  runtime::Session session(step.model);
  session.bind(autodiff::binding_pairs(step));
  Tensor xs = refs.get("x"), labels = refs.get("labels");
  size_t warm = 0;
  for (int64_t s = 0; s < 28; ++s) {
    session.run({{"x", testing::TrainingRefs::row(xs, s % 14)},
                 {"labels", testing::TrainingRefs::row(labels, s % 14)}});
    if (s == 14) warm = session.pool_allocations();
  }
  EXPECT_EQ(session.pool_allocations(), warm);
}

}  // namespace
}  // namespace onyx
