// onyx grad MODEL -o OUT [--wrt NAME,...] [--opset N]: writes the vector-Jacobian-product
// graph of a model as a standard ONNX model.
#include <iostream>

#include "commands.h"
#include "onyx/autodiff/vjp.h"
#include "onyx/onnx/model_io.h"

namespace onyx::cli {

Command add_grad(CLI::App& app) {
  struct Opts {
    std::string model, out;
    std::vector<std::string> wrt;
    int64_t opset = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("grad", "Write the gradient (VJP) graph of a model");
  cmd->add_option("model", o->model, "ONNX model")->required();
  cmd->add_option("-o,--output", o->out, "gradient model to write")->required();
  cmd->add_option("--wrt", o->wrt,
                  "values to differentiate with respect to (default: every "
                  "floating-point initializer)")
      ->delimiter(',');
  cmd->add_option("--opset", o->opset,
                  "convert the model to this opset first, 1 to 23 (default: keep the model's, "
                  "raised to 17 when a gradient needs a newer op)")
      ->check(CLI::Range(1, 23));
  return [o]() {
    ir::Model model = onnx_io::load_model(o->model);
    autodiff::GradOptions options;
    options.wrt = o->wrt;
    options.opset = o->opset;
    options.note = [](const std::string& what) { std::cout << what << "\n"; };
    ir::Model grad = autodiff::build_gradient_model(model, options);
    onnx_io::save_model(grad, o->out);
    const ir::Graph& g = *grad.graph;
    std::cout << "wrote " << o->out << ": " << g.nodes.size() << " nodes ("
              << model.graph->nodes.size() << " forward)\n";
    std::cout << "inputs:";
    for (const auto& in : g.fed_inputs()) std::cout << " " << in.name;
    std::cout << "\noutputs:";
    for (const auto& out : g.outputs) std::cout << " " << out.name;
    std::cout << "\n";
    return 0;
  };
}

}  // namespace onyx::cli
