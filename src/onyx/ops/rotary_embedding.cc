// RotaryEmbedding (opset 23): rotates the first rotary_embedding_dim values of every head
// by the angle of its token's position, pairing value i with i + dim/2 (halves) or 2i with
// 2i + 1 (interleaved); the rest of the head is copied. X is [B, H, S, D] or, with the
// num_heads attribute, [B, S, H * D]. The caches are looked up by position_ids
// ([max_pos, dim/2]) or, without them, already laid out per token ([B, S, dim/2]).
// Work is split over the B * S tokens: each reads one cache row and writes all its heads.
#include <algorithm>
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

class RotaryEmbeddingKernel final : public Kernel {
 public:
  explicit RotaryEmbeddingKernel(const KernelInfo& info)
      : interleaved_(info.node.attr_int("interleaved", 0) != 0),
        rotary_dim_(info.node.attr_int("rotary_embedding_dim", 0)),
        num_heads_(info.node.attr_int("num_heads", 0)) {
    if (rotary_dim_ < 0)
      info.fail(ErrorKind::InvalidModel, "rotary_embedding_dim must not be negative");
    if (num_heads_ < 0) info.fail(ErrorKind::InvalidModel, "num_heads must not be negative");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<RotaryEmbeddingKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &x = ctx.input(0), &cos = ctx.input(1), &sin = ctx.input(2);
    int64_t B = 0, H = 0, S = 0, D = 0, s_stride = 0, h_stride = 0;
    if (x.rank() == 4) {  // [B, H, S, D]; num_heads, if given, is not needed
      B = x.dim(0), H = x.dim(1), S = x.dim(2), D = x.dim(3);
      s_stride = D, h_stride = S * D;
    } else if (x.rank() == 3) {  // [B, S, H * D]
      if (num_heads_ == 0) ctx.fail(ctx.input_name(0), " is 3-D, so num_heads is required");
      if (x.dim(2) % num_heads_ != 0) {
        ctx.fail(ctx.input_name(0), " has shape ", shape_str(x.shape()), ": hidden size ", x.dim(2),
                 " is not a multiple of num_heads ", num_heads_);
      }
      B = x.dim(0), S = x.dim(1), H = num_heads_, D = x.dim(2) / num_heads_;
      s_stride = H * D, h_stride = D;
    } else {
      ctx.fail(ctx.input_name(0), " must be 3-D or 4-D, got ", shape_str(x.shape()));
    }
    int64_t R = rotary_dim_ == 0 ? D : rotary_dim_;
    if (R > D || R % 2 != 0)
      ctx.fail("rotary_embedding_dim ", R, " must be even and at most the head size ", D);
    int64_t half = R / 2;
    for (size_t i : {size_t{1}, size_t{2}}) {
      if (ctx.input(i).dtype() != x.dtype())
        ctx.fail(ctx.input_name(i), " must have the element type of ", ctx.input_name(0));
    }
    if (cos.shape() != sin.shape()) {
      ctx.fail(ctx.input_name(1), " ", shape_str(cos.shape()), " and ", ctx.input_name(2), " ",
               shape_str(sin.shape()), " must have the same shape");
    }
    // Which cache row each token reads: rows[b * S + s].
    std::vector<int64_t> rows(static_cast<size_t>(B * S));
    bool has_pos = ctx.has_input(3);
    int64_t cache_rank = has_pos ? 2 : 3;
    // A cache wider than dim/2 is read from its start, as the function body's Slice does.
    if (cos.rank() != cache_rank || cos.dim(cache_rank - 1) < half) {
      ctx.fail(ctx.input_name(1), " has shape ", shape_str(cos.shape()), ", expected ",
               has_pos ? "[max_position_id + 1, " : cat("[", B, ", ", S, ", "), half, "]");
    }
    int64_t width = cos.dim(cache_rank - 1);
    if (has_pos) {
      const Tensor& pos = ctx.input(3);
      if (!is_integer(pos.dtype()) || pos.rank() != 2 || (pos.dim(0) != B && pos.dim(0) != 1) ||
          pos.dim(1) != S) {
        ctx.fail(ctx.input_name(3), " has shape ", shape_str(pos.shape()), ", expected integer [",
                 B, ", ", S, "]");
      }
      std::vector<int64_t> ids = pos.to_int64s();
      int64_t P = cos.dim(0), b_step = pos.dim(0) == 1 ? 0 : S;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s) {
          int64_t p = ids[static_cast<size_t>(b * b_step + s)];
          // Negative ids count from the end, as the Gather in the function body does.
          if (p < -P || p >= P) {
            ctx.fail(ctx.input_name(3), " holds position ", p, ", outside the cache's ", P,
                     " rows");
          }
          rows[static_cast<size_t>(b * S + s)] = p < 0 ? p + P : p;
        }
    } else {
      // Per-token caches; a batch of 1 is shared by every batch entry (NumPy broadcasting).
      if ((cos.dim(0) != B && cos.dim(0) != 1) || cos.dim(1) != S) {
        ctx.fail(ctx.input_name(1), " has shape ", shape_str(cos.shape()), ", expected [", B, ", ",
                 S, ", ", half, "] when position_ids is not given");
      }
      int64_t b_step = cos.dim(0) == 1 ? 0 : S;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s) rows[static_cast<size_t>(b * S + s)] = b * b_step + s;
    }
    Tensor& y = ctx.allocate(0, x.dtype(), x.shape());
    if (y.numel() == 0) return;
    bool inter = interleaved_;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = compute_t<T>;
      const T *xp = x.data<T>(), *cp = cos.data<T>(), *sp = sin.data<T>();
      T* yp = y.data<T>();
      int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H * D));
      ctx.pool().parallel_for(B * S, grain, [&](int64_t begin, int64_t end) {
        std::vector<C> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
        for (int64_t token = begin; token < end; ++token) {
          int64_t b = token / S, t = token % S;
          const T* crow = cp + rows[static_cast<size_t>(token)] * width;
          const T* srow = sp + rows[static_cast<size_t>(token)] * width;
          for (int64_t i = 0; i < half; ++i) c[i] = C(crow[i]), s[i] = C(srow[i]);
          int64_t base = x.rank() == 4 ? b * H * S * D + t * s_stride : token * s_stride;
          for (int64_t h = 0; h < H; ++h) {
            const T* in = xp + base + h * h_stride;
            T* out = yp + base + h * h_stride;
            // The pair (i1, i2) = (i, i + half) or (2i, 2i + 1) rotates as a complex number.
            int64_t step = inter ? 2 : 1, offset = inter ? 1 : half;
            for (int64_t i = 0; i < half; ++i) {
              int64_t i1 = i * step, i2 = i1 + offset;
              C x1 = C(in[i1]), x2 = C(in[i2]);
              out[i1] = T(c[i] * x1 - s[i] * x2);
              out[i2] = T(s[i] * x1 + c[i] * x2);
            }
            std::copy(in + R, in + D, out + R);
          }
        }
      });
    });
  }

 private:
  bool interleaved_;
  int64_t rotary_dim_, num_heads_;
};

constexpr KernelDef kDefs[] = {
    {"", "RotaryEmbedding", 23, kLatest, &RotaryEmbeddingKernel::make},
};

}  // namespace

void register_rotary_embedding_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
