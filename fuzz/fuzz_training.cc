// `onyx make-training` on fuzzed graphs: the loss, the gradient graph and the optimizer
// step built for the model's first float output, with the loss chosen by the input's size.
#include "fuzz_util.h"
#include "onyx/autodiff/training.h"
#include "onyx/onnx/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onyx::fuzz::guarded([&] {
    onyx::ir::Model model =
        onyx::onnx_io::load_model_from_bytes(onyx::fuzz::bytes_of(data, size), "", "fuzz.onnx");
    onyx::autodiff::TrainingOptions options;
    options.loss = size % 2 ? "cross-entropy" : "mse";
    options.optimizer = size % 3 ? "sgd" : "adam";
    onyx::autodiff::build_training_step(model, options);
  });
  return 0;
}
