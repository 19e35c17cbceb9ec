// AffineGrid (opset 20): the sampling grid of a spatial transformer, for GridSample. Each
// output point is theta (N, r, r + 1) applied to a base position (x, y[, z], 1), x running
// along W, y along H, z along D, each spread evenly over [-1, 1]: with align_corners the
// ends are the corner pixels' centres, without it their outer edges.
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class AffineGridKernel final : public Kernel {
 public:
  explicit AffineGridKernel(const KernelInfo& info)
      : align_corners_(info.node.attr_int("align_corners", 0) != 0) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<AffineGridKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor& theta = ctx.input(0);
    const Tensor& size = ctx.input(1);
    if (size.dtype() != DType::Int64 || size.rank() != 1 ||
        (size.numel() != 4 && size.numel() != 5)) {
      ctx.fail(ctx.input_name(1), " is ", dtype_name(size.dtype()), " of shape ",
               shape_str(size.shape()), ", expected int64 (N, C, H, W) or (N, C, D, H, W)");
    }
    std::vector<int64_t> sz = size.to_vector<int64_t>();
    for (int64_t v : sz) {
      if (v < 0) ctx.fail(ctx.input_name(1), " holds a negative size ", v);
    }
    int64_t r = size.numel() - 2;  // 2-D or 3-D
    Shape want{sz[0], r, r + 1};
    if (theta.shape() != want) {
      ctx.fail(ctx.input_name(0), " has shape ", shape_str(theta.shape()), ", expected ",
               shape_str(want), " for size ", shape_str(sz));
    }
    if (!is_floating(theta.dtype())) {
      ctx.fail(ctx.input_name(0), " is ", dtype_name(theta.dtype()), ", expected a float type");
    }
    Shape out{sz[0]};
    out.insert(out.end(), sz.begin() + 2, sz.end());
    out.push_back(r);
    Tensor& grid = ctx.allocate(0, theta.dtype(), out);
    if (grid.numel() == 0) return;
    int64_t points = grid.numel() / (sz[0] * r);

    // base[k]: the coordinates along output component k (x, y, z), i.e. along size dim
    // 1 + r - k (W, H, D).
    std::vector<std::vector<double>> base;
    for (int64_t k = 0; k < r; ++k) base.push_back(coords(sz[static_cast<size_t>(r + 1 - k)]));
    visit_float(theta.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* th = theta.data<T>();
      std::vector<double> m(static_cast<size_t>(theta.numel()));
      for (size_t i = 0; i < m.size(); ++i) m[i] = to_double(th[i]);
      T* g = grid.data<T>();
      auto run = [&](int64_t b, int64_t e) {
        double pos[4];
        for (int64_t q = b; q < e; ++q) {
          // q = n * points + p, p walking W fastest: peel off x, then y, then z.
          int64_t rest = q % points;
          for (int64_t k = 0; k < r; ++k) {
            const std::vector<double>& c = base[static_cast<size_t>(k)];
            int64_t len = static_cast<int64_t>(c.size());
            pos[k] = c[static_cast<size_t>(rest % len)];
            rest /= len;
          }
          pos[r] = 1.0;  // homogeneous coordinate: picks up theta's translation column
          const double* row = m.data() + (q / points) * r * (r + 1);
          for (int64_t i = 0; i < r; ++i) {
            double v = 0;
            for (int64_t j = 0; j <= r; ++j) v += row[i * (r + 1) + j] * pos[j];
            g[q * r + i] = from_double<T>(v);
          }
        }
      };
      ctx.pool().parallel_for(sz[0] * points, 1 << 12, run);
    });
  }

 private:
  // n evenly spaced positions in [-1, 1], as the spec's function body makes them. A
  // single aligned position is -1 (step 0), as that body gives; PyTorch would give 0.
  std::vector<double> coords(int64_t n) const {
    double step = align_corners_ ? (n > 1 ? 2.0 / static_cast<double>(n - 1) : 0.0)
                                 : 2.0 / static_cast<double>(n);
    double start = align_corners_ ? -1.0 : -1.0 + step / 2;
    std::vector<double> c(static_cast<size_t>(n));
    for (size_t i = 0; i < c.size(); ++i) c[i] = start + step * static_cast<double>(i);
    return c;
  }

  bool align_corners_;
};

constexpr KernelDef kDefs[] = {
    {"", "AffineGrid", 20, kLatest, &AffineGridKernel::make},
};

}  // namespace

void register_affine_grid_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
