#include "onyx/ops/strided.h"

#include <cstring>

namespace onyx::ops {

namespace {

template <typename E>
void copy_rows(const E* src, int64_t offset, const std::vector<int64_t>& dims,
               const std::vector<int64_t>& strides, E* dst, int64_t row_begin, int64_t row_end) {
  size_t outer_rank = dims.size() - 1;
  int64_t inner = dims.back();
  int64_t inner_stride = strides.back();
  std::vector<int64_t> idx(outer_rank, 0);
  int64_t rem = row_begin;
  for (size_t i = outer_rank; i-- > 0;) {
    idx[i] = rem % dims[i];
    rem /= dims[i];
  }
  int64_t off = offset;
  for (size_t i = 0; i < outer_rank; ++i) off += idx[i] * strides[i];
  for (int64_t r = row_begin; r < row_end; ++r) {
    E* out = dst + r * inner;
    const E* in = src + off;
    if (inner_stride == 1) {
      if constexpr (std::is_trivially_copyable_v<E>) {
        std::memcpy(out, in, static_cast<size_t>(inner) * sizeof(E));
      } else {
        for (int64_t k = 0; k < inner; ++k) out[k] = in[k];
      }
    } else if (inner_stride == 0) {
      for (int64_t k = 0; k < inner; ++k) out[k] = in[0];
    } else {
      for (int64_t k = 0; k < inner; ++k) out[k] = in[k * inner_stride];
    }
    for (size_t i = outer_rank; i-- > 0;) {
      ++idx[i];
      off += strides[i];
      if (idx[i] < dims[i]) break;
      off -= strides[i] * dims[i];
      idx[i] = 0;
    }
  }
}

}  // namespace

void strided_copy(const Tensor& src, int64_t offset, const std::vector<int64_t>& strides,
                  Tensor& dst, ThreadPool* pool) {
  const Shape& shape = dst.shape();
  if (dst.numel() == 0) return;
  // Drop size-1 dims and merge dims that are contiguous with their inner neighbour.
  std::vector<int64_t> dims, st;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!dims.empty() && st.back() == strides[i] * shape[i]) {
      dims.back() *= shape[i];
      st.back() = strides[i];
    } else {
      dims.push_back(shape[i]);
      st.push_back(strides[i]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    st.push_back(1);
  }
  int64_t rows = dst.numel() / dims.back();
  auto run = [&](auto tag, int64_t b, int64_t e) {
    using E = decltype(tag);
    copy_rows<E>(static_cast<const E*>(src.raw_data()), offset, dims, st,
                 static_cast<E*>(dst.raw_data()), b, e);
  };
  auto dispatch = [&](int64_t b, int64_t e) {
    if (src.dtype() == DType::String) return run(std::string{}, b, e);
    switch (dtype_size(src.dtype())) {
      case 1:
        return run(uint8_t{}, b, e);
      case 2:
        return run(uint16_t{}, b, e);
      case 4:
        return run(uint32_t{}, b, e);
      case 8:
        return run(uint64_t{}, b, e);
      case 16:
        return run(std::complex<double>{}, b, e);
    }
  };
  if (pool && dst.numel() >= (1 << 16)) {
    int64_t grain = std::max<int64_t>(1, (1 << 14) / dims.back());
    pool->parallel_for(rows, grain, dispatch);
  } else {
    dispatch(0, rows);
  }
}

void copy_elements(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count) {
  if (count <= 0) return;
  if (src.dtype() == DType::String) {
    const std::string* s = src.data<std::string>() + src_at;
    std::copy(s, s + count, dst.data<std::string>() + dst_at);
    return;
  }
  size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw_data()) + dst_at * es,
              static_cast<const char*>(src.raw_data()) + src_at * es,
              static_cast<size_t>(count) * es);
}

void copy_blocks(const Tensor& src, int64_t outer, int64_t src_row, Tensor& dst, int64_t dst_row,
                 int64_t dst_offset) {
  for (int64_t o = 0; o < outer; ++o)
    copy_elements(src, o * src_row, dst, o * dst_row + dst_offset, src_row);
}

}  // namespace onyx::ops
