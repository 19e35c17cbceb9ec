// The layer API: PyTorch-style layers that build an ONNX graph.
//
//   nn::Sequential net{nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
//                      nn::Flatten(), nn::Linear(32 * 14 * 14, 10)};
//   net.save("model.onnx", {1, 28, 28});   // input [N, 1, 28, 28], weights seeded
//
// Parameters are named as PyTorch's state_dict names them ("0.weight", "4.bias") and
// initialised as PyTorch initialises them by default, from a seeded generator.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "onyx/ir/builder.h"

namespace onyx::nn {

enum class Init {
  Default,         // PyTorch's: kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in))
  KaimingUniform,  // for ReLU: U(+-sqrt(6/fan_in))
  KaimingNormal,   // for ReLU: N(0, 2/fan_in)
  XavierUniform,   // U(+-sqrt(6/(fan_in+fan_out)))
  XavierNormal,    // N(0, 2/(fan_in+fan_out))
};

// What a layer sees while it builds: the graph, the generator, its parameter prefix.
struct BuildContext {
  ir::GraphBuilder& graph;
  std::mt19937_64& rng;
  std::string prefix;  // "3." for the fourth layer of a Sequential
  int64_t opset;
  // A float initializer named prefix + name.
  std::string parameter(const std::string& name, Tensor value);
};

class Module {
 public:
  virtual ~Module() = default;
  // Appends the layer's nodes; returns the output value's name.
  virtual std::string build(BuildContext& ctx, const std::string& x) const = 0;
  // "Conv2d(1, 32, kernel_size=3)": for printing a model.
  virtual std::string describe() const = 0;
};

// A layer, as Sequential holds it (a shared, immutable description).
using Layer = std::shared_ptr<const Module>;

struct LinearOptions {
  bool bias = true;
  Init init = Init::Default;
};
Layer Linear(int64_t in_features, int64_t out_features, LinearOptions o = {});

struct Conv2dOptions {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
  Init init = Init::Default;
};
Layer Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions o = {});

// stride defaults to kernel_size, as in PyTorch.
Layer MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
Layer AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
// momentum as PyTorch's (the running statistics take 10% of each batch's).
Layer BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
Layer Dropout(double p = 0.5);
Layer Flatten();  // all but the batch axis
Layer ReLU();
Layer LeakyReLU(double negative_slope = 0.01);
Layer Sigmoid();
Layer Tanh();
Layer GELU();  // exact: x * (1 + erf(x / sqrt(2))) / 2
Layer Softmax(int64_t dim = -1);
Layer LogSoftmax(int64_t dim = -1);

class Sequential {
 public:
  Sequential(std::initializer_list<Layer> layers) : layers_(layers) {}
  explicit Sequential(std::vector<Layer> layers) : layers_(std::move(layers)) {}

  // The ONNX model: input "input" of shape [N, input_shape...] (N symbolic), output
  // "output"; parameters drawn from a generator seeded with `seed`; opset 17.
  ir::Model to_onnx(const std::vector<int64_t>& input_shape, uint64_t seed = 0) const;
  // to_onnx, written atomically to `path`.
  void save(const std::string& path, const std::vector<int64_t>& input_shape,
            uint64_t seed = 0) const;

  const std::vector<Layer>& layers() const { return layers_; }
  std::string describe() const;

 private:
  std::vector<Layer> layers_;
};

}  // namespace onyx::nn
