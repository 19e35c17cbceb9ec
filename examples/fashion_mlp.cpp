// Declare a network with the layer API, train it one epoch on Fashion-MNIST (Debian's
// dataset-fashion-mnist) and save it: the library's path from nothing to a model file.
// Exits with status 1 unless the test accuracy reaches 80%.
#include <cstdio>

#include "onyx/data/idx.h"
#include "onyx/nn/layers.h"
#include "onyx/onnx/model_io.h"
#include "onyx/train/trainer.h"

int main(int argc, char** argv) {
  namespace nn = onyx::nn;
  const char* dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  nn::Sequential net{nn::Flatten(), nn::Linear(28 * 28, 128), nn::ReLU(), nn::Dropout(0.1),
                     nn::Linear(128, 10)};
  std::printf("%s\n", net.describe().c_str());
  onyx::data::Dataset train = onyx::data::load_mnist(dir, "train");
  onyx::data::Dataset test = onyx::data::load_mnist(dir, "test");
  onyx::train::Options o;
  o.epochs = 1;
  o.batch_size = 128;
  o.step.optimizer = "adam";
  o.step.lr = 1e-3;
  onyx::train::Trainer trainer(net.to_onnx({1, 28, 28}, /*seed=*/1), train, test, o);
  auto results = trainer.run({}, [](const onyx::train::EpochResult& r) {
    std::printf("epoch %d: loss %.4f, test accuracy %.4f, %.0f samples/s\n", r.epoch, r.train_loss,
                r.metric("accuracy")->value(), r.samples_per_s);
  });
  onyx::onnx_io::save_model(onyx::train::inference_model(trainer.checkpoint()), "fashion_mlp.onnx");
  std::printf("wrote fashion_mlp.onnx\n");
  return results.back().metric("accuracy")->value() >= 0.80 ? 0 : 1;
}
