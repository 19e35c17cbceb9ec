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

// im2col for one image and one channel group: col[(c * K + k), o] with K kernel positions
// and o output positions; positions in the padding read as zero. Rows are `ld` apart
// (default: the number of output positions), so several images can sit side by side.
template <typename T>
void im2col(const T* x, int64_t channels, const WindowGeometry& g, T* col, int64_t ld = -1);

}  // namespace onyx::ops
