// A training step stored in the model file itself, as ONNX's TrainingInfoProto: the
// algorithm graph (the step's nodes, run after the inference graph), update_binding (what
// each step writes back), and an initialization graph that resets the optimizer state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "onyx/autodiff/training.h"

namespace onyx::autodiff {

// The model (at the step's opset) with `options`' training step as its TrainingInfoProto.
// Parameters and running statistics stay the inference graph's initializers; optimizer
// state, the step count and `lr` are the algorithm's.
ir::Model embed_training_step(const ir::Model& model, const TrainingOptions& options);

// One executable graph for a model's training: the inference graph followed by its
// TrainingInfoProto's algorithm, every updated initializer an input (holding its current
// value), bindings from update_binding. For a model without TrainingInfoProto (such as a
// make-training output), each output "<X>_new" whose X is an input is bound to X.
TrainingStep training_step_of(const ir::Model& model);

// The model's initialization graph run once: the values it assigns (optimizer state,
// step count), or none when the model has no initialization.
std::vector<std::pair<std::string, Tensor>> initial_state(const ir::Model& model);

// Writes new values into the initializers they belong to (inference graph or algorithm),
// so that the saved model carries them.
void store_state(ir::Model& model, const std::vector<std::pair<std::string, Tensor>>& values);

}  // namespace onyx::autodiff
