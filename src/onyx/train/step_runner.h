// The one place training steps run: a model that carries its step (TrainingInfoProto or a
// make-training graph) planned once, its state carried from run to run. Trainer, the CLI's
// train-step and the Python package all step through it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/runtime/session.h"

namespace onyx::train {

class StepRunner {
 public:
  // `reset`: start from the model's initialization graph (zeroed optimizer state).
  explicit StepRunner(const ir::Model& model, int threads = 0, bool reset = false);
  ~StepRunner();
  StepRunner(StepRunner&&) noexcept;

  // The inputs each step is fed (the batch and its labels; the rest is carried state).
  const std::vector<ir::ValueInfo>& feeds() const { return feeds_; }
  // One step; its outputs, the loss first.
  std::vector<Value> run(const runtime::NamedValues& feeds);
  // The carried values now (parameters, running statistics, optimizer state, step count).
  std::vector<std::pair<std::string, Tensor>> state() const;
  // `model` (the one given, or its checkpoint) with the current state in its initializers.
  void store(ir::Model& model) const;
  const std::vector<ir::ValueInfo>& outputs() const { return session_->outputs(); }

 private:
  autodiff::TrainingStep step_;
  std::unique_ptr<runtime::Session> session_;
  std::vector<ir::ValueInfo> feeds_;
};

}  // namespace onyx::train
