// The model with its loss appended (loss_graph.cc), shared by the training-step builders in
// training.cc. Internal to autodiff.
#pragma once

#include <string>
#include <vector>

#include "onyx/autodiff/grad_context.h"
#include "onyx/autodiff/training.h"

namespace onyx::autodiff {

// The model in the chosen mode with its loss appended.
struct WithLoss {
  ir::Model model;
  std::vector<Binding> running;  // BatchNormalization's running statistics
  std::string pred;
  ir::TypeInfo pred_type;
  std::vector<std::string> float_initializers;  // the model's own, before the loss's constants
  Types types;                                  // of every value, the loss's included
};

// `source` converted to the options' opset, set to their mode, rewritten for gradients,
// its outputs replaced by the scalar "loss" of the prediction against the labels input.
WithLoss with_loss(const ir::Model& source, const TrainingOptions& options);

}  // namespace onyx::autodiff
