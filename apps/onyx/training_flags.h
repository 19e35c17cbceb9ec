// The training-step flags `onyx train` and `onyx make-training` share: one declaration,
// the same names and defaults, choices and help read from the library's tables.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "onyx/autodiff/training.h"

namespace onyx::cli {

struct TrainingFlags {
  autodiff::TrainingOptions options;
  double lr = -1, momentum = -1, epsilon = -1;  // -1: the optimizer's default
  std::vector<std::string> schedules;
  bool eval_mode = false;
  // The options the flags say.
  autodiff::TrainingOptions resolve() const;
};

// Declares the flags on `cmd`; the returned flags fill in as the command line is parsed.
std::shared_ptr<TrainingFlags> add_training_flags(CLI::App* cmd);

}  // namespace onyx::cli
