// Builds a network with the layer API, differentiates a loss with the lazy arrays and runs
// the model through a session: the public headers and the library, as installed.
#include <cstdio>

#include "onyx/nn/layers.h"
#include "onyx/np/grad.h"
#include "onyx/runtime/session.h"

int main() {
  namespace nn = onyx::nn;
  nn::Sequential net{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)};
  onyx::runtime::Session session(net.to_onnx({4}, 1));
  onyx::Tensor x = onyx::Tensor::zeros(onyx::DType::Float32, {3, 4});
  onyx::Tensor y = session.run({{"input", x}})[0].tensor();
  auto f = [](const std::vector<onyx::np::Array>& p) { return (p[0] * p[0]).sum(); };
  float g = onyx::np::grad(f)({onyx::np::array({3.0f}, {1})})[0].item();  // d(w^2)/dw = 6
  std::printf("output [%lld, %lld], gradient %g\n", static_cast<long long>(y.dim(0)),
              static_cast<long long>(y.dim(1)), g);
  return y.dim(0) == 3 && y.dim(1) == 2 && g == 6.0f ? 0 : 1;
}
