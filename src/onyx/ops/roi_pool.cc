// MaxRoiPool (opsets 1, 22): Fast R-CNN's region pooling. Each region [batch, x1, y1, x2,
// y2] (input coordinates, times spatial_scale, rounded) is cut into pooled_shape bins of
// whole pixels; each bin gives its maximum, an empty bin 0 (Caffe's and torchvision's
// roi_pool semantics, which onnxruntime follows too).
#include <cmath>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class MaxRoiPoolKernel final : public Kernel {
 public:
  explicit MaxRoiPoolKernel(const KernelInfo& info)
      : pooled_(info.node.attr_ints("pooled_shape")),
        scale_(info.node.attr_float("spatial_scale", 1.0f)) {
    if (pooled_.size() != 2 || pooled_[0] < 1 || pooled_[1] < 1)
      info.fail(ErrorKind::InvalidModel, "pooled_shape must be two positive sizes");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<MaxRoiPoolKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &x = ctx.input(0), &rois = ctx.input(1);
    if (x.rank() != 4)
      ctx.fail(ctx.input_name(0), " must be [N, C, H, W], got ", shape_str(x.shape()));
    if (rois.rank() != 2 || rois.dim(1) != 5 || rois.dtype() != x.dtype()) {
      ctx.fail(ctx.input_name(1), " must be [regions, 5] (batch, x1, y1, x2, y2) of ",
               dtype_name(x.dtype()), ", got ", dtype_name(rois.dtype()), " ",
               shape_str(rois.shape()));
    }
    int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), R = rois.dim(0);
    int64_t ph = pooled_[0], pw = pooled_[1];
    Tensor& y = ctx.allocate(0, x.dtype(), {R, C, ph, pw});
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* r = rois.data<T>();
      for (int64_t k = 0; k < R; ++k) {
        double b = to_double(r[k * 5]);
        if (!(b >= 0 && b < static_cast<double>(N)))
          ctx.fail("region ", k, " names batch ", b, "; the input has ", N);
        int64_t n = static_cast<int64_t>(b);
        auto at = [&](int i) {
          return static_cast<int64_t>(std::round(to_double(r[k * 5 + i]) * scale_));
        };
        int64_t x1 = at(1), y1 = at(2), x2 = at(3), y2 = at(4);
        // Sizes count whole pixels, both ends included; a degenerate region is one pixel.
        double bin_h = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / ph;
        double bin_w = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / pw;
        for (int64_t c = 0; c < C; ++c) {
          const T* plane = x.data<T>() + (n * C + c) * H * W;
          T* out = y.data<T>() + ((k * C + c) * ph) * pw;
          for (int64_t i = 0; i < ph; ++i) {
            int64_t h0 =
                std::clamp<int64_t>(static_cast<int64_t>(std::floor(i * bin_h)) + y1, 0, H);
            int64_t h1 =
                std::clamp<int64_t>(static_cast<int64_t>(std::ceil((i + 1) * bin_h)) + y1, 0, H);
            for (int64_t j = 0; j < pw; ++j) {
              int64_t w0 =
                  std::clamp<int64_t>(static_cast<int64_t>(std::floor(j * bin_w)) + x1, 0, W);
              int64_t w1 =
                  std::clamp<int64_t>(static_cast<int64_t>(std::ceil((j + 1) * bin_w)) + x1, 0, W);
              bool empty = h1 <= h0 || w1 <= w0;
              double m = -INFINITY;
              for (int64_t h = h0; h < h1; ++h) {
                for (int64_t w = w0; w < w1; ++w) m = std::max(m, to_double(plane[h * W + w]));
              }
              out[i * pw + j] = from_double<T>(empty ? 0.0 : m);
            }
          }
        }
      }
    });
  }

 private:
  std::vector<int64_t> pooled_;
  double scale_;
};

constexpr KernelDef kDefs[] = {
    {"", "MaxRoiPool", 1, kLatest, &MaxRoiPoolKernel::make},
};

}  // namespace

void register_roi_pool_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
