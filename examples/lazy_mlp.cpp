// A two-layer MLP regression trained with the lazy array API and grad, as in
// onnxruntime-numpy's README: fit y = sin(x0) + x1^2 / 2 on random points.
// Exits with status 1 unless the loss falls by at least 10x.
#include <cstdio>

#include "onyx/np/grad.h"

using onyx::np::Array;

int main() {
  namespace np = onyx::np;
  Array x = np::uniform({256, 2}, -2, 2, 1);
  Array y = (x.slice(1, 0, 1).sin() + x.slice(1, 1, 2).pow(2.0f) * 0.5f).eval();
  std::vector<Array> params{np::normal({2, 32}, 0, 0.5f, 2), np::zeros({32}),
                            np::normal({32, 1}, 0, 0.2f, 3), np::zeros({1})};
  auto loss = [&](const std::vector<Array>& p) {
    Array h = (x.matmul(p[0]) + p[1]).tanh();
    Array r = h.matmul(p[2]) + p[3] - y;
    return (r * r).mean();
  };
  auto step = np::value_and_grad(loss);
  float first = 0, last = 0;
  for (int i = 0; i < 300; ++i) {
    auto [value, grads] = step(params);
    for (size_t k = 0; k < params.size(); ++k) params[k] = (params[k] - grads[k] * 0.1f).eval();
    last = value.item();
    if (i == 0) first = last;
    if (i % 50 == 0) std::printf("step %3d: loss %.5f\n", i, last);
  }
  std::printf("loss %.5f -> %.5f\n", first, last);
  return last * 10 < first ? 0 : 1;
}
