// ai.onnx.preview.FlexAttention (version 1): scaled dot-product attention over [B, H, L, E]
// inputs with grouped-query heads, whose scores and probabilities pass through optional
// user subgraphs (score_mod after Q K^T, prob_mod after the softmax). The subgraphs see the
// whole [B, Hq, L, S] tensor in the softmax precision, so they are planned once and run once
// per call.
#include <cmath>
#include <limits>
#include <vector>

#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

std::unique_ptr<SubgraphRunner> optional_graph(const KernelInfo& info, const char* name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a) return nullptr;
  if (a->type != ir::AttrType::Graph || !a->g)
    info.fail(ErrorKind::InvalidModel, "attribute '", name, "' must be a graph");
  if (a->g->inputs.size() != 1 || a->g->outputs.size() != 1) {
    info.fail(ErrorKind::InvalidModel, "the ", name, " graph must have one input and one output");
  }
  return info.compile_subgraph(*a->g);
}

class FlexAttentionKernel final : public Kernel {
 public:
  explicit FlexAttentionKernel(const KernelInfo& info)
      : score_mod_(optional_graph(info, "score_mod")),
        prob_mod_(optional_graph(info, "prob_mod")),
        has_scale_(info.node.find_attr("scale") != nullptr),
        scale_(info.node.attr_float("scale", 1.0f)),
        precision_attr_(info.node.attr_int("softmax_precision", 0)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& i) {
    return std::make_unique<FlexAttentionKernel>(i);
  }

  void compute(KernelContext& ctx) override {
    const Tensor &q = ctx.input(0), &k = ctx.input(1), &v = ctx.input(2);
    for (size_t i = 0; i < 3; ++i) {
      if (ctx.input(i).rank() != 4)
        ctx.fail(ctx.input_name(i), " must be rank 4, got ", shape_str(ctx.input(i).shape()));
    }
    int64_t B = q.dim(0), Hq = q.dim(1), L = q.dim(2), E = q.dim(3);
    int64_t Hkv = k.dim(1), S = k.dim(2), Ev = v.dim(3);
    if (k.dim(0) != B || v.dim(0) != B || v.dim(1) != Hkv || v.dim(2) != S || k.dim(3) != E ||
        Hkv == 0 || Hq % Hkv != 0 || k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
      ctx.fail("Q ", shape_str(q.shape()), ", K ", shape_str(k.shape()), " and V ",
               shape_str(v.shape()), " do not fit together (Q's heads a multiple of K's)");
    }
    DType precision = q.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
    if (precision_attr_ != 0 &&
        (!dtype_from_int(static_cast<int32_t>(precision_attr_), &precision) ||
         !is_floating(precision))) {
      ctx.fail("softmax_precision must be a float type, not ", precision_attr_);
    }
    double scale = has_scale_ ? scale_ : 1.0 / std::sqrt(static_cast<double>(E));
    int64_t group = Hq / Hkv;
    Shape score_shape{B, Hq, L, S};
    Tensor scores = Tensor::empty(precision, score_shape);
    visit_float(q.dtype(), [&](auto tag) {
      using T = decltype(tag);
      visit_float(precision, [&](auto ptag) {
        using P = decltype(ptag);
        P* out = scores.data<P>();
        for (int64_t bh = 0; bh < B * Hq; ++bh) {
          const T* qh = q.data<T>() + bh * L * E;
          const T* kh = k.data<T>() + (bh / Hq * Hkv + bh % Hq / group) * S * E;
          for (int64_t l = 0; l < L; ++l) {
            for (int64_t s = 0; s < S; ++s) {
              double acc = 0;
              for (int64_t e = 0; e < E; ++e)
                acc += to_double(qh[l * E + e]) * to_double(kh[s * E + e]);
              out[(bh * L + l) * S + s] = from_double<P>(acc * scale);
            }
          }
        }
      });
    });
    if (score_mod_) scores = modified(ctx, *score_mod_, scores, "score_mod");
    Tensor probs = Tensor::empty(precision, score_shape);
    visit_float(precision, [&](auto ptag) {
      using P = decltype(ptag);
      const P* in = scores.data<P>();
      P* out = probs.data<P>();
      for (int64_t row = 0; row < B * Hq * L; ++row) {
        const P* r = in + row * S;
        double m = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t s = 0; s < S; ++s) m = std::max(m, to_double(r[s]));
        for (int64_t s = 0; s < S; ++s) sum += std::isinf(m) ? 0.0 : std::exp(to_double(r[s]) - m);
        // A row masked everywhere attends to nothing: zeros, as Attention gives.
        for (int64_t s = 0; s < S; ++s) {
          double p = sum > 0 ? std::exp(to_double(r[s]) - m) / sum : 0.0;
          out[row * S + s] = from_double<P>(p);
        }
      }
    });
    if (prob_mod_) probs = modified(ctx, *prob_mod_, probs, "prob_mod");
    Tensor& y = ctx.allocate(0, q.dtype(), {B, Hq, L, Ev});
    visit_float(q.dtype(), [&](auto tag) {
      using T = decltype(tag);
      visit_float(precision, [&](auto ptag) {
        using P = decltype(ptag);
        const P* p = probs.data<P>();
        T* out = y.data<T>();
        std::vector<double> acc(static_cast<size_t>(Ev));
        for (int64_t bh = 0; bh < B * Hq; ++bh) {
          const T* vh = v.data<T>() + (bh / Hq * Hkv + bh % Hq / group) * S * Ev;
          for (int64_t l = 0; l < L; ++l) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t s = 0; s < S; ++s) {
              double w = to_double(p[(bh * L + l) * S + s]);
              for (int64_t e = 0; e < Ev; ++e) acc[e] += w * to_double(vh[s * Ev + e]);
            }
            for (int64_t e = 0; e < Ev; ++e) out[(bh * L + l) * Ev + e] = from_double<T>(acc[e]);
          }
        }
      });
    });
  }

 private:
  // The subgraph's output for `in`; it must keep the shape and element type.
  static Tensor modified(KernelContext& ctx, SubgraphRunner& graph, const Tensor& in,
                         const char* name) {
    std::vector<Value> outs = graph.run(ctx, {Value(in)});
    if (outs.size() != 1 || !outs[0].is_tensor() || outs[0].tensor().shape() != in.shape() ||
        outs[0].tensor().dtype() != in.dtype()) {
      ctx.fail("the ", name, " graph must return one ", dtype_name(in.dtype()), " tensor of shape ",
               shape_str(in.shape()));
    }
    return outs[0].tensor();
  }

  std::unique_ptr<SubgraphRunner> score_mod_, prob_mod_;
  bool has_scale_;
  double scale_;
  int64_t precision_attr_;
};

constexpr KernelDef kDefs[] = {
    {"ai.onnx.preview", "FlexAttention", 1, kLatest, &FlexAttentionKernel::make},
};

}  // namespace

void register_flex_attention_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
