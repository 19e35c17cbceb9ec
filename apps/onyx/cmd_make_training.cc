// onyx make-training MODEL -o STEP [--loss ...] [--optimizer ...]: writes one ONNX graph
// that performs a whole training step (forward, loss, backward, optimizer update).
#include <iostream>

#include "commands.h"
#include "onyx/autodiff/embedded_training.h"
#include "onyx/onnx/model_io.h"
#include "training_flags.h"

namespace onyx::cli {

Command add_make_training(CLI::App& app) {
  struct Opts {
    std::string model, out;
    bool embed = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd =
      app.add_subcommand("make-training", "Write a training step (loss, backward, update) as ONNX");
  cmd->add_option("model", o->model, "ONNX model")->required();
  cmd->add_option("-o,--output", o->out, "training-step model to write")->required();
  std::shared_ptr<TrainingFlags> flags = add_training_flags(cmd);
  cmd->add_flag("--training-info", o->embed,
                "write the model itself with the step as its TrainingInfoProto (run it with "
                "onyx train-step)");
  return [o, flags]() {
    autodiff::TrainingOptions options = flags->resolve();
    ir::Model model = onnx_io::load_model(o->model);
    if (o->embed) {
      ir::Model embedded = autodiff::embed_training_step(model, options);
      onnx_io::save_model(embedded, o->out);
      std::cout << "wrote " << o->out
                << ": the model with its training step as TrainingInfoProto\n";
      return 0;
    }
    autodiff::TrainingStep step = autodiff::build_training_step(model, options);
    onnx_io::save_model(step.model, o->out);
    const ir::Graph& g = *step.model.graph;
    std::cout << "wrote " << o->out << ": " << g.nodes.size() << " nodes, " << step.params.size()
              << " parameters, " << step.bindings.size() << " values carried from step to step\n";
    std::cout << "feed:";
    for (const auto& in : g.fed_inputs()) std::cout << " " << in.name;
    std::cout << "\nafter a step, output <name>_new is the next value of input <name>\n";
    return 0;
  };
}

}  // namespace onyx::cli
