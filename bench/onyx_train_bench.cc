// Times one training step in onyx: onyx_train_bench MODEL INPUT.npy LABELS.npy THREADS ITERS
// OPTIMIZER. The step (cross-entropy loss, backward, update) is built from the model as
// `onyx make-training` would; parameters and optimizer state stay bound in the session.
// Prints {"median_ms": ..., "first_loss": ..., "last_loss": ..., "peak_mb": ...} (peak_mb as
// peak_memory.h measures it, building the step included).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "onyx/autodiff/training.h"
#include "onyx/onnx/model_io.h"
#include "onyx/onnx/value_files.h"
#include "onyx/runtime/session.h"
#include "peak_memory.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: onyx_train_bench MODEL INPUT.npy LABELS.npy THREADS ITERS OPTIMIZER\n");
    return 2;
  }
  try {
    onyx_bench::PeakMemory memory;
    onyx::ir::Model model = onyx::onnx_io::load_model(argv[1]);
    onyx::autodiff::TrainingOptions o;
    o.optimizer = argv[6];
    o.lr = o.optimizer == "adam" ? 0.001 : 0.01;
    onyx::autodiff::TrainingStep step = onyx::autodiff::build_training_step(model, o);
    onyx::runtime::SessionOptions so;
    so.threads = std::atoi(argv[4]);
    onyx::runtime::Session s(step.model, so);
    s.bind(onyx::autodiff::binding_pairs(step));
    onyx::runtime::NamedValues feeds{
        {model.graph->inputs[0].name, onyx::onnx_io::load_npy(argv[2])},
        {o.label, onyx::onnx_io::load_npy(argv[3])}};
    auto loss = [&] { return s.run(feeds)[0].tensor().element_as_double(0); };
    double first = loss();
    for (int i = 0; i < 2; ++i) loss();
    std::vector<double> ms;
    double last = 0;
    for (int i = 0, n = std::atoi(argv[5]); i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      last = loss();
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf(
        "{\"median_ms\": %.4f, \"first_loss\": %.6f, \"last_loss\": %.6f, \"peak_mb\": %.1f}\n",
        ms[ms.size() / 2], first, last, memory.peak_mb());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onyx_train_bench: %s\n", e.what());
    return 2;
  }
  return 0;
}
