// NumPy-style broadcasting for N inputs: the output is walked in rows along its last
// (coalesced) dimension, and for each row the caller gets every input's start offset and
// its inner stride (0 when broadcast, 1 otherwise), so inner loops stay flat and typed.
#pragma once

#include <array>
#include <cstdint>

#include "onyx/core/shape.h"
#include "onyx/core/thread_pool.h"

namespace onyx::ops {

template <size_t N>
struct BroadcastPlan {
  Shape dims;                                   // coalesced output dims
  std::array<std::vector<int64_t>, N> strides;  // per input, per coalesced dim
  int64_t inner = 1;                            // length of a row
  int64_t rows = 0;
  std::array<int64_t, N> inner_stride{};
};

template <size_t N>
BroadcastPlan<N> plan_broadcast(const std::array<const Shape*, N>& in, const Shape& out) {
  size_t r = out.size();
  std::array<std::vector<int64_t>, N> st;
  for (size_t k = 0; k < N; ++k) {
    const Shape& s = *in[k];
    st[k].assign(r, 0);
    int64_t acc = 1;
    for (size_t i = r; i-- > 0;) {
      size_t off = r - s.size();
      int64_t d = i >= off ? s[i - off] : 1;
      st[k][i] = (d == 1 && out[i] != 1) ? 0 : acc;
      acc *= d;
    }
  }
  // Coalesce adjacent dims whose strides agree for every input.
  BroadcastPlan<N> p;
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) continue;  // size-1 dims do not move any index
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < N && merge; ++k) {
      merge = p.strides[k].back() == st[k][i] * out[i];
    }
    if (merge) {
      p.dims.back() *= out[i];
      for (size_t k = 0; k < N; ++k) p.strides[k].back() = st[k][i];
    } else {
      p.dims.push_back(out[i]);
      for (size_t k = 0; k < N; ++k) p.strides[k].push_back(st[k][i]);
    }
  }
  int64_t total = shape_numel(out);
  if (p.dims.empty()) {
    p.inner = total == 0 ? 0 : 1;
    p.rows = total == 0 ? 0 : 1;
    for (size_t k = 0; k < N; ++k) p.inner_stride[k] = 0;
    return p;
  }
  p.inner = p.dims.back();
  p.rows = p.inner ? total / p.inner : 0;
  for (size_t k = 0; k < N; ++k) p.inner_stride[k] = p.strides[k].back();
  return p;
}

// Calls row(out_offset, in_offsets, inner, inner_strides) for every output row, in parallel.
template <size_t N, typename RowFn>
void for_each_broadcast_row(const BroadcastPlan<N>& p, ThreadPool& pool, RowFn&& row) {
  if (p.rows == 0) return;
  if (p.dims.empty()) {  // scalar output
    std::array<int64_t, N> off{};
    row(int64_t{0}, off, p.inner, p.inner_stride);
    return;
  }
  int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(p.inner, 1));
  pool.parallel_for(p.rows, grain, [&](int64_t begin, int64_t end) {
    size_t outer_rank = p.dims.size() - 1;
    std::vector<int64_t> idx(outer_rank, 0);
    // Unravel `begin` into the outer index.
    int64_t rem = begin;
    for (size_t i = outer_rank; i-- > 0;) {
      idx[i] = rem % p.dims[i];
      rem /= p.dims[i];
    }
    std::array<int64_t, N> off{};
    for (size_t k = 0; k < N; ++k) {
      for (size_t i = 0; i < outer_rank; ++i) off[k] += idx[i] * p.strides[k][i];
    }
    for (int64_t rrow = begin; rrow < end; ++rrow) {
      row(rrow * p.inner, off, p.inner, p.inner_stride);
      // Advance the outer index like an odometer, updating offsets incrementally.
      for (size_t i = outer_rank; i-- > 0;) {
        ++idx[i];
        for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][i];
        if (idx[i] < p.dims[i]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= p.strides[k][i] * p.dims[i];
        idx[i] = 0;
      }
    }
  });
}

}  // namespace onyx::ops
