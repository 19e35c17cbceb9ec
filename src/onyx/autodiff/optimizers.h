// Optimizer updates as ONNX nodes, following PyTorch's definitions of SGD (with momentum,
// Nesterov), Adagrad, Adam and AdamW, so that a step matches torch.optim's. One table
// entry per optimizer (name, default lr, its update) that the CLI and docs read too.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/ir/builder.h"

namespace onyx::autodiff {

// Adds state inputs (with zero initializers) to the graph as updates need them and
// records how each is carried to the next step.
class UpdateBuilder {
 public:
  // `lr` is a float scalar value of the graph, `step` the int64 step count after this step.
  // `apply`, when not empty, is a bool scalar: carried state changes only where it holds
  // (gradient accumulation steps the optimizer on every N-th micro-batch).
  UpdateBuilder(ir::Graph& graph, ir::GraphBuilder& builder, const TrainingOptions& options,
                std::string lr, std::string step, std::string apply = "");

  // Emits the update of `param` (current value `value`) by gradient `grad`; returns the
  // parameter's new value.
  std::string update(const std::string& param, const Tensor& value, const std::string& grad);

  // The optimizer state, in the order it was created.
  const std::vector<Binding>& state() const { return state_; }

  // Names `v` (the output of the graph's last node, else through an Identity) `name`.
  static std::string rename_last(ir::Graph& g, ir::GraphBuilder& b, const std::string& v,
                                 const std::string& name);

  // For the table's update functions.
  const TrainingOptions& options() const { return o_; }
  std::string op(const std::string& op_type, const std::vector<std::string>& inputs,
                 std::vector<ir::Attribute> attrs = {}) {
    return b_.op(op_type, inputs, std::move(attrs));
  }
  std::string scalar(double v, DType t);
  std::string lr(DType t);
  // A state tensor of the parameter, zeros to start with.
  std::string state(const std::string& param, const std::string& what, const Tensor& like);
  // Carries `next` as the state's value for the next step; returns the carried value.
  std::string keep(const std::string& state, const std::string& next);
  // 1 - beta^step, per element type.
  std::string bias_correction(double beta, DType t);

 private:
  ir::Graph& g_;
  ir::GraphBuilder& b_;
  TrainingOptions o_;
  std::string lr_, step_, apply_;
  std::vector<Binding> state_;
  std::map<std::pair<double, DType>, std::string> corrections_;
};

struct OptimizerDef {
  const char* name;
  double lr;  // the default learning rate
  const char* help;
  // The parameter's next value; `grad` already carries L2 weight decay (except adamw's).
  std::string (*update)(UpdateBuilder& u, const std::string& param, const Tensor& value,
                        const std::string& grad);
};

const std::vector<OptimizerDef>& optimizers();
// The entry named `name`, or an error listing the names.
const OptimizerDef& optimizer_named(const std::string& name);
std::vector<std::string> optimizer_names();
// options.lr, or the optimizer's default.
double learning_rate(const TrainingOptions& options);

}  // namespace onyx::autodiff
