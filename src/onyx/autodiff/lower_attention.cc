// Attention (opset 23) written in primitive ops (MatMul, Softmax, Tanh, Where, Concat,
// Expand), so that their rules differentiate it with respect to Q, K, V, the additive mask
// and the caches. The steps follow the runtime's kernel (ops/attention.cc): scores scaled,
// soft-capped, masked (attn_mask, is_causal, the sliding window), a softmax in which a row
// with no key left gives zeros, then the values. Sizes other than the batch must be known
// statically; nonpad_kv_seqlen is not lowered.
#include <limits>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class AttentionLowering : Rewriter {
 public:
  AttentionLowering(ir::GraphBuilder& b, const ir::Node& n, const Types& types)
      : Rewriter(b, n, types, "lower") {}

  void run() {
    if (n_.has_input(6)) fail_here("nonpad_kv_seqlen is not supported");
    t_ = elem(n_.input(0));
    if (t_ != DType::Float32 && t_ != DType::Float64)
      fail_here("Q must be float or double with a known type");
    int64_t q_heads = n_.attr_int("q_num_heads", 0), kv_heads = n_.attr_int("kv_num_heads", 0);
    Heads q = heads(n_.input(0), q_heads, "Q"), k = heads(n_.input(1), kv_heads, "K"),
          v = heads(n_.input(2), kv_heads, "V");
    if (q.H % k.H != 0 || k.H != v.H || k.D != q.D || k.S != v.S)
      fail_here("Q, K and V do not fit together");
    std::string keys = k.value, values = v.value;
    int64_t past = 0;
    if (n_.has_input(4) != n_.has_input(5)) fail_here("past_key and past_value go together");
    if (n_.has_input(4)) {
      auto pd = dims_of(n_.input(4));
      if (!pd || pd->size() != 4 || (*pd)[2] < 0) fail_here("past_key's length must be known");
      past = (*pd)[2];
      keys = b_.op("Concat", {n_.input(4), keys}, {attr("axis", int64_t{2})});
      values = b_.op("Concat", {n_.input(5), values}, {attr("axis", int64_t{2})});
    }
    if (n_.outputs.size() > 1 && !n_.outputs[1].empty()) alias(keys, n_.outputs[1]);
    if (n_.outputs.size() > 2 && !n_.outputs[2].empty()) alias(values, n_.outputs[2]);
    int64_t total = past + k.S;
    keys = share_heads(keys, k.H, q.H, k.D);  // grouped-query heads
    values = share_heads(values, k.H, q.H, v.D);

    double scale = n_.find_attr("scale") ? n_.attr_float("scale", 1.0f)
                                         : 1.0 / std::sqrt(static_cast<double>(q.D));
    std::string kt = b_.op("Transpose", {keys}, {attr("perm", std::vector<int64_t>{0, 1, 3, 2})});
    std::string raw = b_.op("Mul", {b_.op("MatMul", {q.value, kt}), c(scale)});
    std::string capped = raw;
    double softcap = n_.attr_float("softcap", 0.0f);
    if (softcap > 0) {
      capped = b_.op("Mul", {b_.op("Tanh", {b_.op("Div", {raw, c(softcap)})}), c(softcap)});
    }
    std::string biased = capped, keep = structural_keep(q.S, total, past);
    if (n_.has_input(3)) {
      auto md = dims_of(n_.input(3));
      if (!md || md->empty() || md->back() != total) {
        fail_here("attn_mask must cover all ", total, " keys, with its sizes known");
      }
      if (elem(n_.input(3)) == DType::Bool) {
        keep = keep.empty() ? n_.input(3) : b_.op("And", {keep, n_.input(3)});
      } else {
        biased = b_.op("Add", {capped, n_.input(3)});
      }
    }
    // -inf scores (an additive mask's) are masked keys too; the lowest finite value stands in
    // for them so a row with none left gives zeros, as the kernel's does, not NaN.
    double lowest = t_ == DType::Float64 ? std::numeric_limits<double>::lowest()
                                         : std::numeric_limits<float>::lowest();
    std::string finite = b_.op("Greater", {biased, c(lowest)});
    keep = keep.empty() ? finite : b_.op("And", {keep, finite});
    std::string scores = b_.op("Where", {keep, biased, c(lowest)});
    std::string probs = b_.op("Mul", {b_.op("Softmax", {scores}, {attr("axis", int64_t{-1})}),
                                      b_.op("Cast", {keep}, {attr("to", int64_t(t_))})});
    if (n_.outputs.size() > 3 && !n_.outputs[3].empty()) {
      int64_t mode = n_.attr_int("qk_matmul_output_mode", 0);
      std::string masked =
          b_.op("Where", {keep, biased, c(-std::numeric_limits<double>::infinity())});
      alias(mode == 0 ? raw : mode == 1 ? capped : mode == 2 ? masked : probs, n_.outputs[3]);
    }
    std::string y = b_.op("MatMul", {probs, values});  // [B, Hq, Sq, Dv]
    if (q.packed) {
      y = b_.op("Transpose", {y}, {attr("perm", std::vector<int64_t>{0, 2, 1, 3})});
      y = b_.op("Reshape", {y, ints({0, 0, q.H * v.D})});
    }
    alias(y, n_.outputs[0]);
  }

 private:
  struct Heads {
    std::string value;  // [B, H, S, D]
    bool packed = false;
    int64_t H = 0, S = 0, D = 0;
  };

  // A 3-D [B, S, H * D] input as [B, H, S, D]; 4-D as it is. H, S and D must be known.
  Heads heads(const std::string& x, int64_t heads_attr, const char* what) {
    auto d = dims_of(x);
    if (!d || (d->size() != 3 && d->size() != 4)) fail_here(what, " must be 3-D or 4-D");
    Heads h;
    if (d->size() == 4) {
      h = {x, false, (*d)[1], (*d)[2], (*d)[3]};
    } else {
      if (heads_attr <= 0 || (*d)[2] < 0 || (*d)[2] % heads_attr) {
        fail_here(what, " is 3-D: q_num_heads and kv_num_heads must divide its hidden size");
      }
      h = {"", true, heads_attr, (*d)[1], (*d)[2] / heads_attr};
      std::string split = b_.op("Reshape", {x, ints({0, 0, h.H, h.D})});
      h.value = b_.op("Transpose", {split}, {attr("perm", std::vector<int64_t>{0, 2, 1, 3})});
    }
    if (h.H < 1 || h.S < 0 || h.D < 1) fail_here(what, "'s heads, length and size must be known");
    return h;
  }

  // is_causal and the sliding window as a constant [Sq, T] bool ("" when neither is set).
  std::string structural_keep(int64_t sq, int64_t total, int64_t offset) {
    bool causal = n_.attr_int("is_causal", 0) != 0;
    int64_t left = n_.attr_int("left_window_size", -1),
            right = n_.attr_int("right_window_size", -1);
    if (!causal && left < 0 && right < 0) return "";
    Tensor keep = Tensor::empty(DType::Bool, {sq, total});
    for (int64_t i = 0; i < sq; ++i) {
      for (int64_t j = 0; j < total; ++j) {
        int64_t pos = offset + i;
        bool ok = !causal || j <= pos;
        if (left >= 0) ok = ok && j >= pos - left;
        if (right >= 0) ok = ok && j <= pos + right;
        keep.data<bool>()[i * total + j] = ok;
      }
    }
    return b_.constant("causal", keep);
  }

  std::string c(double v) { return scalar(v, t_); }

  DType t_ = DType::Undefined;
};

}  // namespace

void emit_lowered_attention(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                            int64_t opset) {
  AttentionLowering(b, n, types).run();
}

}  // namespace onyx::autodiff
