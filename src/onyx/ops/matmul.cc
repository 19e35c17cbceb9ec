// MatMul (NumPy semantics: 1-D promotion, broadcast batch dims), Gemm, MatMulInteger and
// QLinearMatMul. float32 runs through gemm_f32; other types through gemm_generic.
#include <cmath>
#include <limits>

#include "onyx/ops/fast_math.h"
#include "onyx/ops/gemm.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// Shapes of a batched matmul after NumPy's rules.
struct MatMulShape {
  int64_t M = 1, N = 1, K = 1;
  Shape batch;                        // broadcast batch dims
  Shape out;                          // final output shape
  std::vector<int64_t> a_off, b_off;  // element offset of each batch's A and B matrix
};

// Element offset of each batch's matrix in an operand whose batch dims `own` broadcast
// to `batch`; `mat` is the size of one matrix.
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& own, int64_t mat) {
  int64_t batches = shape_numel(batch);
  std::vector<int64_t> off(static_cast<size_t>(batches), 0);
  size_t r = batch.size();
  if (r == 0) return off;
  size_t pad = r - own.size();
  Shape st(r, 0), idx(r, 0);
  int64_t acc = mat;
  for (size_t i = r; i-- > pad;) {
    st[i] = own[i - pad] == 1 ? 0 : acc;
    acc *= own[i - pad];
  }
  for (int64_t k = 0; k < batches; ++k) {
    int64_t o = 0;
    for (size_t i = 0; i < r; ++i) o += idx[i] * st[i];
    off[static_cast<size_t>(k)] = o;
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
  return off;
}

MatMulShape matmul_shape(const KernelContext& ctx, const Shape& a0, const Shape& b0) {
  if (a0.empty() || b0.empty()) ctx.fail("MatMul inputs must have rank 1 or more");
  Shape a = a0, b = b0;
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulShape s;
  s.M = a[a.size() - 2];
  s.K = a.back();
  s.N = b.back();
  if (b[b.size() - 2] != s.K) {
    ctx.fail("inner dimensions differ: A is ", shape_str(a0), ", B is ", shape_str(b0));
  }
  Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  if (!broadcast_shapes(ab, bb, &s.batch)) {
    ctx.fail("batch dimensions of ", shape_str(a0), " and ", shape_str(b0), " do not broadcast");
  }
  s.out = s.batch;
  if (!a_vec) s.out.push_back(s.M);
  if (!b_vec) s.out.push_back(s.N);
  s.a_off = batch_offsets(s.batch, ab, s.M * s.K);
  s.b_off = batch_offsets(s.batch, bb, s.K * s.N);
  return s;
}

void matmul(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) ctx.fail("A and B must share an element type");
  MatMulShape s = matmul_shape(ctx, a.shape(), b.shape());
  Tensor& y = ctx.allocate(0, a.dtype(), s.out);
  int64_t batches = static_cast<int64_t>(s.a_off.size());
  if (a.dtype() == DType::Float32) {
    const float* A = a.data<float>();
    const float* B = b.data<float>();
    float* Y = y.data<float>();
    if (b.rank() <= 2 && a.rank() > 2) {
      // One B for every batch (a layer's weights): A's matrices sit one after another, so
      // they are one [batches * M, K] matrix and the product is one GEMM (197 rows for a
      // ViT's [197, 1, 768] activations, instead of 197 single-row products).
      gemm_f32(false, false, batches * s.M, s.N, s.K, 1.0f, A, s.K, B, s.N, 0.0f, Y, s.N,
               &ctx.pool());
      return;
    }
    // Many small matrices: spread the batch; few large ones: let gemm split each.
    bool batch_parallel =
        batches >= ctx.pool().size() && s.M * s.N * s.K < (1 << 20) &&
        2.0 * static_cast<double>(batches) * static_cast<double>(s.M * s.N * s.K) > 4e6;
    if (batch_parallel) {
      ctx.pool().parallel_for(batches, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t k = lo; k < hi; ++k) {
          gemm_f32(false, false, s.M, s.N, s.K, 1.0f, A + s.a_off[k], s.K, B + s.b_off[k], s.N,
                   0.0f, Y + k * s.M * s.N, s.N, nullptr);
        }
      });
    } else {
      for (int64_t k = 0; k < batches; ++k) {
        gemm_f32(false, false, s.M, s.N, s.K, 1.0f, A + s.a_off[k], s.K, B + s.b_off[k], s.N, 0.0f,
                 Y + k * s.M * s.N, s.N, &ctx.pool());
      }
    }
    return;
  }
  visit_numeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("MatMul does not take bool");
    } else if constexpr (std::is_same_v<C, T>) {
      for (int64_t k = 0; k < batches; ++k) {
        gemm_generic<T>(false, false, s.M, s.N, s.K, T(1), a.data<T>() + s.a_off[k], s.K,
                        b.data<T>() + s.b_off[k], s.N, T(0), y.data<T>() + k * s.M * s.N, s.N);
      }
    } else {  // 16-bit floats: compute in float
      std::vector<float> fa(static_cast<size_t>(s.M * s.K)), fb(static_cast<size_t>(s.K * s.N)),
          fy(static_cast<size_t>(s.M * s.N));
      for (int64_t k = 0; k < batches; ++k) {
        for (size_t i = 0; i < fa.size(); ++i) fa[i] = float(a.data<T>()[s.a_off[k] + i]);
        for (size_t i = 0; i < fb.size(); ++i) fb[i] = float(b.data<T>()[s.b_off[k] + i]);
        gemm_f32(false, false, s.M, s.N, s.K, 1.0f, fa.data(), s.K, fb.data(), s.N, 0.0f, fy.data(),
                 s.N, nullptr);
        for (size_t i = 0; i < fy.size(); ++i) y.data<T>()[k * s.M * s.N + i] = T(fy[i]);
      }
    }
  });
}

// The runtime's MatMul + Add (+ activation), made by runtime/fusion.h: Y = act(A B + bias)
// with B [K, N] ([N, K] with transB) and bias [N], float32; with a_rank, A must have that
// rank (2 for a fused Gemm, as Gemm requires). Every row of A's batch is one GEMM; each block of Y
// gets its bias and activation from the thread that computed it, while it is in cache.
class MatMulBiasKernel final : public Kernel {
 public:
  enum class Act { None, Relu, Gelu };
  explicit MatMulBiasKernel(const KernelInfo& info)
      : trans_b_(info.node.attr_int("transB", 0) != 0), a_rank_(info.node.attr_int("a_rank", 0)) {
    std::string a = info.node.attr_string("activation", "");
    if (a == "Relu") {
      act_ = Act::Relu;
    } else if (a == "Gelu") {
      act_ = Act::Gelu;
    } else if (!a.empty()) {
      fail(ErrorKind::InvalidModel, info.node.describe(), ": unknown activation '", a, "'");
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<MatMulBiasKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (a.dtype() != DType::Float32 || b.dtype() != DType::Float32 ||
        (bias && bias->dtype() != DType::Float32))
      ctx.fail("inputs must be float32");
    if (a_rank_ && a.rank() != a_rank_)
      ctx.fail("A must have rank ", a_rank_, ", got ", shape_str(a.shape()));
    int64_t K = b.rank() == 2 ? b.dim(trans_b_ ? 1 : 0) : -1;
    if (a.rank() < 1 || b.rank() != 2 || a.dim(a.rank() - 1) != K)
      ctx.fail("A ", shape_str(a.shape()), " and B ", shape_str(b.shape()), " do not multiply");
    int64_t N = b.dim(trans_b_ ? 0 : 1), M = K == 0 ? 0 : a.numel() / K;
    if (bias && bias->numel() != N) ctx.fail("the bias has ", bias->numel(), " values, not ", N);
    Shape out = a.shape();
    out.back() = N;
    if (a.rank() == 1) out = {N};
    Tensor& y = ctx.allocate(0, DType::Float32, out);
    float* Y = y.data<float>();
    const float* c = bias ? bias->data<float>() : nullptr;
    Act act = act_;
    GemmEpilogue epilogue = [=](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* row = Y + r * N;
        if (c) {
          for (int64_t j = c0; j < c1; ++j) row[j] += c[j];
        }
        if (act == Act::Relu) {
          for (int64_t j = c0; j < c1; ++j) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
        } else if (act == Act::Gelu) {
          for (int64_t j = c0; j < c1; ++j)
            row[j] = 0.5f * row[j] * (1.0f + erf_f32(row[j] * 0.70710678f));
        }
      }
    };
    gemm_f32(false, trans_b_, M, N, K, 1.0f, a.data<float>(), K, b.data<float>(), trans_b_ ? K : N,
             0.0f, Y, N, &ctx.pool(), &epilogue);
  }

 private:
  bool trans_b_;
  int64_t a_rank_;
  Act act_ = Act::None;
};

class GemmKernel final : public Kernel {
 public:
  explicit GemmKernel(const KernelInfo& info)
      : ta_(info.node.attr_int("transA", 0) != 0),
        tb_(info.node.attr_int("transB", 0) != 0),
        alpha_(info.node.attr_float("alpha", 1.0f)),
        beta_(info.node.attr_float("beta", 1.0f)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<GemmKernel>(i);
  }
  void compute(KernelContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.rank() != 2 || b.rank() != 2) {
      ctx.fail("A and B must be 2-D, got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
    }
    if (a.dtype() != b.dtype()) ctx.fail("A and B must share an element type");
    int64_t M = ta_ ? a.dim(1) : a.dim(0), K = ta_ ? a.dim(0) : a.dim(1);
    int64_t Kb = tb_ ? b.dim(1) : b.dim(0), N = tb_ ? b.dim(0) : b.dim(1);
    if (K != Kb)
      ctx.fail("inner dimensions differ: A is ", shape_str(a.shape()), ", B is ",
               shape_str(b.shape()));
    Tensor& y = ctx.allocate(0, a.dtype(), {M, N});
    bool has_c = ctx.has_input(2) && beta_ != 0.0f;
    visit_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      if constexpr (std::is_same_v<T, bool> || !std::is_same_v<T, C>) {
        ctx.fail("Gemm does not take ", dtype_name(a.dtype()));
      } else {
        T* Y = y.data<T>();
        if (has_c) {
          const Tensor& c = ctx.input(2);
          Shape bc;
          if (!broadcast_shapes({M, N}, c.shape(), &bc) || bc != Shape{M, N}) {
            ctx.fail(ctx.input_name(2), " of shape ", shape_str(c.shape()),
                     " does not broadcast to [", M, ",", N, "]");
          }
          Shape cs = c.shape();
          while (cs.size() < 2) cs.insert(cs.begin(), 1);
          const T* cp = c.data<T>();
          for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < N; ++j) {
              Y[i * N + j] = cp[(cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)];
            }
          }
        }
        T beta = has_c ? T(beta_) : T(0);
        if constexpr (std::is_same_v<T, float>) {
          gemm_f32(ta_, tb_, M, N, K, alpha_, a.data<float>(), a.dim(1), b.data<float>(), b.dim(1),
                   beta, Y, N, &ctx.pool());
        } else {
          gemm_generic<T>(ta_, tb_, M, N, K, T(alpha_), a.data<T>(), a.dim(1), b.data<T>(),
                          b.dim(1), beta, Y, N);
        }
      }
    });
  }

 private:
  bool ta_, tb_;
  float alpha_, beta_;
};

// Integer matmul with zero points: int32 accumulation. Zero points are scalars or per row
// (A, shape [M]) / per column (B, shape [N]).
void integer_matmul(KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* azp,
                    const Tensor* bzp, std::vector<int32_t>& acc, MatMulShape& s) {
  s = matmul_shape(ctx, a.shape(), b.shape());
  auto zp_at = [&](const Tensor* z, int64_t i) -> int32_t {
    if (!z) return 0;
    int64_t k = z->numel() == 1 ? 0 : i;
    if (k >= z->numel()) ctx.fail("zero point has ", z->numel(), " values, index ", k, " needed");
    return static_cast<int32_t>(z->dtype() == DType::Int8 ? z->data<int8_t>()[k]
                                                          : z->data<uint8_t>()[k]);
  };
  auto val = [](const Tensor& t, int64_t i) -> int32_t {
    return t.dtype() == DType::Int8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
  };
  for (const Tensor* t : {&a, &b}) {
    if (t->dtype() != DType::Int8 && t->dtype() != DType::UInt8)
      ctx.fail("inputs must be int8 or uint8");
  }
  int64_t batches = static_cast<int64_t>(s.a_off.size());
  acc.assign(static_cast<size_t>(batches * s.M * s.N), 0);
  for (int64_t k = 0; k < batches; ++k) {
    for (int64_t i = 0; i < s.M; ++i) {
      int32_t za = zp_at(azp, i);
      for (int64_t j = 0; j < s.N; ++j) {
        int32_t zb = zp_at(bzp, j), sum = 0;
        for (int64_t p = 0; p < s.K; ++p) {
          sum += (val(a, s.a_off[k] + i * s.K + p) - za) * (val(b, s.b_off[k] + p * s.N + j) - zb);
        }
        acc[(k * s.M + i) * s.N + j] = sum;
      }
    }
  }
}

void matmul_integer(KernelContext& ctx) {
  std::vector<int32_t> acc;
  MatMulShape s;
  integer_matmul(ctx, ctx.input(0), ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr,
                 ctx.has_input(3) ? &ctx.input(3) : nullptr, acc, s);
  Tensor& y = ctx.allocate(0, DType::Int32, s.out);
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
}

// QLinearMatMul: inputs a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
void qlinear_matmul(KernelContext& ctx) {
  std::vector<int32_t> acc;
  MatMulShape s;
  integer_matmul(ctx, ctx.input(0), ctx.input(3), &ctx.input(2), &ctx.input(5), acc, s);
  // The scales are float, or float16 from opset 21: read them as values, not as floats.
  for (size_t k : {1, 4, 6}) {
    if (!is_floating(ctx.input(k).dtype()) || ctx.input(k).numel() != 1)
      ctx.fail(ctx.input_name(k), " must be a floating point scalar");
  }
  float scale =
      static_cast<float>(ctx.input(1).element_as_double(0) * ctx.input(4).element_as_double(0) /
                         ctx.input(6).element_as_double(0));
  const Tensor& yzp = ctx.input(7);
  Tensor& y = ctx.allocate(0, yzp.dtype(), s.out);
  int32_t z = yzp.dtype() == DType::Int8 ? yzp.data<int8_t>()[0] : yzp.data<uint8_t>()[0];
  for (size_t i = 0; i < acc.size(); ++i) {
    float v = std::nearbyint(static_cast<float>(acc[i]) * scale) + static_cast<float>(z);
    if (yzp.dtype() == DType::Int8)
      y.data<int8_t>()[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
    else
      y.data<uint8_t>()[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
  }
}

constexpr KernelDef kDefs[] = {
    {"", "MatMul", 1, kLatest, &FnKernel<matmul>::make},
    {"", "Gemm", 1, kLatest, &GemmKernel::make},
    {"", "MatMulInteger", 10, kLatest, &FnKernel<matmul_integer>::make},
    {"", "QLinearMatMul", 10, kLatest, &FnKernel<qlinear_matmul>::make},
    {kRuntimeDomain, "MatMulBias", 1, kLatest, &MatMulBiasKernel::make},
};

}  // namespace

void register_matmul_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
