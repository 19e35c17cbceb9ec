#include "onyx/ops/conv_util.h"

#include <algorithm>

#include <cstring>

namespace onyx::ops {

WindowAttrs WindowAttrs::read(const KernelInfo& info) {
  WindowAttrs a;
  const ir::Node& n = info.node;
  a.auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
      a.auto_pad != "VALID") {
    info.fail(ErrorKind::InvalidModel, "auto_pad '", a.auto_pad,
              "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
  a.kernel_shape = n.attr_ints("kernel_shape");
  a.strides = n.attr_ints("strides");
  a.dilations = n.attr_ints("dilations");
  a.pads = n.attr_ints("pads");
  a.ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  // Bounded so that window arithmetic (stride * size, dilation * kernel) cannot overflow.
  constexpr int64_t kMax = int64_t{1} << 31;
  for (const auto* v : {&a.kernel_shape, &a.strides, &a.dilations, &a.pads}) {
    for (int64_t x : *v) {
      if (x > kMax)
        info.fail(ErrorKind::InvalidModel, "window attribute value ", x, " is too large");
    }
  }
  for (int64_t s : a.strides) {
    if (s <= 0) info.fail(ErrorKind::InvalidModel, "strides must be positive");
  }
  for (int64_t d : a.dilations) {
    if (d <= 0) info.fail(ErrorKind::InvalidModel, "dilations must be positive");
  }
  for (int64_t p : a.pads) {
    if (p < 0) info.fail(ErrorKind::InvalidModel, "pads must not be negative");
  }
  return a;
}

int64_t WindowGeometry::in_size() const {
  int64_t n = 1;
  for (int64_t v : in) n *= v;
  return n;
}
int64_t WindowGeometry::out_size() const {
  int64_t n = 1;
  for (int64_t v : out) n *= v;
  return n;
}
int64_t WindowGeometry::kernel_size() const {
  int64_t n = 1;
  for (int64_t v : kernel) n *= v;
  return n;
}

WindowGeometry window_geometry(const KernelContext& ctx, const WindowAttrs& a,
                               const std::vector<int64_t>& in, const std::vector<int64_t>& kernel) {
  WindowGeometry g;
  size_t n = in.size();
  g.spatial = static_cast<int64_t>(n);
  g.in = in;
  g.kernel = kernel;
  auto list = [&](const std::vector<int64_t>& v, int64_t fallback, const char* name) {
    if (v.empty()) return std::vector<int64_t>(n, fallback);
    if (v.size() != n) ctx.fail(name, " has ", v.size(), " values for ", n, " spatial dimensions");
    return v;
  };
  g.stride = list(a.strides, 1, "strides");
  g.dilation = list(a.dilations, 1, "dilations");
  if (!a.pads.empty() && a.pads.size() != 2 * n)
    ctx.fail("pads has ", a.pads.size(), " values, expected ", 2 * n);
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  g.out.assign(n, 0);
  for (size_t d = 0; d < n; ++d) {
    if (kernel[d] <= 0) ctx.fail("kernel dimension ", d, " is ", kernel[d]);
    int64_t span = (kernel[d] - 1) * g.dilation[d] + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      int64_t out = (in[d] + g.stride[d] - 1) / g.stride[d];
      int64_t total = std::max<int64_t>(0, (out - 1) * g.stride[d] + span - in[d]);
      g.pad_begin[d] = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[d] = total - g.pad_begin[d];
    } else if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
      g.pad_begin[d] = a.pads[d];
      g.pad_end[d] = a.pads[n + d];
    }
    int64_t padded = in[d] + g.pad_begin[d] + g.pad_end[d] - span;
    if (padded < 0) {
      ctx.fail("kernel extent ", span, " exceeds the padded input size ",
               in[d] + g.pad_begin[d] + g.pad_end[d], " in spatial dimension ", d);
    }
    int64_t out =
        a.ceil_mode ? (padded + g.stride[d] - 1) / g.stride[d] + 1 : padded / g.stride[d] + 1;
    // With ceil_mode, a last window that starts in the end padding is dropped.
    if (a.ceil_mode && (out - 1) * g.stride[d] >= in[d] + g.pad_begin[d]) --out;
    g.out[d] = out;
  }
  return g;
}

template <typename T>
void im2col(const T* x, int64_t channels, const WindowGeometry& g, T* col, int64_t ld) {
  int64_t K = g.kernel_size(), O = g.out_size(), I = g.in_size();
  if (ld < 0) ld = O;
  if (g.spatial == 2) {
    int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
    for (int64_t c = 0; c < channels; ++c) {
      const T* xc = x + c * I;
      for (int64_t kh = 0; kh < g.kernel[0]; ++kh) {
        for (int64_t kw = 0; kw < g.kernel[1]; ++kw) {
          T* row = col + ((c * g.kernel[0] + kh) * g.kernel[1] + kw) * ld;
          for (int64_t oh = 0; oh < OH; ++oh) {
            int64_t ih = oh * g.stride[0] - g.pad_begin[0] + kh * g.dilation[0];
            T* r = row + oh * OW;
            if (ih < 0 || ih >= H) {
              std::fill_n(r, OW, T(0));
              continue;
            }
            const T* xr = xc + ih * W;
            int64_t iw0 = -g.pad_begin[1] + kw * g.dilation[1];
            if (g.stride[1] == 1 && iw0 >= 0 && iw0 + OW <= W) {
              std::memcpy(r, xr + iw0, static_cast<size_t>(OW) * sizeof(T));
              continue;
            }
            // The output columns whose input column is inside the row, found once: the
            // copy between them has no branch (strided when stride > 1).
            int64_t sw = g.stride[1];
            int64_t lo = iw0 >= 0 ? 0 : std::min(OW, (-iw0 + sw - 1) / sw);
            int64_t hi = W - iw0 <= 0 ? lo : std::clamp((W - iw0 + sw - 1) / sw, lo, OW);
            std::fill(r, r + lo, T(0));
            const T* src = xr + iw0;
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = src[ow * sw];
            std::fill(r + hi, r + OW, T(0));
          }
        }
      }
    }
    return;
  }
  // Any number of spatial dims: walk kernel and output positions with odometers.
  size_t n = static_cast<size_t>(g.spatial);
  std::vector<int64_t> kidx(n), oidx(n);
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * I;
    std::fill(kidx.begin(), kidx.end(), 0);
    for (int64_t k = 0; k < K; ++k) {
      T* row = col + (c * K + k) * ld;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t o = 0; o < O; ++o) {
        int64_t off = 0;
        bool inside = true;
        for (size_t d = 0; d < n; ++d) {
          int64_t i = oidx[d] * g.stride[d] - g.pad_begin[d] + kidx[d] * g.dilation[d];
          if (i < 0 || i >= g.in[d]) {
            inside = false;
            break;
          }
          off = off * g.in[d] + i;
        }
        row[o] = inside ? xc[off] : T(0);
        for (size_t d = n; d-- > 0;) {
          if (++oidx[d] < g.out[d]) break;
          oidx[d] = 0;
        }
      }
      for (size_t d = n; d-- > 0;) {
        if (++kidx[d] < g.kernel[d]) break;
        kidx[d] = 0;
      }
    }
  }
}

template void im2col<float>(const float*, int64_t, const WindowGeometry&, float*, int64_t);
template void im2col<double>(const double*, int64_t, const WindowGeometry&, double*, int64_t);
template void im2col<int32_t>(const int32_t*, int64_t, const WindowGeometry&, int32_t*, int64_t);

}  // namespace onyx::ops
