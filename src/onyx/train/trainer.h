// Training loops over datasets of named feeds: epochs of seeded mini-batches through a
// model's training step, validation metrics after each epoch, checkpoints that resume
// exactly, the best checkpoint kept, early stopping.
//
// A checkpoint is one ONNX file: the model, its training step as TrainingInfoProto, the
// current parameters and optimizer state, and in metadata_props the epoch, the step count,
// the batch generator's state and the monitored metric's best value.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/data/dataset.h"
#include "onyx/ir/graph.h"
#include "onyx/train/evaluate.h"
#include "onyx/train/metrics.h"

namespace onyx::train {

struct Options {
  int epochs = 5;
  int64_t batch_size = 64;
  bool drop_last = false;           // skip each epoch's last, smaller batch
  bool shuffle = true;              // a seeded permutation per epoch, else the data order
  autodiff::TrainingOptions step;   // loss, optimizer, lr, schedules, clipping, freezing...
  bool schedule_per_epoch = false;  // schedules count epochs, not optimizer steps
  uint64_t seed = 0;                // batch order (the model's weights are seeded by its builder)
  int threads = 0;
  std::string checkpoint_dir;  // empty: no checkpoints
  int checkpoint_every = 1;    // epochs
  std::string loss_csv;        // empty: none
  // Measured on the validation data after each epoch; the loss always comes first.
  std::vector<std::string> metrics = {"accuracy"};
  std::string monitor = "loss";  // the validation metric for best.onnx and early stopping
  int early_stop = 0;            // epochs without improvement before stopping; 0: never
};

struct Progress {
  int epoch, epochs;
  int64_t batch, batches;
  double loss;  // running mean over the epoch so far
  double samples_per_s;
  double eta_s;  // for the rest of the epoch
};

struct EpochResult {
  int epoch;
  double train_loss;             // mean over the epoch's batches
  std::vector<MetricValue> val;  // on the validation data (empty without)
  double seconds, samples_per_s;
  bool best = false;  // the monitored metric improved (best.onnx written)
  const MetricValue* metric(const std::string& name) const;
};

// Where a checkpoint's run stopped, from its metadata: errors name the checkpoint and the
// entry when one is missing, not a number, or out of range.
struct ResumePoint {
  int64_t batch_size = 0;
  int epochs_done = 0;
  int64_t steps_done = 0;
  std::string batches;         // the batch order's generator state (data::Batches::state)
  double best = std::nan("");  // the monitored metric's best value; NaN before any
  int bad_epochs = 0;
  // A checkpoint an interrupt wrote inside an epoch: batches done, their loss sum and samples.
  int64_t epoch_batch = 0, epoch_samples = 0;
  double epoch_loss = 0;
};
ResumePoint resume_point(const ir::Model& checkpoint);

class Trainer {
 public:
  // A fresh run: `model` gets its training step (options.step) as TrainingInfoProto.
  // `val` may be empty (no validation: the monitor is then the training loss).
  Trainer(const ir::Model& model, const data::Dataset& train, const data::Dataset& val,
          Options options);
  // Continues the run a checkpoint recorded, as if it had never stopped.
  static Trainer resume(const std::string& checkpoint, const data::Dataset& train,
                        const data::Dataset& val, Options options);
  ~Trainer();
  Trainer(Trainer&&) noexcept;

  // Runs the remaining epochs (or until early stopping); `progress` is called after every
  // batch. A non-finite loss stops the run with an error naming the step; checkpoints
  // written before it stay as they were. An interrupt (core/interrupt.h) stops it between
  // steps with ErrorKind::Interrupted, after writing last.onnx, which resumes exactly there.
  std::vector<EpochResult> run(const std::function<void(const Progress&)>& progress = {},
                               const std::function<void(const EpochResult&)>& epoch_done = {});

  // The model with the current parameters and state (checkpoint content).
  ir::Model checkpoint() const;
  int epochs_done() const;
  bool stopped_early() const;

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace onyx::train
