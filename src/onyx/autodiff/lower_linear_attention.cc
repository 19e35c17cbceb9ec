// LinearAttention (opset 27) written in primitive ops: its recurrence unrolled over the
// tokens (Split, Reshape, Exp, Mul, MatMul, Sub, Add, Concat), so that their rules
// differentiate it with respect to query, key, value, past_state, decay and beta,
// backpropagating through the state as through an unrolled RNN. The steps follow the
// runtime's kernel (ops/linear_attention.cc): per token the state S [B, H_kv, d_k, d_v] is
// decayed by exp(decay) (gated rules), the delta rules write beta * (v - S^T k) where the
// others write v, S gains k times that row, and the query heads sharing S read
// scale * q^T S. The state is kept in T, as the kernel keeps it in T's compute type for
// float and double; past_state is cast to T and present_state back to past_state's type.
// The sequence length must be known statically, and the head sizes.
#include <cmath>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

// Input positions in the spec.
constexpr size_t kPastState = 3, kDecay = 4, kBeta = 5;

class LinearAttentionLowering : Rewriter {
 public:
  LinearAttentionLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types)
      : Rewriter(b, n, types, "lower") {}

  void run() {
    read_rule();
    t_ = elem(n_.input(0));
    if (t_ != DType::Float32 && t_ != DType::Float64)
      fail_here("query must be float or double with a known type");
    geometry();
    std::vector<std::string> qs = tokens(n_.input(0)), ks = tokens(n_.input(1)),
                             vs = tokens(n_.input(2));
    std::vector<std::string> gs = gated_ ? tokens(n_.input(kDecay)) : std::vector<std::string>{};
    std::vector<std::string> bs = delta_ ? tokens(n_.input(kBeta)) : std::vector<std::string>{};
    // No past_state: the state starts at zeros, which the first token's steps skip (their
    // decay and retrieval give zeros), so no [B, ...] zeros need the batch size.
    std::string state;
    DType state_type = t_;
    if (n_.has_input(kPastState)) {
      state = n_.input(kPastState);
      state_type = elem(state);
      if (state_type != t_) state = b_.op("Cast", {state}, {attr("to", int64_t(t_))});
    }
    std::string scale = c(scale_value());
    std::vector<std::string> ys;
    for (int64_t t = 0; t < steps_; ++t) {
      size_t i = static_cast<size_t>(t);
      std::string k_col = heads(ks[i], hkv_, dk_, 1), v_row = heads(vs[i], hkv_, 1, dv_);
      if (gated_ && !state.empty()) {
        // exp(decay) scales the state's rows: [B, H_kv, d_k or 1, 1].
        std::string fade = b_.op("Exp", {heads(gs[i], hkv_, decay_per_key_ ? dk_ : 1, 1)});
        state = b_.op("Mul", {state, fade});
      }
      std::string write = v_row;  // [B, H_kv, 1, d_v]
      if (delta_) {
        std::string beta = heads(bs[i], beta_heads_, 1, 1);
        if (!state.empty()) {
          std::string retrieved = b_.op("MatMul", {heads(ks[i], hkv_, 1, dk_), state});
          write = b_.op("Sub", {v_row, retrieved});
        }
        write = b_.op("Mul", {beta, write});
      }
      std::string outer = b_.op("Mul", {k_col, write});  // k u^T: [B, H_kv, d_k, d_v]
      state = state.empty() ? outer : b_.op("Add", {state, outer});
      // The query heads of KV head h are h * group .. h * group + group - 1: [B, H_kv,
      // group, d_k] against the state gives [B, H_kv, group, d_v], packed as the output is.
      std::string read = b_.op("MatMul", {heads(qs[i], hkv_, hq_ / hkv_, dk_), state});
      read = b_.op("Mul", {read, scale});
      ys.push_back(b_.op("Reshape", {read, ints({0, 1, hq_ * dv_})}));
    }
    alias(ys.size() == 1 ? ys[0] : b_.op("Concat", ys, {attr("axis", int64_t{1})}),
          n_.outputs.at(0));
    if (n_.outputs.size() > 1 && !n_.outputs[1].empty()) {
      if (state_type != t_) state = b_.op("Cast", {state}, {attr("to", int64_t(state_type))});
      alias(state, n_.outputs[1]);
    }
  }

 private:
  void read_rule() {
    std::string rule = n_.attr_string("update_rule", "gated_delta");
    if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
      fail_here("update_rule '", rule, "' is not one of linear, gated, delta, gated_delta");
    gated_ = rule == "gated" || rule == "gated_delta";
    delta_ = rule == "delta" || rule == "gated_delta";
    if (gated_ && !n_.has_input(kDecay)) fail_here("update_rule '", rule, "' needs decay");
    if (delta_ && !n_.has_input(kBeta)) fail_here("update_rule '", rule, "' needs beta");
  }

  // The heads and sizes, as far as the kernel checks them; the sizes but the batch must be
  // known statically (the unrolling and the reshapes use them).
  void geometry() {
    hq_ = n_.attr_int("q_num_heads", 0);
    hkv_ = n_.attr_int("kv_num_heads", 0);
    if (hq_ <= 0 || hkv_ <= 0 || hq_ % hkv_ != 0) {
      fail_here("q_num_heads (", hq_, ") must be a positive multiple of kv_num_heads (", hkv_, ")");
    }
    auto qd = packed(0, "query"), kd = packed(1, "key"), vd = packed(2, "value");
    steps_ = qd[1];
    if (steps_ <= 0) fail_here("the sequence length of query must be known statically and > 0");
    if (qd[2] < 0 || vd[2] < 0 || qd[2] % hq_ != 0 || vd[2] % hkv_ != 0) {
      fail_here("query ", shape_str(qd), " and value ", shape_str(vd), " must split into ", hq_,
                " and ", hkv_, " heads of known sizes");
    }
    dk_ = qd[2] / hq_;
    dv_ = vd[2] / hkv_;
    // (Reshape would read a 0 size as "copy"; empty heads have nothing to differentiate.)
    if (dk_ == 0 || dv_ == 0) fail_here("heads of size 0 are not supported");
    if (!fits(kd, {qd[0], steps_, hkv_ * dk_}) || !fits(vd, {qd[0], steps_, hkv_ * dv_})) {
      fail_here("query ", shape_str(qd), ", key ", shape_str(kd), " and value ", shape_str(vd),
                " do not fit together: key must be [B, ", steps_, ", ", hkv_ * dk_, "]");
    }
    for (size_t i : {size_t{1}, size_t{2}, kDecay, kBeta}) {
      if (n_.has_input(i) && elem(n_.input(i)) != t_)
        fail_here("input ", i, " '", n_.input(i), "' must have query's element type");
    }
    if (gated_) {
      auto gd = packed(kDecay, "decay");
      if (!fits(gd, {qd[0], steps_, -1}) || (gd[2] != hkv_ * dk_ && gd[2] != hkv_)) {
        fail_here("decay has shape ", shape_str(gd), ", expected [B, ", steps_, ", ", hkv_ * dk_,
                  "] or [B, ", steps_, ", ", hkv_, "], its last size known");
      }
      decay_per_key_ = gd[2] == hkv_ * dk_;  // the kernel's choice when d_k is 1
    }
    if (delta_) {
      auto bd = packed(kBeta, "beta");
      if (!fits(bd, {qd[0], steps_, -1}) || (bd[2] != hkv_ && bd[2] != 1)) {
        fail_here("beta has shape ", shape_str(bd), ", expected [B, ", steps_, ", ", hkv_,
                  "] or [B, ", steps_, ", 1], its last size known");
      }
      beta_heads_ = bd[2];
    }
    if (n_.has_input(kPastState)) {
      auto pd = dims_of(n_.input(kPastState));
      if (!pd || !fits(*pd, {qd[0], hkv_, dk_, dv_}) || !is_floating(elem(n_.input(kPastState))))
        fail_here("past_state must be a float tensor of shape [B, ", hkv_, ", ", dk_, ", ", dv_,
                  "]");
    }
  }

  // The dims of 3-D input i (-1 where unknown).
  std::vector<int64_t> packed(size_t i, const char* what) {
    auto d = dims_of(n_.input(i));
    if (!d || d->size() != 3) fail_here(what, " must be 3-D [B, T, heads * size]");
    return *d;
  }
  // Whether `have` is `want` where both are known.
  static bool fits(const std::vector<int64_t>& have, const std::vector<int64_t>& want) {
    if (have.size() != want.size()) return false;
    for (size_t a = 0; a < have.size(); ++a) {
      if (have[a] >= 0 && want[a] >= 0 && have[a] != want[a]) return false;
    }
    return true;
  }

  // A [B, T, X] input as its tokens [B, 1, X]: Split, whose rule concatenates the pieces'
  // gradients (a Gather per token would scatter into the whole input each time).
  std::vector<std::string> tokens(const std::string& x) {
    if (steps_ == 1) return {x};
    return b_.add("Split", {x, ints(std::vector<int64_t>(static_cast<size_t>(steps_), 1))},
                  {attr("axis", int64_t{1})}, static_cast<size_t>(steps_));
  }
  // A token [B, 1, H * a * b] as [B, H, a, b].
  std::string heads(const std::string& token, int64_t h, int64_t a, int64_t b) {
    return b_.op("Reshape", {token, ints({0, h, a, b})});
  }

  // The kernel's: the attribute when not 0, else 1 / sqrt(d_k).
  double scale_value() const {
    double scale = n_.attr_float("scale", 0.0f);
    return scale != 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(dk_));
  }

  std::string c(double v) { return scalar(v, t_); }

  DType t_ = DType::Undefined;
  bool gated_ = false, delta_ = false, decay_per_key_ = false;
  int64_t hq_ = 0, hkv_ = 0, steps_ = 0, dk_ = 0, dv_ = 0, beta_heads_ = 1;
};

}  // namespace

void emit_lowered_linear_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                                   int64_t opset) {
  LinearAttentionLowering(b, n, types).run();
}

}  // namespace onyx::autodiff
