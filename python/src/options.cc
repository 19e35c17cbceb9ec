#include "options.h"

#include <pybind11/stl.h>

#include "onyx/autodiff/schedules.h"

namespace onyx::python {

namespace {

std::vector<std::string> strings(const py::object& v) {
  if (py::isinstance<py::str>(v)) return {v.cast<std::string>()};
  return v.cast<std::vector<std::string>>();
}

}  // namespace

void take_step_options(py::dict& kw, autodiff::TrainingOptions& o) {
  take(kw, "loss", o.loss);
  take(kw, "label", o.label);
  take(kw, "prediction", o.output);
  take(kw, "label_smoothing", o.label_smoothing);
  take(kw, "delta", o.delta);
  take(kw, "class_axis", o.class_axis);
  take(kw, "optimizer", o.optimizer);
  double lr = -1, momentum = -1, epsilon = -1;
  take(kw, "lr", lr);
  take(kw, "momentum", momentum);
  take(kw, "epsilon", epsilon);
  if (lr >= 0) o.lr = lr;
  if (momentum >= 0) o.momentum = momentum;
  if (epsilon >= 0) o.epsilon = epsilon;
  take(kw, "weight_decay", o.weight_decay);
  take(kw, "beta1", o.beta1);
  take(kw, "beta2", o.beta2);
  take(kw, "clip_grad_norm", o.clip_grad_norm);
  take(kw, "clip_grad_value", o.clip_grad_value);
  take(kw, "accumulate", o.accumulate);
  take(kw, "opset", o.opset);
  bool eval_mode = !o.train_mode;
  take(kw, "eval_mode", eval_mode);
  o.train_mode = !eval_mode;
  for (const char* key : {"lr_schedule", "freeze", "train_only", "params"}) {
    if (!kw.contains(key)) continue;
    py::object v = kw[key];
    kw.attr("pop")(key);
    if (v.is_none()) continue;
    std::vector<std::string> list = strings(v);
    std::string k = key;
    if (k == "lr_schedule") {
      for (const auto& s : list) o.schedules.push_back(autodiff::parse_schedule(s));
    } else {
      (k == "freeze" ? o.freeze : k == "train_only" ? o.train_only : o.params) = list;
    }
  }
}

void reject_unknown(const py::dict& kw, const char* function) {
  if (kw.empty()) return;
  std::string keys;
  for (const auto& [k, v] : kw) keys += (keys.empty() ? "" : ", ") + std::string(py::str(k));
  fail(
      ErrorKind::InvalidArgument, function, "() got unknown keyword argument(s): ", keys,
      " (training options: loss, label, prediction, label_smoothing, delta, class_axis, "
      "optimizer, lr, momentum, weight_decay, beta1, beta2, epsilon, lr_schedule, "
      "clip_grad_norm, clip_grad_value, accumulate, freeze, train_only, params, eval_mode, opset)");
}

}  // namespace onyx::python
