// Training loops over MNIST-layout data: epochs of seeded mini-batches through a training
// step graph, test accuracy after each epoch, checkpoints that resume exactly.
//
// A checkpoint is one ONNX file: the model, its training step as TrainingInfoProto, the
// current parameters and optimizer state, and in metadata_props the epoch, the step count
// and the batch generator's state.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/data/idx.h"
#include "onyx/ir/graph.h"

namespace onyx::train {

struct Options {
  int epochs = 5;
  int64_t batch_size = 64;
  autodiff::TrainingOptions step;  // loss, optimizer, lr, momentum, weight decay
  uint64_t seed = 0;               // batch order (the model's weights are seeded by its builder)
  int threads = 0;
  std::string checkpoint_dir;  // empty: no checkpoints
  int checkpoint_every = 1;    // epochs
  std::string loss_csv;        // empty: none
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
  double train_loss;  // mean over the epoch's batches
  int64_t correct, total;
  double accuracy() const { return total ? static_cast<double>(correct) / total : 0.0; }
  double seconds, samples_per_s;
};

// Correct top-1 predictions of `model` (an inference graph; training_info is ignored) on
// `data`, in batches.
std::pair<int64_t, int64_t> evaluate(const ir::Model& model, const data::Dataset& data,
                                     int threads = 0, int64_t batch_size = 1000);

// A checkpoint's inference model: the same graph and weights, without the training step
// or onyx's training metadata.
ir::Model inference_model(const ir::Model& checkpoint);

class Trainer {
 public:
  // A fresh run: `model` gets its training step (options.step) as TrainingInfoProto.
  Trainer(const ir::Model& model, const data::Dataset& train, const data::Dataset& test,
          Options options);
  // Continues the run a checkpoint recorded, as if it had never stopped.
  static Trainer resume(const std::string& checkpoint, const data::Dataset& train,
                        const data::Dataset& test, Options options);
  ~Trainer();
  Trainer(Trainer&&) noexcept;

  // Runs the remaining epochs; `progress` is called after every batch.
  std::vector<EpochResult> run(const std::function<void(const Progress&)>& progress = {},
                               const std::function<void(const EpochResult&)>& epoch_done = {});

  // The model with the current parameters and state (checkpoint content).
  ir::Model checkpoint() const;
  int epochs_done() const;

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace onyx::train
