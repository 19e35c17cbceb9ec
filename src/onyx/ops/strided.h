// Copying N-d views: the one routine behind Transpose, Slice, Expand, Tile, Split and the
// like. A view is a start element and a stride per output dimension (0 broadcasts,
// negative walks backwards); the destination is contiguous.
#pragma once

#include <vector>

#include "onyx/core/tensor.h"
#include "onyx/core/thread_pool.h"

namespace onyx::ops {

// dst[i0..in] = src[offset + sum(ik * strides[k])], for dst of `shape` (contiguous).
void strided_copy(const Tensor& src, int64_t offset, const std::vector<int64_t>& strides,
                  Tensor& dst, ThreadPool* pool = nullptr);

// Copies all of `src` into `dst` at element `dst_offset`, `dst` rows being `dst_row` wide:
// used by Concat-like ops that place blocks side by side. Shapes are [outer, src_row].
void copy_blocks(const Tensor& src, int64_t outer, int64_t src_row, Tensor& dst, int64_t dst_row,
                 int64_t dst_offset);

// Copies `count` elements between tensors of the same dtype (strings too).
void copy_elements(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count);

}  // namespace onyx::ops
