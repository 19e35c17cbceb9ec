// onyx train-step MODEL --input NAME=FILE... [--steps N] [--reset] [-o OUT]: runs training
// steps of a model that carries one (its TrainingInfoProto, or a make-training output)
// and writes the model with its updated parameters and optimizer state.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "feeds.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/step_runner.h"

namespace onyx::cli {

Command add_train_step(CLI::App& app) {
  struct Opts {
    std::string model, out;
    std::vector<std::string> inputs;
    int steps = 1;
    bool reset = false;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "train-step", "Run training steps stored in a model (TrainingInfoProto or make-training)");
  cmd->add_option("model", o->model, "ONNX model with a training step")->required();
  cmd->add_option("--input,-i", o->inputs, "NAME=FILE: the batch and its labels (.pb or .npy)");
  cmd->add_option("--steps", o->steps, "steps to run on these inputs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--reset", o->reset,
                "run the model's initialization graph first (zeroes the optimizer state)");
  cmd->add_option("-o,--output", o->out, "write the model with the updated state here");
  cmd->add_option("--threads", o->threads, "intra-op threads (default: all cores)");
  return [o]() {
    ir::Model model = onnx_io::load_model(o->model);
    train::StepRunner runner(model, o->threads, o->reset);
    runtime::NamedValues feeds = load_feeds(o->inputs, runner.feeds());
    const std::string& loss_name = runner.outputs()[0].name;
    for (int s = 0; s < o->steps; ++s) {
      std::vector<Value> out = runner.run(feeds);
      const Value& loss = out[0];
      if (loss.is_tensor() && loss.tensor().numel() == 1) {
        std::printf("step %d: %s %.6g\n", s + 1, loss_name.c_str(),
                    loss.tensor().element_as_double(0));
      }
    }
    if (!o->out.empty()) {
      runner.store(model);
      onnx_io::save_model(model, o->out);
      std::cout << "wrote " << o->out << " (" << runner.state().size() << " values updated)\n";
    }
    return 0;
  };
}

}  // namespace onyx::cli
