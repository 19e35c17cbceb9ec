// Training steps against PyTorch: whole-model gradients of the loss and 20 optimizer steps
// from the same weights and batches (references from scripts/make_training_refs.py).
#include "onyx/autodiff/training.h"

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

INSTANTIATE_TEST_SUITE_P(Models, LossGradient, ::testing::Values("mlp", "cnn_bn", "resblock"));

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
  std::vector<std::pair<std::string, std::string>> bindings;
  for (const auto& b : step.bindings) bindings.push_back({b.input, b.output});
  session.bind(bindings);
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
                                           StepCase{"resblock", "adam"}),
                         [](const auto& info) {
                           return info.param.model + "_" + info.param.optimizer;
                         });

}  // namespace
}  // namespace onyx
