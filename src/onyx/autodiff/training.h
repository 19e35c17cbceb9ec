// Training steps as plain ONNX: one graph holding the forward pass, the loss, the backward
// pass and the optimizer update, so that any ONNX runtime can train with it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::autodiff {

struct TrainingOptions {
  std::string loss = "cross-entropy";  // cross-entropy | mse | l1 | nll
  std::string output;                  // the prediction: default the first float output
  std::string label = "labels";        // name of the labels input
  std::string optimizer = "sgd";       // sgd | momentum | nesterov | adagrad | adam | adamw
  double lr = 0.01;
  std::optional<double> momentum;  // sgd: 0; momentum and nesterov: 0.9
  double weight_decay = 0;         // added to the gradient as L2; adamw: decoupled
  double beta1 = 0.9, beta2 = 0.999;
  std::optional<double> epsilon;  // adam and adamw: 1e-8; adagrad: 1e-10
  // As PyTorch's model.train(): BatchNormalization uses batch statistics and updates its
  // running ones, Dropout drops. false is model.eval().
  bool train_mode = true;
  int64_t opset = 17;               // models of a lower opset are converted up to it
  std::vector<std::string> params;  // default: every float initializer the loss depends on
};

// After a step, output `output` holds the next value of input `input`.
struct Binding {
  std::string input, output;
};

struct TrainingStep {
  ir::Model model;
  std::vector<std::string> params;  // the trained parameters
  // Parameters, running statistics, optimizer state and the step count, in output order.
  std::vector<Binding> bindings;
};

// The bindings as runtime::Session::bind takes them: a session bound so runs one step per
// run, carrying the state.
std::vector<std::pair<std::string, std::string>> binding_pairs(const TrainingStep& step);

// Inputs: the model's inputs, the labels, then the parameters, running statistics,
// optimizer state, the learning rate `lr` and the step count `step`, each with its current
// value as initializer. Outputs: `loss`, then `<input>_new` for each binding.
TrainingStep build_training_step(const ir::Model& model, const TrainingOptions& options);

// The loss and its gradients alone: inputs are the model's and the labels; outputs `loss`
// then `<param>_grad` for each parameter (in the mode and with the loss the options say).
ir::Model build_loss_gradient(const ir::Model& model, const TrainingOptions& options);

}  // namespace onyx::autodiff
