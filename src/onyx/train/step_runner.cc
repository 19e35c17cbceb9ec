#include "onyx/train/step_runner.h"

#include "onyx/autodiff/embedded_training.h"

namespace onyx::train {

StepRunner::StepRunner(const ir::Model& model, int threads, bool reset)
    : step_(autodiff::training_step_of(model)) {
  if (reset) autodiff::store_state(step_.model, autodiff::initial_state(model));
  runtime::SessionOptions so;
  so.threads = threads;
  session_ = std::make_unique<runtime::Session>(step_.model, so);
  session_->bind(autodiff::binding_pairs(step_));
  feeds_ = step_.model.graph->fed_inputs();
}

StepRunner::~StepRunner() = default;
StepRunner::StepRunner(StepRunner&&) noexcept = default;

std::vector<Value> StepRunner::run(const runtime::NamedValues& feeds) {
  return session_->run(feeds);
}

std::vector<std::pair<std::string, Tensor>> StepRunner::state() const {
  std::vector<std::pair<std::string, Tensor>> values;
  for (const auto& b : step_.bindings)
    values.emplace_back(b.input, session_->bound_value(b.input).tensor());
  return values;
}

void StepRunner::store(ir::Model& model) const {
  autodiff::store_state(model, state());
}

}  // namespace onyx::train
