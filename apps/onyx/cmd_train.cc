// onyx train: trains a model (the default CNN, the MLP, or an ONNX file) on MNIST-layout
// data, with progress, test accuracy per epoch and checkpoints that resume exactly.
// onyx eval: the accuracy of a checkpoint or model on the test split.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "onyx/nn/models.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/training_info.h"
#include "onyx/train/trainer.h"

namespace onyx::cli {

namespace {

const char* kDefaultData = "/usr/share/datasets/fashion-mnist";

// A progress bar redrawn in place on a terminal, a line per tenth of an epoch otherwise.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(STDOUT_FILENO)) {}
  void operator()(const train::Progress& p) {
    if (quiet_) return;
    if (tty_) {
      if (p.batch != p.batches && p.batch % 10 != 0) return;
      int width = 30, filled = static_cast<int>(width * p.batch / p.batches);
      std::printf("\repoch %d/%d [%s%s] %lld/%lld loss %.4f %.0f samples/s ETA %.0fs   ", p.epoch,
                  p.epochs, std::string(static_cast<size_t>(filled), '=').c_str(),
                  std::string(static_cast<size_t>(width - filled), ' ').c_str(),
                  static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss,
                  p.samples_per_s, p.eta_s);
      std::fflush(stdout);
    } else if (p.batch % std::max<int64_t>(1, p.batches / 10) == 0) {
      std::printf("epoch %d/%d: batch %lld/%lld, loss %.4f, %.0f samples/s\n", p.epoch, p.epochs,
                  static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss,
                  p.samples_per_s);
      std::fflush(stdout);
    }
  }
  void epoch(const train::EpochResult& r, int epochs) {
    if (tty_ && !quiet_) std::printf("\n");
    std::printf("epoch %d/%d: loss %.4f, test accuracy %.4f (%lld/%lld), %.0f samples/s, %.1f s\n",
                r.epoch, epochs, r.train_loss, r.accuracy(), static_cast<long long>(r.correct),
                static_cast<long long>(r.total), r.samples_per_s, r.seconds);
    std::fflush(stdout);
  }

 private:
  bool quiet_, tty_;
};

}  // namespace

Command add_train(CLI::App& app) {
  struct Opts {
    std::string model = "cnn", data_dir = kDefaultData, resume, out;
    double lr = -1, momentum = -1;
    bool quiet = false;
    train::Options t;
  };
  auto o = std::make_shared<Opts>();
  train::Options& t = o->t;
  CLI::App* cmd = app.add_subcommand("train", "Train a model on MNIST-layout data");
  cmd->add_option("--model", o->model, "cnn, mlp, or an ONNX file")->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "IDX files: train-/t10k- images and labels")
      ->capture_default_str();
  cmd->add_option("--epochs", t.epochs)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", t.batch_size)->check(CLI::PositiveNumber)->capture_default_str();
  t.step.optimizer = "adam";  // before the option, so that --help shows it
  cmd->add_option("--optimizer", t.step.optimizer)
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adagrad", "adam", "adamw"}))
      ->capture_default_str();
  cmd->add_option("--learning-rate,--lr", o->lr, "default: 0.001 for adam/adamw, else 0.01");
  cmd->add_option("--momentum", o->momentum, "momentum, nesterov: 0.9; sgd: 0");
  cmd->add_option("--weight-decay", t.step.weight_decay)->capture_default_str();
  cmd->add_option("--seed", t.seed, "weights and batch order")->capture_default_str();
  cmd->add_option("--threads", t.threads, "default: all cores");
  cmd->add_option("--checkpoint-dir", t.checkpoint_dir, "write epoch-<N>.onnx and last.onnx here");
  cmd->add_option("--checkpoint-every", t.checkpoint_every, "epochs between checkpoints")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--resume", o->resume, "continue from this checkpoint");
  cmd->add_option("--loss-csv", t.loss_csv, "write step, epoch, loss, test accuracy here");
  cmd->add_option("-o,--output", o->out, "export the trained inference model here");
  cmd->add_flag("--quiet", o->quiet, "only the per-epoch lines");
  return [o]() {
    train::Options options = o->t;
    options.step.lr =
        o->lr > 0 ? o->lr : (options.step.optimizer.starts_with("adam") ? 1e-3 : 1e-2);
    if (o->momentum >= 0) options.step.momentum = o->momentum;
    data::Dataset train_set = data::load_mnist(o->data_dir, "train");
    data::Dataset test_set = data::load_mnist(o->data_dir, "test");
    std::unique_ptr<train::Trainer> trainer;
    if (!o->resume.empty()) {
      trainer = std::make_unique<train::Trainer>(
          train::Trainer::resume(o->resume, train_set, test_set, options));
      std::printf("resuming %s after epoch %d\n", o->resume.c_str(), trainer->epochs_done());
    } else {
      ir::Model model;
      int64_t classes = 0, size = train_set.images.dim(2);
      for (int64_t i = 0; i < train_set.size(); ++i) {
        classes = std::max(classes, train_set.labels.data<int64_t>()[i] + 1);
      }
      if (o->model == "cnn" || o->model == "mlp") {
        if (train_set.images.dim(3) != size || size % 4) {
          fail(ErrorKind::InvalidArgument, o->data_dir, ": the built-in models take square images ",
               "whose side is a multiple of 4, not ", shape_str(train_set.images.shape()));
        }
        nn::Sequential net =
            o->model == "cnn" ? nn::cnn(1, size, classes) : nn::mlp(1, size, classes);
        model = net.to_onnx({1, size, size}, options.seed);
      } else {
        model = onnx_io::load_model(o->model);
      }
      trainer = std::make_unique<train::Trainer>(model, train_set, test_set, options);
    }
    ProgressPrinter printer(o->quiet);
    trainer->run([&](const train::Progress& p) { printer(p); },
                 [&](const train::EpochResult& r) { printer.epoch(r, options.epochs); });
    if (!o->out.empty()) {
      onnx_io::save_model(train::inference_model(trainer->checkpoint()), o->out);
      std::printf("wrote %s\n", o->out.c_str());
    }
    return 0;
  };
}

Command add_eval(CLI::App& app) {
  struct Opts {
    std::string checkpoint, data_dir = kDefaultData;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("eval", "Test accuracy of a checkpoint or model");
  cmd->add_option("--checkpoint,checkpoint", o->checkpoint, "a checkpoint or an exported model")
      ->required();
  cmd->add_option("--data-dir", o->data_dir, "IDX files (the t10k- test split is used)")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "default: all cores");
  return [o]() {
    ir::Model model = onnx_io::load_model(o->checkpoint);
    data::Dataset test_set = data::load_mnist(o->data_dir, "test");
    auto [correct, total] = train::evaluate(model, test_set, o->threads);
    std::printf("accuracy %.4f (%lld/%lld)\n",
                static_cast<double>(correct) / static_cast<double>(total),
                static_cast<long long>(correct), static_cast<long long>(total));
    return 0;
  };
}

Command add_export(CLI::App& app) {
  struct Opts {
    std::string checkpoint, out;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("export", "Write a checkpoint's inference model");
  cmd->add_option("--checkpoint,checkpoint", o->checkpoint, "a checkpoint (or any model)")
      ->required();
  cmd->add_option("-o,--output", o->out, "the inference model to write")->required();
  return [o]() {
    onnx_io::save_model(train::inference_model(onnx_io::load_model(o->checkpoint)), o->out);
    std::printf("wrote %s\n", o->out.c_str());
    return 0;
  };
}

}  // namespace onyx::cli
