#include "onyx/autodiff/unroll.h"

#include <algorithm>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/rules.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/functions.h"
#include "onyx/ops/registry.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

bool recurrent(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "RNN" || n.op_type == "GRU" || n.op_type == "LSTM");
}

// Emits one recurrent node's time steps. Gate layouts follow the spec: LSTM i, o, f, c;
// GRU z, r, h; RNN one gate.
class Unroller : Rewriter {
 public:
  Unroller(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset)
      : Rewriter(b, n, types, "unroll"), opset_(opset) {}

  void run() {
    const std::string& op = n_.op_type;
    gates_ = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
    hidden_ = n_.attr_int("hidden_size", 0);
    if (hidden_ <= 0) fail_here("hidden_size must be positive");
    require_opset(opset_, 10, n_.describe() + ": cannot unroll for differentiation",
                  "Slice with inputs");
    for (const char* a : {"clip", "activation_alpha", "activation_beta"}) {
      if (n_.find_attr(a)) fail_here("attribute '", a, "' is not supported");
    }
    if (n_.attr_int("input_forget", 0)) fail_here("input_forget is not supported");
    std::string direction = n_.attr_string("direction", "forward");
    directions_ = direction == "bidirectional" ? 2 : 1;
    layout_ = n_.attr_int("layout", 0);
    x_ = n_.input(0);
    auto dims = dims_of(x_);
    if (!dims || dims->size() != 3 || (*dims)[layout_ ? 1 : 0] < 0) {
      fail_here("the sequence length of '", x_, "' must be known statically");
    }
    steps_ = (*dims)[layout_ ? 1 : 0];
    if (layout_) x_ = b_.op("Transpose", {x_}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
    check_sequence_lens();
    activations_ = activation_names();

    std::vector<std::string> ys, hs, cs;
    for (int64_t d = 0; d < directions_; ++d) {
      bool reverse = direction == "reverse" || d == 1;
      auto [y, h, c] = direction_steps(d, reverse);
      ys.push_back(b_.op("Reshape", {y, ints({steps_, 1, -1, hidden_})}));
      hs.push_back(b_.op("Reshape", {h, ints({1, -1, hidden_})}));
      if (!c.empty()) cs.push_back(b_.op("Reshape", {c, ints({1, -1, hidden_})}));
    }
    std::string y = concat(ys, 1), h = concat(hs, 0);
    std::string c = cs.empty() ? "" : concat(cs, 0);
    if (layout_) {
      y = b_.op("Transpose", {y}, {attr("perm", std::vector<int64_t>{2, 0, 1, 3})});
      h = b_.op("Transpose", {h}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
      if (!c.empty()) c = b_.op("Transpose", {c}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
    }
    std::vector<std::string> results{y, h, c};
    for (size_t i = 0; i < n_.outputs.size() && i < results.size(); ++i) {
      if (!n_.outputs[i].empty()) alias(results[i], n_.outputs[i]);
    }
  }

 private:
  std::string concat(const std::vector<std::string>& v, int64_t axis) {
    return v.size() == 1 ? v[0] : b_.op("Concat", v, {attr("axis", axis)});
  }
  // Columns [k*H, (k+1)*H) of a [rows, G*H] value: gate k.
  std::string gate(const std::string& v, int64_t k) {
    return b_.op("Slice", {v, ints({k * hidden_}), ints({(k + 1) * hidden_}), ints({1})});
  }
  std::string input(size_t i) const { return n_.has_input(i) ? n_.input(i) : ""; }

  void check_sequence_lens() {
    if (input(4).empty()) return;
    const ir::Graph& g = b_.graph();
    const ir::Initializer* init = g.find_initializer(input(4));
    if (init) {
      std::vector<int64_t> lens = init->value.to_int64s();
      if (std::all_of(lens.begin(), lens.end(), [&](int64_t l) { return l == steps_; })) return;
    }
    fail_here("sequence_lens must be absent or a constant equal to the sequence length");
  }

  std::vector<std::string> activation_names() {
    std::vector<std::string> names = n_.attr_strings("activations");
    std::vector<std::string> defaults = gates_ == 4
                                            ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                        : gates_ == 3 ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                      : std::vector<std::string>{"Tanh"};
    if (names.empty()) {
      for (int64_t d = 0; d < directions_; ++d)
        names.insert(names.end(), defaults.begin(), defaults.end());
    }
    if (names.size() != defaults.size() * static_cast<size_t>(directions_)) {
      fail_here("activations has ", names.size(), " names, expected ",
                defaults.size() * static_cast<size_t>(directions_));
    }
    static const char* known[] = {"Sigmoid",   "Tanh", "Relu",        "Softsign",       "Softplus",
                                  "LeakyRelu", "Elu",  "HardSigmoid", "ThresholdedRelu"};
    for (auto& a : names) {
      auto it = std::find_if(std::begin(known), std::end(known), [&](const char* k) {
        return std::equal(a.begin(), a.end(), k, k + std::char_traits<char>::length(k),
                          [](char x, char y) { return std::tolower(x) == std::tolower(y); });
      });
      if (it == std::end(known)) fail_here("activation '", a, "' is not supported");
      a = *it;
    }
    return names;
  }

  std::string act(int64_t d, int k, const std::string& v) {
    size_t per = gates_ == 4 ? 3 : gates_ == 3 ? 2 : 1;
    return b_.op(activations_[static_cast<size_t>(d) * per + static_cast<size_t>(k)], {v});
  }

  // Row d of a [D, ...] input.
  std::string row(const std::string& v, int64_t d) { return b_.op("Gather", {v, index(d)}); }

  struct Outputs {
    std::string y, h, c;  // y: [T*N, H] in time order; h, c: [N, H]
  };

  Outputs direction_steps(int64_t d, bool reverse) {
    int64_t gh = gates_ * hidden_;
    std::string wt = b_.op("Transpose", {row(n_.input(1), d)});  // [I, G*H]
    std::string rt = b_.op("Transpose", {row(n_.input(2), d)});  // [H, G*H]
    std::string wb, rb;
    if (!input(3).empty()) {
      std::string bias = row(input(3), d);  // [2*G*H]: Wb then Rb
      wb = b_.op("Slice", {bias, ints({0}), ints({gh}), ints({0})});
      rb = b_.op("Slice", {bias, ints({gh}), ints({2 * gh}), ints({0})});
    }
    // x W^T (+ Wb) for every step at once: [T, N, G*H].
    std::string xw = b_.op("MatMul", {x_, wt});
    if (!wb.empty()) xw = b_.op("Add", {xw, wb});
    std::string h = initial(5, d), c = gates_ == 4 ? initial(6, d) : "";
    std::string p = gates_ == 4 && !input(7).empty() ? row(input(7), d) : "";  // [3H]: i, o, f
    bool lbr = n_.attr_int("linear_before_reset", 0) != 0;
    std::vector<std::string> hs(static_cast<size_t>(steps_));
    for (int64_t s = 0; s < steps_; ++s) {
      int64_t t = reverse ? steps_ - 1 - s : s;
      std::string xt = b_.op("Gather", {xw, index(t)});  // [N, G*H]
      std::string hr = b_.op("MatMul", {h, rt});
      if (!rb.empty()) hr = b_.op("Add", {hr, rb});
      if (gates_ == 1) {
        h = act(d, 0, b_.op("Add", {xt, hr}));
      } else if (gates_ == 3) {
        std::string z = act(d, 0, b_.op("Add", {gate(xt, 0), gate(hr, 0)}));
        std::string r = act(d, 0, b_.op("Add", {gate(xt, 1), gate(hr, 1)}));
        std::string cand;
        if (lbr) {
          cand = b_.op("Add", {gate(xt, 2), b_.op("Mul", {r, gate(hr, 2)})});
        } else {
          // (r * h) R_h^T + Rb_h, recomputed: hr's gate 2 used h, not r * h.
          std::string rh = b_.op("MatMul", {b_.op("Mul", {r, h}), gate(rt, 2)});
          if (!rb.empty()) rh = b_.op("Add", {rh, gate(rb, 2, 0)});
          cand = b_.op("Add", {gate(xt, 2), rh});
        }
        std::string hc = act(d, 1, cand);
        // h = (1 - z) hc + z h = hc + z (h - hc)
        h = b_.op("Add", {hc, b_.op("Mul", {z, b_.op("Sub", {h, hc})})});
      } else {
        std::string pre = b_.op("Add", {xt, hr});
        std::string ig = gate(pre, 0), og = gate(pre, 1), fg = gate(pre, 2), cg = gate(pre, 3);
        if (!p.empty()) {
          ig = b_.op("Add", {ig, b_.op("Mul", {peephole(p, 0), c})});
          fg = b_.op("Add", {fg, b_.op("Mul", {peephole(p, 2), c})});
        }
        std::string i = act(d, 0, ig), f = act(d, 0, fg), cc = act(d, 1, cg);
        c = b_.op("Add", {b_.op("Mul", {f, c}), b_.op("Mul", {i, cc})});
        if (!p.empty()) og = b_.op("Add", {og, b_.op("Mul", {peephole(p, 1), c})});
        h = b_.op("Mul", {act(d, 0, og), act(d, 2, c)});
      }
      hs[static_cast<size_t>(t)] = h;
    }
    return {concat(hs, 0), h, c};
  }

  // Elements [k*H, (k+1)*H) of a 1-D value along `axis`.
  std::string gate(const std::string& v, int64_t k, int64_t axis) {
    return b_.op("Slice", {v, ints({k * hidden_}), ints({(k + 1) * hidden_}), ints({axis})});
  }
  std::string peephole(const std::string& p, int64_t k) { return gate(p, k, 0); }

  // initial_h (input 5) or initial_c (6) for direction d, or zeros [N, H].
  std::string initial(size_t i, int64_t d) {
    if (!input(i).empty()) {
      std::string v = input(i);
      if (layout_) v = b_.op("Transpose", {v}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
      return row(v, d);
    }
    std::string n = b_.op("Slice", {b_.op("Shape", {x_}), ints({1}), ints({2}), ints({0})});
    std::string shape = b_.op("Concat", {n, ints({hidden_})}, {attr("axis", int64_t{0})});
    auto t = types_.find(n_.input(0));
    return fill(b_, shape, 0.0, t != types_.end() ? t->second.elem : DType::Undefined);
  }

  int64_t opset_;
  int64_t gates_ = 1, hidden_ = 0, directions_ = 1, layout_ = 0, steps_ = 0;
  std::string x_;
  std::vector<std::string> activations_;
};

// Replaces each node `pick` selects by the nodes `emit` appends, in place and in order. A
// node that `emit` cannot rewrite (Unsupported) stays as it was; the VJP builder reports it
// if its gradient is needed (see unroll_problem).
size_t rewrite(ir::Model& model, bool (*pick)(const ir::Node&), Emit emit) {
  ir::Graph& g = *model.graph;
  if (std::none_of(g.nodes.begin(), g.nodes.end(), pick)) return 0;
  Types types = onnx_io::infer_value_types(model);
  ir::GraphBuilder b(g);
  size_t replaced = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!pick(g.nodes[i])) continue;
    ir::Node node = g.nodes[i];
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    size_t before = g.nodes.size(), inits = g.initializers.size();
    try {
      emit(b, node, types, model.opset(""));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Unsupported) throw;
      g.nodes.resize(before);
      g.initializers.resize(inits);
      g.nodes.insert(g.nodes.begin() + static_cast<long>(i), std::move(node));
      continue;
    }
    // The new nodes take the replaced node's place, so the list stays in order.
    std::rotate(g.nodes.begin() + static_cast<long>(i), g.nodes.begin() + static_cast<long>(before),
                g.nodes.end());
    i += g.nodes.size() - before - 1;
    ++replaced;
  }
  return replaced;
}

void emit_unrolled_recurrent(ir::GraphBuilder& b, const ir::Node& n, const Types& types,
                             int64_t opset) {
  Unroller(b, n, types, opset).run();
}

bool loop_like(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Loop" || n.op_type == "Scan");
}

bool grid_sample(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "GridSample";
}

bool roi_align(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "RoiAlign";
}

bool attention(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "Attention";
}

bool linear_attention(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "LinearAttention";
}

bool flex_attention(const ir::Node& n) {
  return n.domain == "ai.onnx.preview" && n.op_type == "FlexAttention";
}

bool deform_conv(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "DeformConv";
}

// Every rewrite, in the order rewrite_for_gradients applies them.
struct Rewrite {
  bool (*pick)(const ir::Node&);
  Emit emit;
};
constexpr Rewrite kRewrites[] = {
    {loop_like, emit_unrolled_loop},
    // Before the others: its score_mod and prob_mod are inlined, and they may hold ops the
    // rewrites after it lower.
    {flex_attention, emit_lowered_flex_attention},
    {recurrent, emit_unrolled_recurrent},
    {grid_sample, emit_lowered_grid_sample},
    {roi_align, emit_lowered_roi_align},
    {attention, emit_lowered_attention},
    {linear_attention, emit_lowered_linear_attention},
    {deform_conv, emit_lowered_deform_conv},
};

}  // namespace

size_t unroll_recurrent(ir::Model& model) {
  return rewrite(model, recurrent, emit_unrolled_recurrent);
}

size_t unroll_loops(ir::Model& model) {
  // A body may hold loops itself: each round inlines one level.
  size_t total = 0;
  while (size_t n = rewrite(model, loop_like, emit_unrolled_loop)) total += n;
  return total;
}

size_t expand_unruled_functions(ir::Model& model) {
  // Ops with a kernel stay: the coverage test holds each to a rule or a listed reason.
  auto kept = [&](const ir::Node& n) {
    int64_t opset = model.opset(n.domain);
    return opset == 0 || find_rule(n.domain, n.op_type, opset) != nullptr || rewritten_op(n) ||
           ops::registry().find(n.domain, n.op_type, opset) != nullptr;
  };
  std::shared_ptr<const ir::Graph> expanded = onnx_io::expand_functions(model.graph, model, kept);
  if (expanded == model.graph) return 0;
  model.graph = ir::deep_copy(*expanded);
  return 1;
}

size_t rewrite_for_gradients(ir::Model& model) {
  size_t n = expand_unruled_functions(model);  // their bodies may hold any of the others
  n += unroll_loops(model);                    // then, in rounds: a loop body may hold the others
  n += fold_sequences(model);                  // the lists the unrolled loops built
  for (const Rewrite& r : kRewrites) {
    if (r.pick != loop_like) n += rewrite(model, r.pick, r.emit);
  }
  return n;
}

bool rewritten_op(const ir::Node& n) {
  return std::any_of(std::begin(kRewrites), std::end(kRewrites),
                     [&](const Rewrite& r) { return r.pick(n); });
}

std::string rewrite_problem(const ir::Model& model, const ir::Node& n) {
  const Rewrite* r = std::find_if(std::begin(kRewrites), std::end(kRewrites),
                                  [&](const Rewrite& w) { return w.pick(n); });
  if (r == std::end(kRewrites)) return "";
  ir::Model scratch = model;
  scratch.graph = ir::deep_copy(*model.graph);
  ir::GraphBuilder b(*scratch.graph);
  try {
    r->emit(b, n, onnx_io::infer_value_types(model), model.opset(""));
  } catch (const Error& e) {
    std::string why = e.what(), self = n.describe() + ": ";
    return why.rfind(self, 0) == 0 ? why.substr(self.size()) : why;
  }
  return "";
}

}  // namespace onyx::autodiff
