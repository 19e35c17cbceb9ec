// onyx make-training MODEL -o STEP [--loss ...] [--optimizer ...]: writes one ONNX graph
// that performs a whole training step (forward, loss, backward, optimizer update).
#include <iostream>

#include "commands.h"
#include "onyx/autodiff/embedded_training.h"
#include "onyx/onnx/model_io.h"

namespace onyx::cli {

Command add_make_training(CLI::App& app) {
  struct Opts {
    std::string model, out;
    autodiff::TrainingOptions training;
    double momentum = -1, epsilon = -1;
    bool eval = false, embed = false;
  };
  auto o = std::make_shared<Opts>();
  autodiff::TrainingOptions& t = o->training;
  CLI::App* cmd =
      app.add_subcommand("make-training", "Write a training step (loss, backward, update) as ONNX");
  cmd->add_option("model", o->model, "ONNX model")->required();
  cmd->add_option("-o,--output", o->out, "training-step model to write")->required();
  cmd->add_option("--loss", t.loss, "loss on the prediction")
      ->check(CLI::IsMember({"cross-entropy", "mse", "l1", "nll"}))
      ->capture_default_str();
  cmd->add_option("--label", t.label, "name of the labels input")->capture_default_str();
  cmd->add_option("--prediction", t.output,
                  "the output the loss is on (default: the first floating-point output)");
  cmd->add_option("--optimizer", t.optimizer)
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adagrad", "adam", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--lr", t.lr, "learning rate (an input: feed `lr` to change it)")
      ->capture_default_str();
  cmd->add_option("--momentum", o->momentum, "momentum (sgd: 0; momentum, nesterov: 0.9)");
  cmd->add_option("--weight-decay", t.weight_decay, "L2 penalty (adamw: decoupled)")
      ->capture_default_str();
  cmd->add_option("--beta1", t.beta1, "Adam's first-moment decay")->capture_default_str();
  cmd->add_option("--beta2", t.beta2, "Adam's second-moment decay")->capture_default_str();
  cmd->add_option("--epsilon", o->epsilon, "adam/adamw: 1e-8; adagrad: 1e-10");
  cmd->add_flag("--eval-mode", o->eval,
                "keep BatchNormalization on running statistics and Dropout off (model.eval())");
  cmd->add_option("--params", t.params,
                  "parameters to train (default: every float initializer the loss depends on)")
      ->delimiter(',');
  cmd->add_flag("--training-info", o->embed,
                "write the model itself with the step as its TrainingInfoProto (run it with "
                "onyx train-step)");
  cmd->add_option("--opset", t.opset, "convert models of lower opsets up to this one")
      ->capture_default_str();
  return [o]() {
    autodiff::TrainingOptions options = o->training;
    if (o->momentum >= 0) options.momentum = o->momentum;
    if (o->epsilon >= 0) options.epsilon = o->epsilon;
    options.train_mode = !o->eval;
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
    for (const auto& in : g.inputs) {
      if (!g.find_initializer(in.name)) std::cout << " " << in.name;
    }
    std::cout << "\nafter a step, output <name>_new is the next value of input <name>\n";
    return 0;
  };
}

}  // namespace onyx::cli
