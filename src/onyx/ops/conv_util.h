// Window geometry shared by Conv, ConvTranspose and the pools: attributes read once, and
// per call the output size and padding for an input shape (auto_pad, ceil_mode).
#pragma once

#include <string>
#include <vector>

#include "onyx/ops/kernel.h"

namespace onyx::ops {

struct WindowAttrs {
  std::string auto_pad = "NOTSET";
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
  bool ceil_mode = false;

  static WindowAttrs read(const KernelInfo& info);
};

struct WindowGeometry {
  int64_t spatial = 0;
  std::vector<int64_t> in, kernel, out, stride, dilation, pad_begin, pad_end;
  int64_t in_size() const;
  int64_t out_size() const;
  int64_t kernel_size() const;
};

// `in` and `kernel` are the spatial sizes; fails (naming the node) on impossible windows.
WindowGeometry window_geometry(const KernelContext& ctx, const WindowAttrs& a,
                               const std::vector<int64_t>& in, const std::vector<int64_t>& kernel);

// Runs fn(n, scratch) for each image n < N of a batch, `scratch` pointing at
// `scratch_size` elements of T for the call's use (null when 0). A batch of small images
// (training: each under ~5e7 flops, at least one per thread) is split across threads by
// whole images, each thread with its own scratch, because one image's im2col and GEMM are
// too small to split well (inside, the pool then runs inline). Otherwise the images run
// one after another, each free to use the pool.
template <typename T, typename F>
void for_each_image(KernelContext& ctx, int64_t N, double image_flops, int64_t scratch_size,
                    F&& fn) {
  int64_t threads = ctx.pool().size();
  bool by_image = threads > 1 && N >= threads && image_flops < 5e7;
  int64_t copies = by_image ? threads : 1;
  Tensor scratch;
  if (scratch_size) scratch = ctx.scratch(dtype_of<T>, {scratch_size * copies});
  auto at = [&](int64_t t) {
    return scratch_size ? scratch.data<T>() + t * scratch_size : nullptr;
  };
  if (!by_image) {
    for (int64_t n = 0; n < N; ++n) fn(n, at(0));
    return;
  }
  ctx.pool().parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t n = N * t / threads; n < N * (t + 1) / threads; ++n) fn(n, at(t));
    }
  });
}

// y [M, O] (one image) += bias [M], per output channel.
template <typename T>
void add_bias(const T* bias, int64_t M, int64_t O, T* y) {
  for (int64_t m = 0; m < M; ++m) {
    T b = bias[m];
    for (int64_t o = 0; o < O; ++o) y[m * O + o] += b;
  }
}

// im2col for one image and one channel group: col[(c * K + k), o] with K kernel positions
// and o output positions; positions in the padding read as zero. Rows are `ld` apart
// (default: the number of output positions), so several images can sit side by side.
template <typename T>
void im2col(const T* x, int64_t channels, const WindowGeometry& g, T* col, int64_t ld = -1);

}  // namespace onyx::ops
