// ai.onnx.preview.FlexAttention written in primitive ops (MatMul, Softmax, Where, Expand)
// with its score_mod and prob_mod subgraphs inlined, so that their rules differentiate it
// with respect to Q, K and V (and whatever the subgraphs read from the enclosing graph).
// The steps follow the runtime's kernel (ops/flex_attention.cc): Q K^T times the scale,
// score_mod, a softmax over the keys in which a row with no key left (all -inf) gives zeros,
// prob_mod, then the values; the key/value heads are shared over groups of query heads.
// The scores and probabilities are in the softmax precision P (the input's type for float
// and double unless softmax_precision says otherwise), the matrix products in the wider of
// T and P, as the kernel accumulates in double. The heads and head sizes must be known
// statically; the batch and the sequence lengths need not be.
#include <cmath>
#include <limits>

#include "onyx/autodiff/needs_opset.h"
#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class FlexAttentionLowering : Rewriter {
 public:
  FlexAttentionLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset)
      : Rewriter(b, n, types, "lower"), opset_(opset) {}

  void run() {
    require_opset(opset_, 9, n_.describe() + ": cannot lower for differentiation", "Where");
    t_ = elem(n_.input(0));
    if (t_ != DType::Float32 && t_ != DType::Float64)
      fail_here("Q must be float or double with a known type");
    p_ = precision();
    wide_ = t_ == DType::Float64 || p_ == DType::Float64 ? DType::Float64 : DType::Float32;
    geometry();
    const ir::Graph* score_mod = modifier("score_mod");
    const ir::Graph* prob_mod = modifier("prob_mod");
    std::string prefix = n_.name.empty() ? n_.op_type : n_.name;

    std::string keys = share_heads(n_.input(1), hkv_, hq_, e_),
                values = share_heads(n_.input(2), hkv_, hq_, ev_);
    std::string kt = b_.op("Transpose", {cast(keys, t_, wide_)},
                           {attr("perm", std::vector<int64_t>{0, 1, 3, 2})});
    double scale = n_.find_attr("scale") ? n_.attr_float("scale", 1.0f)
                                         : 1.0 / std::sqrt(static_cast<double>(e_));
    std::string scores = b_.op("MatMul", {cast(n_.input(0), t_, wide_), kt});
    scores = cast(b_.op("Mul", {scores, scalar(scale, wide_)}), wide_, p_);  // [B, Hq, L, S]
    std::string probs;
    if (score_mod) {
      scores = inline_graph(b_, *score_mod, {scores}, prefix + "/score_mod/").at(0);
      // score_mod masks keys with -inf. The lowest finite value stands in for them, and the
      // keep mask zeroes their probabilities afterwards, so that a row with none left gives
      // zeros as the kernel's does, not NaN (and no gradient flows to the masked scores).
      std::string keep =
          b_.op("Greater", {scores, scalar(-std::numeric_limits<double>::infinity(), p_)});
      double lowest = p_ == DType::Float64 ? std::numeric_limits<double>::lowest()
                                           : std::numeric_limits<float>::lowest();
      std::string masked = b_.op("Where", {keep, scores, scalar(lowest, p_)});
      probs = b_.op("Mul", {b_.op("Softmax", {masked}, {attr("axis", int64_t{-1})}),
                            b_.op("Cast", {keep}, {attr("to", int64_t(p_))})});
    } else {
      probs = b_.op("Softmax", {scores}, {attr("axis", int64_t{-1})});  // Q K^T is finite
    }
    if (prob_mod) probs = inline_graph(b_, *prob_mod, {probs}, prefix + "/prob_mod/").at(0);
    std::string y = b_.op("MatMul", {cast(probs, p_, wide_), cast(values, t_, wide_)});
    alias(cast(y, wide_, t_), n_.outputs.at(0));  // [B, Hq, L, Ev]
  }

 private:
  // The kernel's: softmax_precision when set (float or double here), else double for
  // double inputs and float for the others.
  DType precision() const {
    int64_t code = n_.attr_int("softmax_precision", 0);
    if (code == 0) return t_ == DType::Float64 ? DType::Float64 : DType::Float32;
    DType p = DType::Undefined;
    if (!dtype_from_int(static_cast<int32_t>(code), &p) ||
        (p != DType::Float32 && p != DType::Float64)) {
      fail_here("softmax_precision ", code, " is not supported (float or double only)");
    }
    return p;
  }

  // Q [B, Hq, L, E], K [B, Hkv, S, E], V [B, Hkv, S, Ev]: the heads and head sizes known.
  void geometry() {
    auto qd = dims_of(n_.input(0)), kd = dims_of(n_.input(1)), vd = dims_of(n_.input(2));
    if (!qd || !kd || !vd || qd->size() != 4 || kd->size() != 4 || vd->size() != 4)
      fail_here("Q, K and V must be 4-D with known ranks");
    hq_ = (*qd)[1], hkv_ = (*kd)[1], e_ = (*qd)[3], ev_ = (*vd)[3];
    if (hq_ < 1 || hkv_ < 1 || e_ < 1 || ev_ < 1)
      fail_here("the heads and head sizes of Q, K and V must be known statically");
    auto differ = [](int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; };
    if (hq_ % hkv_ != 0 || differ((*kd)[3], e_) || differ((*vd)[1], hkv_) ||
        differ((*vd)[2], (*kd)[2]) || differ((*kd)[0], (*qd)[0]) || differ((*vd)[0], (*qd)[0]) ||
        elem(n_.input(1)) != t_ || elem(n_.input(2)) != t_) {
      fail_here("Q ", shape_str(*qd), ", K ", shape_str(*kd), " and V ", shape_str(*vd),
                " do not fit together (Q's heads a multiple of K's, one element type)");
    }
  }

  // Attribute `name`'s graph (one input, one output), or null when the node has none.
  const ir::Graph* modifier(const char* name) const {
    const ir::Attribute* a = n_.find_attr(name);
    if (!a) return nullptr;
    if (a->type != ir::AttrType::Graph || !a->g) fail_here("attribute '", name, "' is not a graph");
    if (a->g->inputs.size() != 1 || a->g->outputs.size() != 1)
      fail_here("the ", name, " graph must have one input and one output");
    return a->g.get();
  }

  // `x` of type `from` as type `to`.
  std::string cast(const std::string& x, DType from, DType to) {
    return from == to ? x : b_.op("Cast", {x}, {attr("to", int64_t(to))});
  }

  int64_t opset_;
  DType t_ = DType::Undefined, p_ = DType::Undefined, wide_ = DType::Undefined;
  int64_t hq_ = 0, hkv_ = 0, e_ = 0, ev_ = 0;
};

}  // namespace

void emit_lowered_flex_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                                 int64_t opset) {
  FlexAttentionLowering(b, n, types, opset).run();
}

}  // namespace onyx::autodiff
