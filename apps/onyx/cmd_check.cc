// onyx check MODEL [--training]: ONNX checker, shape inference, and the nodes onyx cannot
// run; with --training, also everything that stops the model from training, all at once.
#include <iostream>
#include <set>

#include "commands.h"
#include "onyx/autodiff/training.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/version_convert.h"
#include "onyx/runtime/plan.h"

namespace onyx::cli {

namespace {

// The trainability report: the opset conversion make-training does, every node on a path
// from a parameter to the prediction without a gradient rule, then a trial build.
bool training_report(const ir::Model& source) {
  autodiff::TrainingOptions defaults;
  ir::Model m = source;
  bool ok = true;
  if (m.opset("") < defaults.opset) {
    try {
      m = onnx_io::convert_opset(source, defaults.opset);
      std::cout << "opset: " << source.opset("") << ", converts to " << defaults.opset << "\n";
    } catch (const Error& e) {
      std::cout << "opset: FAILED: " << source.opset("") << " does not convert to "
                << defaults.opset << ": " << e.what() << "\n";
      ok = false;
    }
  } else {
    std::cout << "opset: " << m.opset("") << "\n";
  }
  std::vector<std::string> ys, wrt;
  for (const auto& out : m.graph->outputs) ys.push_back(out.name);
  for (const auto& init : m.graph->initializers) {
    if (is_floating(init.value.dtype())) wrt.push_back(init.name);
  }
  std::vector<autodiff::MissingRule> missing = autodiff::missing_rules(m, ys, wrt);
  if (missing.empty()) {
    std::cout << "gradients: every node between the parameters and the outputs has a rule\n";
  } else {
    std::cout << "gradients: " << missing.size() << " node(s) have no gradient rule:\n";
    for (const auto& r : missing) std::cout << "  " << r.node << ": " << r.reason << "\n";
    return false;
  }
  if (!ok) return false;
  try {
    autodiff::TrainingStep step = autodiff::build_training_step(source, defaults);
    std::cout << "training step: ok (" << step.params.size() << " parameters, "
              << step.model.graph->nodes.size() << " nodes with " << defaults.loss << " loss and "
              << defaults.optimizer << ")\n";
  } catch (const Error& e) {
    std::cout << "training step: FAILED: " << e.what() << "\n";
    return false;
  }
  return true;
}

}  // namespace

Command add_check(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto training = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("check", "Validate a model and list nodes onyx cannot run");
  cmd->add_option("model", *model, "ONNX model file")->required();
  cmd->add_flag("--training", *training,
                "also report, all at once, what stops the model from training (gradient "
                "rules, opset)");
  return [model, training]() {
    ir::Model m = onnx_io::load_model(*model);
    onnx_io::CheckerResult r = onnx_io::run_onnx_checker(*model);
    bool ok = true;
    if (!r.not_checked.empty()) {
      std::cout << "checker: not run: " << r.not_checked << "\n";
    } else if (r.checker_error.empty()) {
      std::cout << "checker: ok" << (r.checked_as.empty() ? "" : " (" + r.checked_as + ")") << "\n";
    } else {
      std::cout << "checker: FAILED: " << r.checker_error << "\n";
      ok = false;
    }
    if (r.shape_inference_error.empty()) {
      std::cout << "shape inference: ok (" << r.inferred_values << " intermediate values typed)\n";
    } else {
      std::cout << "shape inference: FAILED: " << r.shape_inference_error << "\n";
      ok = false;
    }
    std::vector<std::string> missing = runtime::missing_kernels(m);
    if (missing.empty()) {
      std::cout << "kernels: every node has a kernel\n";
    } else {
      std::cout << "kernels: " << missing.size() << " node(s) cannot run:\n";
      for (const auto& s : missing) std::cout << "  " << s << "\n";
      ok = false;
    }
    if (!*training) {
      std::cout << (ok ? "valid and runnable\n" : "not runnable\n");
      return ok ? 0 : 1;
    }
    ok = training_report(m) && ok;
    std::cout << (ok ? "valid, runnable and trainable\n" : "not trainable\n");
    return ok ? 0 : 1;
  };
}

}  // namespace onyx::cli
