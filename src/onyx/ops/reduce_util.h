// Shared by reductions and arg-reductions: the input rearranged so that the reduced axes
// are last and contiguous.
#pragma once

#include "onyx/ops/kernel.h"
#include "onyx/ops/strided.h"

namespace onyx::ops {

struct ReduceLayout {
  Tensor data;           // [outer, rows_len] contiguous (the input itself when possible)
  int64_t outer = 1;     // number of outputs
  int64_t rows_len = 1;  // elements folded into each output
  Shape out_shape;
  std::vector<bool> reduced;  // per axis of the input
};

// Axes are normalised and checked; empty axes reduce everything unless noop_when_empty.
// Without `rearrange`, data is the input as it is (for kernels that read it in place).
ReduceLayout reduce_layout(KernelContext& ctx, const Tensor& x, std::vector<int64_t> axes,
                           bool keepdims, bool noop_when_empty, bool rearrange = true);

// [outer, n, inner] view of x around `axis`.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at_axis(const Tensor& x, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= x.dim(d);
  s.n = x.rank() ? x.dim(axis) : 1;
  for (int64_t d = axis + 1; d < x.rank(); ++d) s.inner *= x.dim(d);
  return s;
}

}  // namespace onyx::ops
