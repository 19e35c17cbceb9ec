// Losses as ONNX nodes, one table entry each (name, the labels it takes, its builder),
// following torch.nn's definitions with reduction='mean'. The table is what the training
// step, the CLI's choices and help, and the docs read.
#pragma once

#include <string>
#include <vector>

#include "onyx/ir/builder.h"

namespace onyx::autodiff {

struct TrainingOptions;

// The labels a loss compares the prediction with.
enum class LabelKind {
  ClassIndices,    // int64, the prediction's shape without its class axis
  LikePrediction,  // the prediction's element type and shape
};

struct LossDef {
  const char* name;
  const char* help;
  LabelKind labels;
  bool class_axis;  // the prediction has one (options.class_axis says which)
  // Emits the loss (a scalar) of `pred` (class axis already at 1) against `label`.
  std::string (*build)(ir::GraphBuilder& b, const std::string& pred, const std::string& label,
                       DType type, const TrainingOptions& options);
};

const std::vector<LossDef>& losses();
// The entry named `name`, or an error listing the names.
const LossDef& loss_named(const std::string& name);
std::vector<std::string> loss_names();

}  // namespace onyx::autodiff
