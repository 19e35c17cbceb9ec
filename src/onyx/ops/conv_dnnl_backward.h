// oneDNN's convolution backward primitives, for the convolutions a training step runs
// besides the forward ones: the gradient with respect to a Conv's input (which ONNX
// writes as ConvTranspose) and with respect to its weights.
//
// A problem is described by the forward convolution it differentiates (ConvProblem of
// ops/conv_dnnl.h: X [N, C, in...], W [M, C / group, kernel...], Y [N, M, out...]); all
// tensors are plain. oneDNN picks its own layouts and each part reorders its slice in
// and out, since its blocked kernels beat onyx's im2col + GEMM even with those copies
// (docs/PERFORMANCE.md). As in DnnlConv, one single-threaded primitive runs per part of
// the batch on onyx's pool; weight gradients of the parts are summed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "onyx/ops/conv_dnnl.h"

namespace onyx::ops {

class DnnlConvBackward {
 public:
  enum class Wrt { Data, Weights };
  explicit DnnlConvBackward(Wrt wrt);
  ~DnnlConvBackward();

  // Data: dx [N, C, in...] from dy [N, M, out...] and w. Weights: dw [M, C / group,
  // kernel...] from dy and x (`w_or_x`). Returns false, computing nothing, when oneDNN
  // has no optimised kernel for the problem.
  bool run(KernelContext& ctx, const ConvProblem& p, const float* dy, const float* w_or_x,
           float* out);

  struct Prepared;

 private:
  std::unique_ptr<Prepared> prepare(const ConvProblem& p, int threads) const;

  Wrt wrt_;
  std::mutex mu_;
  std::map<std::vector<int64_t>, std::unique_ptr<Prepared>> cache_;
};

}  // namespace onyx::ops
