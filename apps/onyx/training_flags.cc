#include "training_flags.h"

#include "onyx/autodiff/losses.h"
#include "onyx/autodiff/optimizers.h"
#include "onyx/autodiff/schedules.h"

namespace onyx::cli {

namespace {

template <typename Def>
std::string choices(const std::vector<Def>& table) {
  std::string s;
  for (const auto& d : table) s += std::string("\n  ") + d.name + ": " + d.help;
  return s;
}

}  // namespace

autodiff::TrainingOptions TrainingFlags::resolve() const {
  autodiff::TrainingOptions o = options;
  if (lr >= 0) o.lr = lr;
  if (momentum >= 0) o.momentum = momentum;
  if (epsilon >= 0) o.epsilon = epsilon;
  o.train_mode = !eval_mode;
  for (const auto& s : schedules) o.schedules.push_back(autodiff::parse_schedule(s));
  return o;
}

std::shared_ptr<TrainingFlags> add_training_flags(CLI::App* cmd) {
  auto f = std::make_shared<TrainingFlags>();
  autodiff::TrainingOptions& t = f->options;
  t.optimizer = "adam";  // the CLI's default for both commands
  cmd->add_option("--loss", t.loss, "loss on the prediction:" + choices(autodiff::losses()))
      ->check(CLI::IsMember(autodiff::loss_names()))
      ->capture_default_str();
  cmd->add_option("--label", t.label, "name of the labels input (and of the labels array)")
      ->capture_default_str();
  cmd->add_option("--prediction", t.output,
                  "the output the loss is on (default: the first floating-point output)");
  cmd->add_option("--label-smoothing", t.label_smoothing, "cross-entropy losses")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--delta", t.delta, "huber's delta, smooth-l1's beta")->capture_default_str();
  cmd->add_option("--class-axis", t.class_axis,
                  "the prediction's class axis for class losses and metrics (-1: last, as "
                  "[N, T, C] sequence logits)")
      ->capture_default_str();
  std::string lr_help = "learning rate (a step input: feed `lr` to change it); default:";
  for (const auto& o : autodiff::optimizers())
    lr_help += std::string(" ") + o.name + " " + CLI::detail::to_string(o.lr);
  cmd->add_option("--optimizer", t.optimizer, "optimizer:" + choices(autodiff::optimizers()))
      ->check(CLI::IsMember(autodiff::optimizer_names()))
      ->capture_default_str();
  cmd->add_option("--learning-rate,--lr", f->lr, lr_help);
  cmd->add_option("--momentum", f->momentum, "momentum (sgd: 0; momentum, nesterov: 0.9)");
  cmd->add_option("--weight-decay", t.weight_decay, "L2 penalty (adamw: decoupled)")
      ->capture_default_str();
  cmd->add_option("--beta1", t.beta1, "Adam's first-moment decay")->capture_default_str();
  cmd->add_option("--beta2", t.beta2, "Adam's second-moment decay")->capture_default_str();
  cmd->add_option("--epsilon", f->epsilon, "adam/adamw: 1e-8; adagrad: 1e-10");
  std::string sched = "NAME[:key=value,...], repeatable (applied in turn):";
  for (const auto& s : autodiff::schedules()) {
    sched += std::string("\n  ") + s.name + " (";
    for (size_t i = 0; i < s.params.size(); ++i)
      sched += (i ? ", " : "") + std::string(s.params[i]);
    sched += "): " + std::string(s.help);
  }
  cmd->add_option("--lr-schedule", f->schedules, sched);
  cmd->add_option("--clip-grad-norm", t.clip_grad_norm,
                  "scale gradients so their joint L2 norm is at most this (0: off)")
      ->capture_default_str();
  cmd->add_option("--clip-grad-value", t.clip_grad_value,
                  "clamp every gradient element to [-v, v] (0: off)")
      ->capture_default_str();
  cmd->add_option("--accumulate", t.accumulate,
                  "micro-batches whose gradients are averaged into one optimizer step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--freeze", t.freeze, "parameters not to train: glob patterns (layer1.*,fc.bias)")
      ->delimiter(',');
  cmd->add_option("--train-only", t.train_only, "train only the parameters matching these globs")
      ->delimiter(',');
  cmd->add_option("--params", t.params,
                  "parameters to train (default: every float initializer the loss depends on)")
      ->delimiter(',');
  cmd->add_flag("--eval-mode", f->eval_mode,
                "keep BatchNormalization on running statistics and Dropout off (model.eval())");
  cmd->add_option("--opset", t.opset, "convert models of lower opsets up to this one")
      ->capture_default_str();
  return f;
}

}  // namespace onyx::cli
