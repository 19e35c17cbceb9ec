// float32 convolutions on oneDNN's convolution primitives (brgconv / jit kernels for the
// CPU found at run time) in the channel-blocked layout those kernels want (nC..16c).
//
// The blocked layout of a plain [N, C, spatial...] tensor is [N, ceil(C / 16), spatial...,
// 16]: channel c of image n at [n, c / 16, ..., c % 16], the padding channels zero. The
// runtime keeps values in it between consecutive convolutions (runtime/layout.cc), so X
// and Y are each plain or blocked; a plain one is reordered at the call.
//
// One single-threaded primitive runs per part of the work on onyx's pool (parts are whole
// images when the batch has at least one per thread, otherwise slices of 16-channel
// blocks of the output, or of groups). oneDNN's own OpenMP threads are not used: they spin
// against the pool on few cores (docs/DECISIONS.md). Constant weights are reordered once
// per input shape.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "onyx/ops/conv_util.h"

namespace onyx::ops {

// An activation folded into Conv by the runtime's fusion pass (runtime/fusion.cc).
struct ConvEpilogue {
  enum class Kind { None, Relu, LeakyRelu, Clip } kind = Kind::None;
  float alpha = 0, lo = 0, hi = 0;

  static ConvEpilogue read(const ir::Node& n);
  template <typename T>
  void apply(T* y, int64_t n) const {
    switch (kind) {
      case Kind::None:
        return;
      case Kind::Relu:
        for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
        return;
      case Kind::LeakyRelu:
        for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= T(0) ? y[i] : T(alpha) * y[i];
        return;
      case Kind::Clip:
        for (int64_t i = 0; i < n; ++i) y[i] = y[i] < T(lo) ? T(lo) : (y[i] > T(hi) ? T(hi) : y[i]);
        return;
    }
  }
};

inline constexpr int64_t kChannelBlock = 16;

// The blocked shape of a plain [N, C, spatial...] shape.
Shape blocked_shape(const Shape& plain);
// The plain shape of blocked `x` when it holds `channels` channels, else nullopt.
std::optional<Shape> unblocked_shape(const Tensor& x, int64_t channels);
// Plain [N, C, S] (S: the spatial size) into blocked, and back.
void to_blocked(const float* x, int64_t N, int64_t C, int64_t S, float* xb, ThreadPool& pool);
void from_blocked(const float* xb, int64_t N, int64_t C, int64_t S, float* x, ThreadPool& pool);

// One convolution's sizes: X [N, C, in...], W [M, C / group, kernel...], Y [N, M, out...].
struct ConvProblem {
  int64_t N = 0, C = 0, M = 0, group = 1;
  WindowGeometry g;
};

// Where X and Y are held, and whether Y comes in holding a residual the convolution adds
// to (before the epilogue: y = act(conv(x) + bias + y)).
struct ConvIo {
  bool x_blocked = false, y_blocked = false, accumulate = false;
};

class DnnlConv {
 public:
  // `constant_w`: W when it is known at planning (an initializer), else null.
  explicit DnnlConv(const Tensor* constant_w);
  ~DnnlConv();

  // y = conv(x, w) + bias, then the epilogue, in the layouts `io` says. Returns false,
  // computing nothing, when oneDNN has no optimised kernel for the problem (the caller's
  // own path runs then).
  bool run(KernelContext& ctx, const ConvProblem& p, const ConvEpilogue& e, ConvIo io,
           const float* x, const float* w, const float* bias, float* y);

  struct Prepared;

 private:
  // Null when oneDNN has no optimised kernel for the problem.
  static std::unique_ptr<Prepared> prepare(const ConvProblem& p, const ConvEpilogue& e,
                                           bool accumulate, bool with_bias, int threads);
  static std::unique_ptr<Prepared> prepare_with(const ConvProblem& p, const ConvEpilogue& e,
                                                bool accumulate, bool with_bias, int threads,
                                                bool src_blocked);
  void execute(KernelContext& ctx, const ConvProblem& p, Prepared& prepared, ConvIo io,
               const float* x, const float* w, const float* bias, float* y);

  const Tensor* constant_w_;
  std::mutex mu_;
  // Keyed by X's shape, the thread count, the epilogue and whether there are a bias and a
  // residual.
  std::map<std::vector<int64_t>, std::unique_ptr<Prepared>> cache_;
};

}  // namespace onyx::ops
