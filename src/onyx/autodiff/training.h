// Training steps as plain ONNX: one graph holding the forward pass, the loss, the backward
// pass and the optimizer update, so that any ONNX runtime can train with it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onyx/autodiff/schedules.h"
#include "onyx/ir/graph.h"

namespace onyx::autodiff {

struct TrainingOptions {
  std::string loss = "cross-entropy";  // an entry of losses() (losses.h)
  std::string output;                  // the prediction: default the first float output
  std::string label = "labels";        // name of the labels input
  double label_smoothing = 0;          // cross-entropy losses
  double delta = 1;                    // huber's delta, smooth-l1's beta
  // The prediction's class axis for class losses; -1: the last ([N, T, C] sequence logits).
  int64_t class_axis = 1;
  std::string optimizer = "sgd";   // an entry of optimizers() (optimizers.h)
  std::optional<double> lr;        // default: the optimizer's
  std::optional<double> momentum;  // sgd: 0; momentum and nesterov: 0.9
  double weight_decay = 0;         // added to the gradient as L2; adamw: decoupled
  double beta1 = 0.9, beta2 = 0.999;
  std::optional<double> epsilon;    // adam and adamw: 1e-8; adagrad: 1e-10
  std::vector<Schedule> schedules;  // applied in turn to lr at each step (schedules.h)
  // torch.nn.utils' clip_grad_value_ then clip_grad_norm_ (L2 over all gradients), on the
  // (accumulated) gradient before weight decay; 0: off.
  double clip_grad_value = 0, clip_grad_norm = 0;
  // Gradients summed over this many micro-batches (steps), the optimizer stepping on each
  // N-th with their mean, as PyTorch's loss / N; backward(); step() every N.
  int64_t accumulate = 1;
  // As PyTorch's model.train(): BatchNormalization uses batch statistics and updates its
  // running ones, Dropout drops. false is model.eval().
  bool train_mode = true;
  int64_t opset = 17;               // models of a lower opset are converted up to it
  std::vector<std::string> params;  // default: every float initializer the loss depends on
  // Glob patterns ('*', '?') on parameter names: parameters matching `freeze` are not
  // trained; when `train_only` is given, only those matching it are.
  std::vector<std::string> freeze, train_only;
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

// The model (in the options' mode) with its loss: inputs the model's and the labels,
// outputs `loss` then the prediction, for evaluation on held-out data.
ir::Model build_loss_model(const ir::Model& model, const TrainingOptions& options);

// The parameters the options train among `candidates` (freeze / train_only applied);
// errors name a pattern that matches no candidate.
std::vector<std::string> select_params(const std::vector<std::string>& candidates,
                                       const TrainingOptions& options, const std::string& model);

}  // namespace onyx::autodiff
