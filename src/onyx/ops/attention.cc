// Attention (opsets 23-25): scaled dot-product attention over 3-D ([B, S, heads * D]) or 4-D
// ([B, heads, S, D]) inputs, with grouped-query heads, a boolean or additive mask, causal
// and sliding-window masking, soft capping, a key/value cache (past -> present) and the
// qk_matmul_output modes. Scores are accumulated in double, one (batch, head, query) row
// at a time; a row with no key left to attend gives zeros, as the spec requires.
#include <cmath>
#include <limits>
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

// A [B, H, S, D] view of a 3-D or 4-D input.
struct HeadView {
  const Tensor* t = nullptr;
  bool packed = false;  // 3-D: [B, S, H * D]
  int64_t B = 0, H = 0, S = 0, D = 0;
  int64_t at(int64_t b, int64_t h, int64_t s, int64_t d) const {
    return packed ? (b * S + s) * H * D + h * D + d : ((b * H + h) * S + s) * D + d;
  }
};

class AttentionKernel final : public Kernel {
 public:
  explicit AttentionKernel(const KernelInfo& info)
      : causal_(info.node.attr_int("is_causal", 0) != 0),
        q_heads_(info.node.attr_int("q_num_heads", 0)),
        kv_heads_(info.node.attr_int("kv_num_heads", 0)),
        mode_(info.node.attr_int("qk_matmul_output_mode", 0)),
        left_(info.node.attr_int("left_window_size", -1)),
        right_(info.node.attr_int("right_window_size", -1)),
        softcap_(info.node.attr_float("softcap", 0.0f)),
        has_scale_(info.node.find_attr("scale") != nullptr),
        scale_(info.node.attr_float("scale", 1.0f)) {
    if (mode_ < 0 || mode_ > 3) {
      info.fail(ErrorKind::InvalidModel, "qk_matmul_output_mode must be 0 to 3, not ", mode_);
    }
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<AttentionKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &q = ctx.input(0), &k = ctx.input(1), &v = ctx.input(2);
    // The kernel reads every float input as Q's type (T1 and T2 alike).
    for (size_t i : {1, 2, 4, 5}) {
      if (ctx.has_input(i) && ctx.input(i).dtype() != q.dtype()) {
        ctx.fail("input ", i, " is ", dtype_name(ctx.input(i).dtype()), " but Q is ",
                 dtype_name(q.dtype()), "; the key, value and cache inputs must share Q's type");
      }
    }
    HeadView Q = view(ctx, q, q_heads_, "Q"), K = view(ctx, k, kv_heads_, "K"),
             V = view(ctx, v, kv_heads_, "V");
    if (K.B != Q.B || V.B != Q.B || K.S != V.S || K.H != V.H || K.D != Q.D) {
      ctx.fail("Q ", shape_str(q.shape()), ", K ", shape_str(k.shape()), " and V ",
               shape_str(v.shape()), " do not fit together");
    }
    if (K.H == 0 ? Q.H != 0 : Q.H % K.H != 0) {
      ctx.fail(Q.H, " query heads cannot share ", K.H, " key/value heads");
    }
    bool past = ctx.has_input(4) && ctx.has_input(5);
    int64_t P = 0, Dv = V.D;
    if (past) {
      const Tensor &pk = ctx.input(4), &pv = ctx.input(5);
      P = pk.rank() == 4 ? pk.dim(2) : -1;
      if (pk.shape() != Shape{Q.B, K.H, P, K.D} || pv.shape() != Shape{Q.B, K.H, P, Dv}) {
        ctx.fail("past_key ", shape_str(pk.shape()), " and past_value ", shape_str(pv.shape()),
                 " must be [", Q.B, ",", K.H, ",past,", K.D, "] and [", Q.B, ",", K.H, ",past,", Dv,
                 "]");
      }
    }
    int64_t T = P + K.S;
    const Tensor* mask = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const Tensor* nonpad = ctx.has_input(6) ? &ctx.input(6) : nullptr;
    if (nonpad && nonpad->shape() != Shape{Q.B}) {
      ctx.fail("nonpad_kv_seqlen ", shape_str(nonpad->shape()), " must be [", Q.B, "]");
    }
    std::vector<int64_t> valid_keys = nonpad ? nonpad->to_int64s() : std::vector<int64_t>{};
    Shape y_shape = Q.packed ? Shape{Q.B, Q.S, Q.H * Dv} : Shape{Q.B, Q.H, Q.S, Dv};
    Tensor& y = ctx.allocate(0, q.dtype(), y_shape);
    Tensor* present_k =
        ctx.needs_output(1) ? &ctx.allocate(1, k.dtype(), {Q.B, K.H, T, K.D}) : nullptr;
    Tensor* present_v =
        ctx.needs_output(2) ? &ctx.allocate(2, v.dtype(), {Q.B, K.H, T, Dv}) : nullptr;
    Tensor* qk = ctx.needs_output(3) ? &ctx.allocate(3, q.dtype(), {Q.B, Q.H, Q.S, T}) : nullptr;
    // The mask broadcast to [B, Hq, Sq, Tm] (Tm <= T; keys past Tm are masked out).
    std::vector<int64_t> mstride(4, 0);
    int64_t Tm = T;
    if (mask) {
      if (mask->rank() < 1 || mask->rank() > 4) ctx.fail("attn_mask must have rank 1 to 4");
      Shape full{Q.B, Q.H, Q.S, mask->dim(mask->rank() - 1)};
      Tm = full[3];
      if (Tm > T) ctx.fail("attn_mask has ", Tm, " keys, more than the ", T, " there are");
      int64_t s = 1;
      for (int64_t d = mask->rank() - 1, o = 3; d >= 0; --d, --o) {
        if (mask->dim(d) != 1 && mask->dim(d) != full[static_cast<size_t>(o)]) {
          ctx.fail("attn_mask ", shape_str(mask->shape()), " does not broadcast to ",
                   shape_str(full));
        }
        mstride[static_cast<size_t>(o)] = mask->dim(d) == 1 ? 0 : s;
        s *= mask->dim(d);
      }
    }
    double scale = has_scale_ ? scale_ : 1.0 / std::sqrt(static_cast<double>(Q.D));
    visit_float(q.dtype(), [&](auto tag) {
      using T1 = decltype(tag);
      using C = compute_t<T1>;
      const T1 *qp = q.data<T1>(), *kp = k.data<T1>(), *vp = v.data<T1>();
      const T1* pk = past ? ctx.input(4).data<T1>() : nullptr;
      const T1* pv = past ? ctx.input(5).data<T1>() : nullptr;
      // Keys and values with the cache in front: [B, Hkv, T, D].
      auto key = [&](int64_t b, int64_t h, int64_t j, int64_t d) -> double {
        return j < P ? C(pk[((b * K.H + h) * P + j) * K.D + d]) : C(kp[K.at(b, h, j - P, d)]);
      };
      auto value = [&](int64_t b, int64_t h, int64_t j, int64_t d) -> double {
        return j < P ? C(pv[((b * K.H + h) * P + j) * Dv + d]) : C(vp[V.at(b, h, j - P, d)]);
      };
      if (present_k || present_v) {
        for (int64_t b = 0; b < Q.B; ++b)
          for (int64_t h = 0; h < K.H; ++h)
            for (int64_t j = 0; j < T; ++j) {
              for (int64_t d = 0; d < K.D && present_k; ++d)
                present_k->data<T1>()[((b * K.H + h) * T + j) * K.D + d] = T1(C(key(b, h, j, d)));
              for (int64_t d = 0; d < Dv && present_v; ++d)
                present_v->data<T1>()[((b * K.H + h) * T + j) * Dv + d] = T1(C(value(b, h, j, d)));
            }
      }
      const double inf = std::numeric_limits<double>::infinity();
      std::vector<double> s(static_cast<size_t>(T));
      std::vector<bool> allowed(static_cast<size_t>(T));
      for (int64_t b = 0; b < Q.B; ++b) {
        int64_t valid = nonpad ? valid_keys[static_cast<size_t>(b)] : T;
        // Valid keys before this query block: the cache, or the external cache's fill.
        int64_t offset = past ? P : nonpad ? valid - Q.S : 0;
        for (int64_t h = 0; h < Q.H; ++h) {
          int64_t kh = h / (Q.H / K.H);
          for (int64_t i = 0; i < Q.S; ++i) {
            bool any = false;
            for (int64_t j = 0; j < T; ++j) {
              double dot = 0;
              for (int64_t d = 0; d < Q.D; ++d) dot += C(qp[Q.at(b, h, i, d)]) * key(b, kh, j, d);
              double raw = dot * scale, capped = raw;
              if (softcap_ > 0) capped = softcap_ * std::tanh(raw / softcap_);
              int64_t pos = offset + i;
              bool ok = j < valid && j < Tm && (!causal_ || j <= pos);
              if (left_ >= 0) ok = ok && j >= pos - left_;
              if (right_ >= 0) ok = ok && j <= pos + right_;
              double biased = capped;
              if (mask && j < Tm) {
                int64_t m = b * mstride[0] + h * mstride[1] + i * mstride[2] + j * mstride[3];
                if (mask->dtype() == DType::Bool) {
                  ok = ok && mask->data<bool>()[m];
                } else {
                  biased += mask->element_as_double(m);
                }
              }
              if (!ok) biased = -inf;
              allowed[static_cast<size_t>(j)] = ok && biased > -inf;
              any = any || allowed[static_cast<size_t>(j)];
              s[static_cast<size_t>(j)] = biased;
              if (qk && mode_ < 3) {
                qk->data<T1>()[((b * Q.H + h) * Q.S + i) * T + j] = T1(C(mode_ == 0   ? raw
                                                                         : mode_ == 1 ? capped
                                                                                      : biased));
              }
            }
            // Softmax over the allowed keys; none allowed: a zero row.
            double mx = -inf, sum = 0;
            for (int64_t j = 0; j < T; ++j)
              if (allowed[static_cast<size_t>(j)]) mx = std::max(mx, s[static_cast<size_t>(j)]);
            for (int64_t j = 0; j < T; ++j) {
              double e = any && allowed[static_cast<size_t>(j)]
                             ? std::exp(s[static_cast<size_t>(j)] - mx)
                             : 0.0;
              s[static_cast<size_t>(j)] = e;
              sum += e;
            }
            for (int64_t j = 0; j < T; ++j) {
              if (sum > 0) s[static_cast<size_t>(j)] /= sum;
              if (qk && mode_ == 3)
                qk->data<T1>()[((b * Q.H + h) * Q.S + i) * T + j] =
                    T1(C(s[static_cast<size_t>(j)]));
            }
            for (int64_t d = 0; d < Dv; ++d) {
              double acc = 0;
              for (int64_t j = 0; j < T; ++j) acc += s[static_cast<size_t>(j)] * value(b, kh, j, d);
              int64_t at = Q.packed ? (b * Q.S + i) * Q.H * Dv + h * Dv + d
                                    : ((b * Q.H + h) * Q.S + i) * Dv + d;
              y.data<T1>()[at] = T1(C(acc));
            }
          }
        }
      }
    });
  }

 private:
  HeadView view(KernelContext& ctx, const Tensor& t, int64_t heads, const char* what) const {
    HeadView v;
    v.t = &t;
    if (t.rank() == 4) {
      v.B = t.dim(0), v.H = t.dim(1), v.S = t.dim(2), v.D = t.dim(3);
    } else if (t.rank() == 3) {
      if (heads <= 0) ctx.fail(what, " is 3-D, so q_num_heads and kv_num_heads are required");
      if (t.dim(2) % heads)
        ctx.fail(what, "'s hidden size ", t.dim(2), " is not a multiple of ", heads, " heads");
      v.packed = true;
      v.B = t.dim(0), v.S = t.dim(1), v.H = heads, v.D = t.dim(2) / heads;
    } else {
      ctx.fail(what, " must be 3-D or 4-D, not ", shape_str(t.shape()));
    }
    return v;
  }

  bool causal_;
  int64_t q_heads_, kv_heads_, mode_, left_, right_;
  double softcap_;
  bool has_scale_;
  double scale_;
};

constexpr KernelDef kDefs[] = {
    {"", "Attention", 23, kLatest, &AttentionKernel::make},
};

}  // namespace

void register_attention_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
