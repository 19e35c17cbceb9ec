// The lowerings of the attention family against finite differences in float64 (see
// gradcheck.h): LinearAttention, its recurrence unrolled over the tokens
// (lower_linear_attention.cc), and ai.onnx.preview.FlexAttention, MatMul and Softmax with its
// score_mod and prob_mod inlined (lower_flex_attention.cc). The checker also asserts that the
// lowered forward gives the kernels' values.
#include <limits>
#include <memory>

#include "gradcheck.h"

namespace onyx {
namespace {

using ir::attr;
using testing::check;
using testing::GradChecker;
using testing::GradCheckOptions;
using testing::GradInput;
using testing::no_grad;
using testing::rnd;

const GradInput kNone{Tensor(), false, false};  // an optional input left out

std::vector<ir::Attribute> linear_attrs(int64_t q_heads, int64_t kv_heads, const char* rule) {
  return {attr("q_num_heads", q_heads), attr("kv_num_heads", kv_heads), attr("update_rule", rule)};
}

// LinearAttention (opset 27) with respect to query, key, value, past_state, decay and beta,
// present_state seeded too: every update rule, without and with past_state (B 2, T 3, two
// heads of d_k 3 and d_v 2; decay per key dimension, in log space).
TEST(GradCheckAttentionFamily, LinearAttentionRules) {
  GradCheckOptions o{.num_outputs = 2, .opset = 27};
  for (const char* rule : {"linear", "gated", "delta", "gated_delta"}) {
    std::string r = rule;
    bool gated = r == "gated" || r == "gated_delta", delta = r == "delta" || r == "gated_delta";
    for (bool past : {false, true}) {
      SCOPED_TRACE(r + (past ? " with past_state" : ""));
      check("LinearAttention",
            {rnd({2, 3, 6}, -1, 1, 1), rnd({2, 3, 6}, -1, 1, 2), rnd({2, 3, 4}, -1, 1, 3),
             past ? rnd({2, 2, 3, 2}, -1, 1, 4) : kNone, gated ? rnd({2, 3, 6}, -1, 0, 5) : kNone,
             delta ? rnd({2, 3, 2}, 0.1, 0.9, 6) : kNone},
            linear_attrs(2, 2, rule), o);
    }
  }
}

// Shared key/value heads: GQA (4 query heads on 2) with a per-head decay, past_state and an
// explicit scale; MQA (3 on 1) with a beta shared by the heads ([B, T, 1]); and a single
// token (a decode step, nothing to split) with past_state.
TEST(GradCheckAttentionFamily, LinearAttentionSharedHeads) {
  GradCheckOptions o{.num_outputs = 2, .opset = 27};
  std::vector<ir::Attribute> gqa = linear_attrs(4, 2, "gated_delta");
  gqa.push_back(attr("scale", 0.6f));
  check("LinearAttention",
        {rnd({1, 3, 12}, -1, 1, 11), rnd({1, 3, 6}, -1, 1, 12), rnd({1, 3, 4}, -1, 1, 13),
         rnd({1, 2, 3, 2}, -1, 1, 14), rnd({1, 3, 2}, -1, 0, 15), rnd({1, 3, 2}, 0.1, 0.9, 16)},
        gqa, o);
  check("LinearAttention",
        {rnd({2, 2, 6}, -1, 1, 21), rnd({2, 2, 2}, -1, 1, 22), rnd({2, 2, 3}, -1, 1, 23), kNone,
         rnd({2, 2, 2}, -1, 0, 24), rnd({2, 2, 1}, 0.1, 0.9, 25)},
        linear_attrs(3, 1, "gated_delta"), o);
  check("LinearAttention",
        {rnd({2, 1, 4}, -1, 1, 31), rnd({2, 1, 4}, -1, 1, 32), rnd({2, 1, 6}, -1, 1, 33),
         rnd({2, 2, 2, 3}, -1, 1, 34), rnd({2, 1, 4}, -1, 0, 35), rnd({2, 1, 2}, 0.1, 0.9, 36)},
        linear_attrs(2, 2, "gated_delta"), o);
}

// A score_mod or prob_mod graph of one double input "x" [B, Hq, L, S]: `body` adds its nodes
// (and initializers) and returns its output.
template <typename Body>
std::shared_ptr<ir::Graph> modifier(const std::string& name, Body body) {
  auto g = std::make_shared<ir::Graph>();
  g->name = name;
  ir::GraphBuilder b(*g);
  std::string x = b.input("x", ir::TypeInfo::tensor(DType::Float64));
  b.output(body(b, x), ir::TypeInfo::tensor(DType::Float64));
  return g;
}

// Soft capping, cap * tanh(x / cap), its cap an initializer of the graph.
std::shared_ptr<ir::Graph> soft_cap(double cap) {
  return modifier("soft_cap", [&](ir::GraphBuilder& b, const std::string& x) {
    std::string c = b.constant("cap", Tensor::scalar<double>(cap));
    return b.op("Mul", {b.op("Tanh", {b.op("Div", {x, c})}), c});
  });
}

// ai.onnx.preview.FlexAttention with respect to Q, K and V: plain, an explicit scale with
// grouped-query heads (4 on 2), a soft-capping score_mod with multi-query heads (3 on 1), a
// prob_mod reweighting the keys, a score_mod masking keys with -inf that leaves one query
// row with none (zeros, as the kernel gives) and a score_mod adding a bias the enclosing graph
// holds (in3, differentiated through the inlined graph).
TEST(GradCheckAttentionFamily, FlexAttention) {
  GradCheckOptions o{.domain = "ai.onnx.preview"};
  check("FlexAttention",
        {rnd({2, 2, 3, 4}), rnd({2, 2, 5, 4}, -2, 2, 2), rnd({2, 2, 5, 3}, -2, 2, 3)}, {}, o);
  check("FlexAttention",
        {rnd({1, 4, 3, 4}, -2, 2, 4), rnd({1, 2, 5, 4}, -2, 2, 5), rnd({1, 2, 5, 6}, -2, 2, 6)},
        {attr("scale", 0.4f), attr("softmax_precision", int64_t{11})}, o);
  check("FlexAttention",
        {rnd({2, 3, 2, 4}, -2, 2, 7), rnd({2, 1, 3, 4}, -2, 2, 8), rnd({2, 1, 3, 2}, -2, 2, 9)},
        {attr("score_mod", soft_cap(1.5))}, o);
  auto reweight = modifier("reweight", [](ir::GraphBuilder& b, const std::string& x) {
    std::string w = b.constant("weights", Tensor::from_vector<double>({4}, {0.5, 1.25, 0.75, 1.5}));
    return b.op("Mul", {x, w});
  });
  check("FlexAttention",
        {rnd({1, 4, 3, 2}, -2, 2, 10), rnd({1, 2, 4, 2}, -2, 2, 11), rnd({1, 2, 4, 3}, -2, 2, 12)},
        {attr("score_mod", soft_cap(2.0)), attr("prob_mod", reweight)}, o);
  // Row 1 keeps no key; the others keep some.
  auto masked = modifier("masked", [](ir::GraphBuilder& b, const std::string& x) {
    std::string keep = b.constant(
        "keep", Tensor::from_vector<bool>({3, 4}, {true, false, true, true, false, false, false,
                                                   false, true, true, false, true}));
    std::string neg_inf =
        b.constant("neg_inf", Tensor::scalar<double>(-std::numeric_limits<double>::infinity()));
    return b.op("Where", {keep, x, neg_inf});
  });
  check("FlexAttention",
        {rnd({1, 2, 3, 2}, -2, 2, 13), rnd({1, 2, 4, 2}, -2, 2, 14), rnd({1, 2, 4, 2}, -2, 2, 15)},
        {attr("score_mod", masked)}, o);
  auto biased = modifier("biased", [](ir::GraphBuilder& b, const std::string& x) {
    return b.op("Add", {x, "in3"});
  });
  GradCheckOptions outer{.node_inputs = 3, .domain = "ai.onnx.preview"};
  check("FlexAttention",
        {rnd({2, 2, 3, 2}, -2, 2, 16), rnd({2, 2, 4, 2}, -2, 2, 17), rnd({2, 2, 4, 3}, -2, 2, 18),
         rnd({3, 4}, -1, 1, 19)},
        {attr("score_mod", biased)}, outer);
}

}  // namespace
}  // namespace onyx
