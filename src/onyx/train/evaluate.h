// A model's metrics on a dataset: batches through an inference session (with the loss
// appended, in eval mode, when "loss" is among the metrics).
#pragma once

#include <string>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/data/dataset.h"
#include "onyx/ir/graph.h"
#include "onyx/train/metrics.h"

namespace onyx::train {

struct EvalOptions {
  autodiff::TrainingOptions step;  // the loss, label, prediction and class axis
  std::vector<std::string> metrics = {"accuracy"};
  int threads = 0;
  int64_t batch_size = 256;
};

// One value per metric, in the order asked (training_info in `model` is ignored).
std::vector<MetricValue> evaluate(const ir::Model& model, const data::Dataset& data,
                                  const EvalOptions& options);

// Runs `model` over `data` in order and returns the prediction output for every sample
// (the batches concatenated on axis 0).
Tensor predict(const ir::Model& model, const data::Dataset& data, const std::string& output,
               int threads = 0, int64_t batch_size = 256);

// Writes predictions [N, ...] to an .npy file, or to a CSV file (by extension): a row per
// sample, `index`, then (for class scores [N, C]) the top class, then every value.
// Written atomically.
void save_predictions(const Tensor& predictions, const std::string& output_name,
                      const std::string& path);

// A checkpoint's inference model: the same graph and weights, without the training step
// or onyx's training metadata.
ir::Model inference_model(const ir::Model& checkpoint);

}  // namespace onyx::train
