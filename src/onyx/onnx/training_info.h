// ONNX's TrainingInfoProto: a training algorithm stored in the model file next to the
// inference graph. ir::Model keeps it in `extra`; these read and replace it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "onyx/ir/graph.h"

namespace onyx::onnx_io {

struct TrainingInfo {
  // Computes initial values; no inputs. Empty graph: nothing is initialised.
  std::shared_ptr<ir::Graph> initialization = std::make_shared<ir::Graph>();
  // One training step, run as the inference graph followed by these nodes.
  std::shared_ptr<ir::Graph> algorithm = std::make_shared<ir::Graph>();
  // (initializer, output): the output becomes the initializer's value.
  std::vector<std::pair<std::string, std::string>> initialization_binding;
  std::vector<std::pair<std::string, std::string>> update_binding;
};

std::vector<TrainingInfo> training_infos(const ir::Model& model);
void set_training_infos(ir::Model& model, const std::vector<TrainingInfo>& infos);

}  // namespace onyx::onnx_io
