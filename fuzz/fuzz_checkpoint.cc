// Checkpoints (`onyx train`'s last.onnx): the resume point in the metadata, the training
// step and state in the TrainingInfoProto, and the step planned as the trainer plans it.
#include "fuzz_util.h"
#include "onyx/autodiff/embedded_training.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/step_runner.h"
#include "onyx/train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onyx::fuzz::guarded([&] {
    onyx::ir::Model ckpt =
        onyx::onnx_io::load_model_from_bytes(onyx::fuzz::bytes_of(data, size), "", "last.onnx");
    onyx::fuzz::guarded([&] { onyx::train::resume_point(ckpt); });
    onyx::autodiff::training_step_of(ckpt);
    onyx::autodiff::initial_state(ckpt);
    onyx::train::StepRunner runner(ckpt, 1);
  });
  return 0;
}
