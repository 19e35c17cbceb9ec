// LinearAttention (opset 27): the recurrent form of linear attention. Each key/value head
// keeps a state S of [d_k, d_v]; per token t it is updated by one of
//   linear:      S = S + k v^T
//   gated:       S = exp(g) * S + k v^T
//   delta:       S = S + beta * k (v - S^T k)^T
//   gated_delta: S = exp(g) * S + beta * k (v - (exp(g) * S)^T k)^T
// (exp(g) scales the rows of S: one factor per key dimension, or one per head) and every
// query head sharing that state reads o = scale * q^T S. The tokens are run sequentially,
// as the spec defines the result; chunk_size only tunes chunk-parallel implementations.
// The state is kept in float (double for double inputs), as the function body keeps it in
// float32 whatever T is, and rounded to past_state's type (or T) only at the end. Each
// (batch, key/value head) owns its state, so the work is split over B * H_kv.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

enum class UpdateRule { Linear, Gated, Delta, GatedDelta };

// Input positions in the spec.
constexpr size_t kPastState = 3, kDecay = 4, kBeta = 5;

class LinearAttentionKernel final : public Kernel {
 public:
  explicit LinearAttentionKernel(const KernelInfo& info)
      : q_heads_(info.node.attr_int("q_num_heads", 0)),
        kv_heads_(info.node.attr_int("kv_num_heads", 0)),
        scale_(info.node.attr_float("scale", 0.0f)) {
    if (!info.node.has_attr("q_num_heads") || !info.node.has_attr("kv_num_heads"))
      info.fail(ErrorKind::InvalidModel, "q_num_heads and kv_num_heads are required");
    if (q_heads_ <= 0 || kv_heads_ <= 0 || q_heads_ % kv_heads_ != 0) {
      info.fail(ErrorKind::InvalidModel, "q_num_heads (", q_heads_,
                ") must be a positive multiple of kv_num_heads (", kv_heads_, ")");
    }
    std::string rule = info.node.attr_string("update_rule", "gated_delta");
    if (rule == "linear") {
      rule_ = UpdateRule::Linear;
    } else if (rule == "gated") {
      rule_ = UpdateRule::Gated;
    } else if (rule == "delta") {
      rule_ = UpdateRule::Delta;
    } else if (rule == "gated_delta") {
      rule_ = UpdateRule::GatedDelta;
    } else {
      info.fail(ErrorKind::InvalidModel,
                "update_rule must be 'linear', 'gated', 'delta' or 'gated_delta', not '", rule,
                "'");
    }
    // chunk_size is a performance hint for chunked kernels; the sequential recurrence here
    // gives the same result for any value, so it is not read.
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<LinearAttentionKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &q = ctx.input(0), &k = ctx.input(1), &v = ctx.input(2);
    for (size_t i = 0; i < 3; ++i) {
      if (ctx.input(i).rank() != 3) {
        ctx.fail(ctx.input_name(i), " has shape ", shape_str(ctx.input(i).shape()),
                 ", expected 3-D [B, T, heads * D]");
      }
    }
    int64_t B = q.dim(0), T = q.dim(1), Hq = q_heads_, Hkv = kv_heads_;
    if (q.dim(2) % Hq != 0 || v.dim(2) % Hkv != 0) {
      ctx.fail(ctx.input_name(0), " ", shape_str(q.shape()), " or ", ctx.input_name(2), " ",
               shape_str(v.shape()), " does not split into ", Hq, " and ", Hkv, " heads");
    }
    int64_t dk = q.dim(2) / Hq, dv = v.dim(2) / Hkv;
    if (k.shape() != Shape{B, T, Hkv * dk} || v.dim(0) != B || v.dim(1) != T) {
      ctx.fail(ctx.input_name(0), " ", shape_str(q.shape()), ", ", ctx.input_name(1), " ",
               shape_str(k.shape()), " and ", ctx.input_name(2), " ", shape_str(v.shape()),
               " do not fit together: key must be [", B, ", ", T, ", ", Hkv * dk, "]");
    }
    bool gated = rule_ == UpdateRule::Gated || rule_ == UpdateRule::GatedDelta;
    bool delta = rule_ == UpdateRule::Delta || rule_ == UpdateRule::GatedDelta;
    // decay: one log-factor per key dimension ([B, T, H_kv * d_k]) or per head ([B, T, H_kv]).
    int64_t decay_width = 0;
    if (gated) {
      if (!ctx.has_input(kDecay)) ctx.fail("update_rule 'gated' and 'gated_delta' need decay");
      const Tensor& g = ctx.input(kDecay);
      if (g.rank() != 3 || g.dim(0) != B || g.dim(1) != T ||
          (g.dim(2) != Hkv * dk && g.dim(2) != Hkv)) {
        ctx.fail(ctx.input_name(kDecay), " has shape ", shape_str(g.shape()), ", expected [", B,
                 ", ", T, ", ", Hkv * dk, "] or [", B, ", ", T, ", ", Hkv, "]");
      }
      decay_width = g.dim(2) == Hkv * dk ? dk : 1;
    }
    // beta: one rate per head ([B, T, H_kv]) or one for all heads ([B, T, 1]).
    int64_t beta_heads = 0;
    if (delta) {
      if (!ctx.has_input(kBeta)) ctx.fail("update_rule 'delta' and 'gated_delta' need beta");
      const Tensor& beta = ctx.input(kBeta);
      if (beta.rank() != 3 || beta.dim(0) != B || beta.dim(1) != T ||
          (beta.dim(2) != Hkv && beta.dim(2) != 1)) {
        ctx.fail(ctx.input_name(kBeta), " has shape ", shape_str(beta.shape()), ", expected [", B,
                 ", ", T, ", ", Hkv, "] or [", B, ", ", T, ", 1]");
      }
      beta_heads = beta.dim(2);
    }
    for (size_t i : {size_t{1}, size_t{2}, kDecay, kBeta}) {
      if (ctx.has_input(i) && ctx.input(i).dtype() != q.dtype())
        ctx.fail(ctx.input_name(i), " must have the element type of ", ctx.input_name(0));
    }
    Shape state_shape{B, Hkv, dk, dv};
    const Tensor* past = ctx.has_input(kPastState) ? &ctx.input(kPastState) : nullptr;
    if (past && past->shape() != state_shape) {
      ctx.fail(ctx.input_name(kPastState), " has shape ", shape_str(past->shape()), ", expected ",
               shape_str(state_shape));
    }
    // The state type S is past_state's; without one, the function body gives T.
    DType state_type = past ? past->dtype() : q.dtype();
    if (past && !is_floating(state_type))
      ctx.fail(ctx.input_name(kPastState), " must be a floating point tensor");
    Tensor& y = ctx.allocate(0, q.dtype(), {B, T, Hq * dv});
    Tensor* present = ctx.needs_output(1) ? &ctx.allocate(1, state_type, state_shape) : nullptr;
    double scale = scale_ != 0.0f ? scale_
                   : dk > 0       ? 1.0 / std::sqrt(static_cast<double>(dk))
                                  : 1.0;  // no key dimensions: every output is 0 anyway
    visit_float(q.dtype(), [&](auto tag) {
      using E = decltype(tag);
      using A = compute_t<E>;
      Tensor state_t = ctx.scratch(dtype_of<A>, state_shape);
      A* state = state_t.data<A>();
      read_state(past, state, state_t.numel());
      const E *qp = q.data<E>(), *kp = k.data<E>(), *vp = v.data<E>();
      const E* gp = gated ? ctx.input(kDecay).data<E>() : nullptr;
      const E* bp = delta ? ctx.input(kBeta).data<E>() : nullptr;
      E* yp = y.data<E>();
      int64_t group = Hq / Hkv;
      A sc = A(scale);
      ctx.pool().parallel_for(B * Hkv, 1, [&](int64_t begin, int64_t end) {
        std::vector<A> kt(static_cast<size_t>(dk)), qt(static_cast<size_t>(dk));
        std::vector<A> u(static_cast<size_t>(dv)), o(static_cast<size_t>(dv)),
            retrieved(static_cast<size_t>(dv));
        std::vector<A> fade(static_cast<size_t>(dk));
        for (int64_t bh = begin; bh < end; ++bh) {
          int64_t b = bh / Hkv, h = bh % Hkv;
          A* S = state + bh * dk * dv;
          for (int64_t t = 0; t < T; ++t) {
            int64_t tok = b * T + t;
            if (gated) {
              const E* g = gp + (tok * Hkv + h) * decay_width;
              for (int64_t i = 0; i < dk; ++i) fade[i] = std::exp(A(g[decay_width == 1 ? 0 : i]));
              for (int64_t i = 0; i < dk; ++i)
                for (int64_t j = 0; j < dv; ++j) S[i * dv + j] *= fade[i];
            }
            for (int64_t i = 0; i < dk; ++i) kt[i] = A(kp[(tok * Hkv + h) * dk + i]);
            const E* vt = vp + (tok * Hkv + h) * dv;
            for (int64_t j = 0; j < dv; ++j) u[j] = A(vt[j]);
            if (delta) {
              // u = beta * (v - S^T k), with S already decayed.
              A beta = A(bp[tok * beta_heads + (beta_heads == 1 ? 0 : h)]);
              std::fill(retrieved.begin(), retrieved.end(), A(0));
              for (int64_t i = 0; i < dk; ++i)
                for (int64_t j = 0; j < dv; ++j) retrieved[j] += S[i * dv + j] * kt[i];
              for (int64_t j = 0; j < dv; ++j) u[j] = beta * (u[j] - retrieved[j]);
            }
            for (int64_t i = 0; i < dk; ++i)
              for (int64_t j = 0; j < dv; ++j) S[i * dv + j] += kt[i] * u[j];
            // Query heads h * group .. h * group + group - 1 read this state.
            for (int64_t qh = h * group; qh < (h + 1) * group; ++qh) {
              for (int64_t i = 0; i < dk; ++i) qt[i] = A(qp[(tok * Hq + qh) * dk + i]);
              std::fill(o.begin(), o.end(), A(0));
              for (int64_t i = 0; i < dk; ++i)
                for (int64_t j = 0; j < dv; ++j) o[j] += qt[i] * S[i * dv + j];
              E* out = yp + (tok * Hq + qh) * dv;
              for (int64_t j = 0; j < dv; ++j) out[j] = E(sc * o[j]);
            }
          }
        }
      });
      if (present) write_state(state, *present, state_t.numel());
    });
  }

 private:
  // The working state from past_state (of any float type S), or zeros without one.
  template <typename A>
  static void read_state(const Tensor* past, A* state, int64_t n) {
    if (!past) {
      std::fill(state, state + n, A(0));
      return;
    }
    visit_float(past->dtype(), [&](auto tag) {
      using S = decltype(tag);
      const S* p = past->data<S>();
      for (int64_t i = 0; i < n; ++i) state[i] = A(compute_t<S>(p[i]));
    });
  }
  template <typename A>
  static void write_state(const A* state, Tensor& present, int64_t n) {
    visit_float(present.dtype(), [&](auto tag) {
      using S = decltype(tag);
      S* p = present.data<S>();
      for (int64_t i = 0; i < n; ++i) p[i] = S(compute_t<S>(state[i]));
    });
  }

  int64_t q_heads_, kv_heads_;
  float scale_;
  UpdateRule rule_ = UpdateRule::GatedDelta;
};

constexpr KernelDef kDefs[] = {
    {"", "LinearAttention", 27, kLatest, &LinearAttentionKernel::make},
};

}  // namespace

void register_linear_attention_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
