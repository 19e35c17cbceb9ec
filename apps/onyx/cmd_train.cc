// onyx train: trains a model (the default CNN, the MLP, or any ONNX file) on a dataset
// (npz, CSV, image folder, IDX directory), with progress, validation metrics per epoch,
// checkpoints that resume exactly. onyx eval: a model's metrics on a dataset.
// onyx export: a checkpoint's inference model. Flags only: the library does the work.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include "commands.h"
#include "onyx/autodiff/losses.h"
#include "onyx/core/interrupt.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/version_convert.h"
#include "onyx/train/datasets.h"
#include "onyx/train/trainer.h"
#include "training_flags.h"

namespace onyx::cli {

namespace {

const char* kDefaultData = "/usr/share/datasets/fashion-mnist";

// "accuracy 0.9125 (73/80)", "mse 0.0312".
std::string metric_text(const train::MetricValue& m) {
  char buf[128];
  if (m.name == "accuracy" || m.name.starts_with("top")) {
    std::snprintf(buf, sizeof buf, "%s %.4f (%.0f/%.0f)", m.name.c_str(), m.value(), m.sum,
                  m.count);
  } else {
    std::snprintf(buf, sizeof buf, "%s %.6g", m.name.c_str(), m.value());
  }
  return buf;
}

// The data flags train and eval share.
void add_data_flags(CLI::App* cmd, train::DataOptions& d) {
  cmd->add_option("--data,--data-dir", d.path,
                  "an .npz file (arrays named like the inputs, and the labels), a .csv file (or "
                  "csv:FILE), a folder of class folders of images, an IDX directory, or a "
                  "directory of .npy files")
      ->capture_default_str();
  cmd->add_option("--target", d.target, "CSV: the target column")->capture_default_str();
  cmd->add_option("--mean", d.mean, "images: per-channel mean to subtract")->delimiter(',');
  cmd->add_option("--std", d.std, "images: per-channel standard deviation to divide by")
      ->delimiter(',');
}

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
    std::printf("epoch %d/%d: loss %.4f", r.epoch, epochs, r.train_loss);
    for (const auto& m : r.val) std::printf(", val %s", metric_text(m).c_str());
    std::printf(", %.0f samples/s, %.1f s%s\n", r.samples_per_s, r.seconds, r.best ? " *" : "");
    std::fflush(stdout);
  }

 private:
  bool quiet_, tty_;
};

// Ctrl-C (SIGINT) and SIGTERM ask the trainer to stop after the step it is in, writing
// last.onnx. They are blocked in every thread and taken by one thread of their own
// (sigwait), never by a handler: a handler's signal frame lands on the stack of whichever
// thread runs, and onyx train with a handler corrupted its heap here (about 1 run in 40,
// gone with the frame on an alternate stack: some kernel keeps data below its stack
// pointer). After the first, the signals get their default action back: a second Ctrl-C
// stops at once. One ignored when onyx started (nohup) stays ignored.
void stop_on_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction before {};
    ::sigaction(sig, nullptr, &before);
    if (before.sa_handler != SIG_IGN) sigaddset(&set, sig);
  }
  // Threads started later (the pool's, OpenMP's) inherit the mask.
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (::sigwait(&set, &sig) != 0) return;
    onyx::request_interrupt();
    static const char kSaid[] = "\nonyx: stopping after this step (Ctrl-C again to stop at once)\n";
    [[maybe_unused]] ssize_t n = ::write(2, kSaid, sizeof kSaid - 1);
    for (int s : {SIGINT, SIGTERM}) {
      if (sigismember(&set, s)) ::signal(s, SIG_DFL);
    }
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);  // the next one ends the process here
    for (;;) ::pause();
  }).detach();
}

// Runs the epochs with the progress printer, then exports the model if asked.
int run_training(train::Trainer& trainer, const train::Options& options, bool quiet,
                 const std::string& out) {
  ProgressPrinter printer(quiet);
  trainer.run([&](const train::Progress& p) { printer(p); },
              [&](const train::EpochResult& r) { printer.epoch(r, options.epochs); });
  if (trainer.stopped_early()) {
    std::printf("stopped early after epoch %d: no better %s for %d epochs\n", trainer.epochs_done(),
                options.monitor.c_str(), options.early_stop);
  }
  if (!out.empty()) {
    onnx_io::save_model(train::inference_model(trainer.checkpoint()), out);
    std::printf("wrote %s\n", out.c_str());
  }
  return 0;
}

}  // namespace

Command add_train(CLI::App& app) {
  struct Opts {
    std::string model = "cnn", resume, out;
    std::string schedule_per = "step";
    bool quiet = false;
    train::Options t;
    train::DataOptions data;
  };
  auto o = std::make_shared<Opts>();
  train::Options& t = o->t;
  o->data.path = kDefaultData;
  CLI::App* cmd = app.add_subcommand("train", "Train a model on a dataset");
  cmd->add_option("--model", o->model, "cnn, mlp, or an ONNX file")->capture_default_str();
  add_data_flags(cmd, o->data);
  cmd->add_option("--val-data", o->data.val_path,
                  "validation data (default: an IDX directory's test split)");
  cmd->add_option("--val-split", o->data.val_split, "hold out this fraction of --data instead")
      ->check(CLI::Range(0.0, 0.99));
  std::shared_ptr<TrainingFlags> step = add_training_flags(cmd);
  cmd->add_option("--epochs", t.epochs)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", t.batch_size)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--drop-last", t.drop_last, "skip each epoch's last, smaller batch");
  cmd->add_option("--schedule-per", o->schedule_per, "what --lr-schedule counts")
      ->check(CLI::IsMember({"step", "epoch"}))
      ->capture_default_str();
  cmd->add_option(
         "--metric", t.metrics,
         "validation metrics (loss is always shown): " +
             [] {
               std::string s;
               for (const auto& m : train::metric_names()) s += (s.empty() ? "" : ", ") + m;
               return s;
             }())
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--monitor", t.monitor, "the validation metric for best.onnx and --early-stop")
      ->capture_default_str();
  cmd->add_option("--early-stop", t.early_stop,
                  "stop after this many epochs without improvement (0: never)")
      ->capture_default_str();
  cmd->add_option("--seed", t.seed, "weights, batch order and --val-split")->capture_default_str();
  cmd->add_option("--threads", t.threads, "default: all cores");
  cmd->add_option("--checkpoint-dir", t.checkpoint_dir,
                  "write epoch-<N>.onnx, last.onnx and best.onnx here");
  cmd->add_option("--checkpoint-every", t.checkpoint_every, "epochs between epoch-<N>.onnx")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--resume", o->resume, "continue from this checkpoint");
  cmd->add_option("--loss-csv", t.loss_csv, "write step, epoch, loss and validation metrics here");
  cmd->add_option("-o,--output", o->out, "export the trained inference model here");
  cmd->add_flag("--quiet", o->quiet, "only the per-epoch lines");
  return [o, step]() {
    stop_on_signals();  // first, before any thread starts
    train::Options options = o->t;
    options.step = step->resolve();
    options.schedule_per_epoch = o->schedule_per == "epoch";
    train::DataOptions data = o->data;
    data.label = options.step.label;
    data.seed = options.seed;
    std::unique_ptr<train::Trainer> trainer;
    if (!o->resume.empty()) {
      ir::Model ckpt = onnx_io::load_model(o->resume);
      train::TrainingData d = train::load_training_data(data, ckpt);
      trainer = std::make_unique<train::Trainer>(
          train::Trainer::resume(o->resume, d.train, d.val, options));
      std::printf("resuming %s after epoch %d\n", o->resume.c_str(), trainer->epochs_done());
      return run_training(*trainer, options, o->quiet, o->out);
    }
    ir::Model model;
    train::TrainingData d;
    if (train::is_builtin_model(o->model)) {
      d = train::load_training_data(data, ir::Model{});
      model = train::builtin_model(o->model, d.train, options.seed);
    } else {
      model = onnx_io::load_model(o->model);
      d = train::load_training_data(data, model);
    }
    trainer = std::make_unique<train::Trainer>(model, d.train, d.val, options);
    return run_training(*trainer, options, o->quiet, o->out);
  };
}

Command add_eval(CLI::App& app) {
  struct Opts {
    std::string checkpoint;
    train::EvalOptions e;
    train::DataOptions data;
  };
  auto o = std::make_shared<Opts>();
  o->data.path = kDefaultData;
  CLI::App* cmd = app.add_subcommand("eval", "Metrics of a checkpoint or model on a dataset");
  cmd->add_option("--checkpoint,checkpoint", o->checkpoint, "a checkpoint or an exported model")
      ->required();
  add_data_flags(cmd, o->data);
  cmd->add_option("--metric", o->e.metrics, "metrics, one line each")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--loss", o->e.step.loss, "the loss the `loss` metric measures")
      ->check(CLI::IsMember(autodiff::loss_names()))
      ->capture_default_str();
  cmd->add_option("--label", o->e.step.label, "name of the labels array")->capture_default_str();
  cmd->add_option("--prediction", o->e.step.output, "the output to measure");
  cmd->add_option("--class-axis", o->e.step.class_axis, "the prediction's class axis")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->e.batch_size)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o->e.threads, "default: all cores");
  return [o]() {
    ir::Model model = onnx_io::load_model(o->checkpoint);
    train::DataOptions data = o->data;
    data.label = o->e.step.label;
    data::Dataset set = train::load_eval_data(data, model);
    for (const auto& m : train::evaluate(model, set, o->e))
      std::printf("%s\n", metric_text(m).c_str());
    return 0;
  };
}

Command add_export(CLI::App& app) {
  struct Opts {
    std::string checkpoint, out;
    int64_t opset = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("export", "Write a checkpoint's inference model");
  cmd->add_option("--checkpoint,checkpoint", o->checkpoint, "a checkpoint (or any model)")
      ->required();
  cmd->add_option("-o,--output", o->out, "the inference model to write")->required();
  cmd->add_option("--opset", o->opset, "write at this opset (1 to 23; default: the model's)")
      ->check(CLI::Range(1, 23));
  return [o]() {
    ir::Model m = train::inference_model(onnx_io::load_model(o->checkpoint));
    int64_t from = m.opset("");
    if (o->opset) m = onnx_io::convert_opset(m, o->opset);
    onnx_io::save_model(m, o->out);
    std::printf("wrote %s at opset %lld", o->out.c_str(), static_cast<long long>(m.opset("")));
    if (m.opset("") != from) std::printf(" (converted from %lld)", static_cast<long long>(from));
    std::printf("\n");
    return 0;
  };
}

}  // namespace onyx::cli
