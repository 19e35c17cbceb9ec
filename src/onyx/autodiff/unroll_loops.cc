// Loop and Scan rewritten as copies of their bodies, one per iteration, so that the body's
// own ops' rules differentiate them. Their backward passes need every iteration's values,
// which a Loop or Scan node does not keep; the unrolled graph keeps them as ordinary values.
#include <algorithm>
#include <limits>
#include <set>

#include "onyx/autodiff/rewriter.h"
#include "onyx/autodiff/unroll.h"
#include "onyx/ir/builder.h"
#include "onyx/onnx/checker.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

class LoopUnroller : Rewriter {
 public:
  LoopUnroller(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset)
      : Rewriter(b, n, types, "unroll"), opset_(opset) {}

  void run() {
    const ir::Attribute* body = n_.find_attr("body");
    if (!body || !body->g) fail_here("attribute 'body' is missing");
    body_ = body->g.get();
    prefix_ = (n_.name.empty() ? n_.op_type : n_.name) + "/";
    std::vector<std::string> results = n_.op_type == "Loop" ? loop() : scan();
    for (size_t i = 0; i < n_.outputs.size() && i < results.size(); ++i) {
      if (!n_.outputs[i].empty()) alias(results[i], n_.outputs[i]);
    }
  }

 private:
  std::string input(size_t i) const { return n_.has_input(i) ? n_.input(i) : ""; }

  // Loop: inputs M, cond, carried...; body (iteration_num, cond, carried...) ->
  // (cond, carried..., scan outputs...). Only loops that run exactly M times, M constant,
  // can be unrolled: a condition computed from data could end them at any iteration.
  std::vector<std::string> loop() {
    if (input(0).empty()) fail_here("the trip count M must be given (a while loop has none)");
    std::optional<int64_t> m = static_scalar(input(0));
    if (!m) fail_here("the trip count M must be a constant or a statically known size");
    int64_t trips = *m;
    if (!input(1).empty() && b_.graph().constant_int(input(1)).value_or(0) == 0) {
      fail_here("the initial condition must be absent or a constant true");
    }
    if (body_->inputs.size() < 2 || body_->outputs.empty()) fail_here("the body is malformed");
    if (!always_true(body_->outputs[0].name)) {
      fail_here("the body's condition output must be a constant true or its condition input; ",
                "a loop that can stop early has a data-dependent length");
    }
    size_t carried = n_.inputs.size() - std::min<size_t>(n_.inputs.size(), 2);
    if (body_->inputs.size() != carried + 2 || body_->outputs.size() < carried + 1) {
      fail_here("the body's inputs and outputs do not match the loop-carried values");
    }
    size_t scans = body_->outputs.size() - 1 - carried;
    if (trips <= 0 && scans > 0) fail_here("a loop of zero iterations has empty scan outputs");
    std::vector<std::string> state(n_.inputs.begin() + 2, n_.inputs.end());
    std::vector<std::vector<std::string>> scanned(scans);
    std::string cond = b_.constant(prefix_ + "cond", like_input(1, 1));
    for (int64_t i = 0; i < trips; ++i) {
      std::vector<std::string> args{b_.constant(prefix_ + "iter", like_input(0, i)), cond};
      args.insert(args.end(), state.begin(), state.end());
      std::vector<std::string> outs = inline_body(args, i);
      std::copy(outs.begin() + 1, outs.begin() + 1 + static_cast<long>(carried), state.begin());
      for (size_t k = 0; k < scans; ++k) scanned[k].push_back(outs[1 + carried + k]);
    }
    std::vector<std::string> results = state;
    for (auto& values : scanned) results.push_back(stack(values, 0));
    return results;
  }

  // Scan (opset 9 and later): inputs states..., scan inputs...; body (states..., one slice
  // of each scan input) -> (states..., one slice of each scan output). The length is the
  // scan inputs' size along their scan axes, which must be known statically.
  std::vector<std::string> scan() {
    if (opset_ < 9) fail_here("Scan before opset 9 (with a batch axis) is not supported");
    int64_t k_in = n_.attr_int("num_scan_inputs", 0);
    if (k_in <= 0 || static_cast<size_t>(k_in) > n_.inputs.size()) {
      fail_here("num_scan_inputs must be between 1 and the number of inputs");
    }
    size_t states = n_.inputs.size() - static_cast<size_t>(k_in);
    if (body_->inputs.size() != n_.inputs.size() || body_->outputs.size() < states) {
      fail_here("the body's inputs and outputs do not match the states and scan inputs");
    }
    size_t k_out = body_->outputs.size() - states;
    auto in_axes = n_.attr_ints("scan_input_axes");
    auto in_dirs = n_.attr_ints("scan_input_directions");
    auto out_axes = n_.attr_ints("scan_output_axes");
    auto out_dirs = n_.attr_ints("scan_output_directions");
    in_axes.resize(static_cast<size_t>(k_in), 0);
    in_dirs.resize(static_cast<size_t>(k_in), 0);
    out_axes.resize(k_out, 0);
    out_dirs.resize(k_out, 0);
    int64_t steps = -1;
    for (size_t j = 0; j < static_cast<size_t>(k_in); ++j) {
      const std::string& x = n_.input(states + j);
      auto d = dims_of(x);
      if (!d) fail_here("the rank of scan input '", x, "' must be known");
      int64_t rank = static_cast<int64_t>(d->size());
      if (in_axes[j] < -rank || in_axes[j] >= rank) fail_here("scan_input_axes is out of range");
      if (in_axes[j] < 0) in_axes[j] += rank;
      int64_t len = (*d)[static_cast<size_t>(in_axes[j])];
      if (len < 0) return scan_as_loop(states, in_axes, in_dirs, out_axes, out_dirs);
      if (steps >= 0 && len != steps) fail_here("the scan inputs have different lengths");
      steps = len;
    }
    if (steps == 0 && k_out > 0) fail_here("a scan of length zero has empty scan outputs");
    std::vector<std::string> state(n_.inputs.begin(),
                                   n_.inputs.begin() + static_cast<long>(states));
    std::vector<std::vector<std::string>> scanned(k_out);
    for (int64_t t = 0; t < steps; ++t) {
      std::vector<std::string> args = state;
      for (size_t j = 0; j < static_cast<size_t>(k_in); ++j) {
        int64_t at = in_dirs[j] ? steps - 1 - t : t;
        args.push_back(
            b_.op("Gather", {n_.input(states + j), index(at)}, {attr("axis", in_axes[j])}));
      }
      std::vector<std::string> outs = inline_body(args, t);
      std::copy(outs.begin(), outs.begin() + static_cast<long>(states), state.begin());
      for (size_t k = 0; k < k_out; ++k) scanned[k].push_back(outs[states + k]);
    }
    std::vector<std::string> results = state;
    for (size_t k = 0; k < k_out; ++k) {
      if (out_dirs[k]) std::reverse(scanned[k].begin(), scanned[k].end());
      int64_t axis = out_axes[k];
      if (axis < 0) {
        auto d = dims_of(body_->outputs[states + k].name);
        if (!d) fail_here("the rank of scan output ", k, " must be known for a negative axis");
        axis += static_cast<int64_t>(d->size()) + 1;
      }
      results.push_back(stack(scanned[k], axis));
    }
    return results;
  }

  // The value of a one-element int value computed without data: a constant, or a size
  // known from shape inference taken by Shape then Gather (PyTorch's `range(x.size(1))`),
  // through Identity, Cast, Squeeze, Unsqueeze and Reshape.
  std::optional<int64_t> static_scalar(const std::string& v) const {
    const ir::Graph& g = b_.graph();
    if (g.constant_value(v)) return g.constant_int(v);
    const ir::Node* n = producer(g, v);
    if (!n || !n->domain.empty()) return std::nullopt;
    static const std::set<std::string> same{"Identity", "Cast", "Squeeze", "Unsqueeze", "Reshape"};
    if (same.count(n->op_type)) return static_scalar(n->input(0));
    if (n->op_type != "Gather" || n->attr_int("axis", 0) != 0) return std::nullopt;
    const ir::Node* shape = producer(g, n->input(0));
    std::optional<int64_t> index = g.constant_int(n->input(1));
    if (!shape || shape->op_type != "Shape" || !index) return std::nullopt;
    auto d = dims_of(shape->input(0));
    if (!d) return std::nullopt;
    int64_t rank = static_cast<int64_t>(d->size());
    // Shape's start and end (opset 15) take a window of the dimensions.
    int64_t start = shape->attr_int("start", 0), end = shape->attr_int("end", rank);
    start = std::clamp(start < 0 ? start + rank : start, int64_t{0}, rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t{0}, rank);
    int64_t i = *index;
    if (i < 0) i += end - start;
    if (i < 0 || start + i >= end) return std::nullopt;
    int64_t size = (*d)[static_cast<size_t>(start + i)];
    return size >= 0 ? std::optional<int64_t>(size) : std::nullopt;
  }

  static const ir::Node* producer(const ir::Graph& g, const std::string& v) {
    for (const ir::Node& n : g.nodes) {
      if (std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end()) return &n;
    }
    return nullptr;
  }

  // A Scan whose length is known only at run time becomes the equivalent Loop (which the
  // Loop gradient rule differentiates without unrolling): the body gathers each scan input's
  // slice at the iteration number, and the Loop's scan outputs, stacked along axis 0 in
  // iteration order, are reversed and moved to their axes afterwards.
  std::vector<std::string> scan_as_loop(size_t states, const std::vector<int64_t>& in_axes,
                                        const std::vector<int64_t>& in_dirs,
                                        const std::vector<int64_t>& out_axes,
                                        const std::vector<int64_t>& out_dirs) {
    require_opset(opset_, 11, n_.describe() + ": cannot unroll for differentiation",
                  "a Scan of run-time length");
    size_t k_in = in_axes.size(), k_out = out_axes.size();
    std::string p = b_.unique(prefix_ + "loop") + "/";
    std::string len = b_.op("Gather", {b_.op("Shape", {n_.input(states)}), index(in_axes[0])});
    auto loop_body = ir::deep_copy(*body_);
    ir::Graph& lb = *loop_body;
    std::string i = p + "i", cond = p + "cond", one = p + "one", last = p + "last";
    std::string back = p + "back";
    std::vector<ir::Node> head{
        ir::make_node("Constant", {}, {one}, {attr("value", Tensor::scalar<int64_t>(1))}),
        ir::make_node("Sub", {len, one}, {last}), ir::make_node("Sub", {last, i}, {back})};
    for (size_t j = 0; j < k_in; ++j) {
      head.push_back(ir::make_node("Gather", {n_.input(states + j), in_dirs[j] ? back : i},
                                   {lb.inputs[states + j].name}, {attr("axis", in_axes[j])}));
    }
    lb.nodes.insert(lb.nodes.begin(), head.begin(), head.end());
    std::vector<ir::ValueInfo> inputs{{i, ir::TypeInfo::tensor(DType::Int64, Shape{}), ""},
                                      {cond, ir::TypeInfo::tensor(DType::Bool, Shape{}), ""}};
    inputs.insert(inputs.end(), lb.inputs.begin(), lb.inputs.begin() + static_cast<long>(states));
    lb.inputs = inputs;
    std::string cond_out = p + "cond_out";
    lb.nodes.push_back(ir::make_node("Identity", {cond}, {cond_out}));
    lb.outputs.insert(lb.outputs.begin(),
                      {cond_out, ir::TypeInfo::tensor(DType::Bool, Shape{}), ""});
    std::vector<std::string> loop_in{len, ""};
    loop_in.insert(loop_in.end(), n_.inputs.begin(), n_.inputs.begin() + static_cast<long>(states));
    std::vector<std::string> results =
        b_.add("Loop", loop_in, {attr("body", loop_body)}, states + k_out);
    for (size_t k = 0; k < k_out; ++k) {
      std::string& v = results[states + k];
      if (out_dirs[k]) {
        v = b_.op("Slice", {v, ints({-1}), ints({std::numeric_limits<int64_t>::min()}), ints({0}),
                            ints({-1})});
      }
      int64_t axis = out_axes[k];
      if (axis == 0) continue;
      const auto& shape = body_->outputs[states + k].type.shape;
      if (!shape) fail_here("the rank of scan output ", k, " must be known to move its axis");
      int64_t rank = static_cast<int64_t>(shape->size()) + 1;
      if (axis < 0) axis += rank;
      std::vector<int64_t> perm;  // axis 0 (the iterations) goes to `axis`
      for (int64_t a = 1; a <= axis; ++a) perm.push_back(a);
      perm.push_back(0);
      for (int64_t a = axis + 1; a < rank; ++a) perm.push_back(a);
      v = b_.op("Transpose", {v}, {attr("perm", perm)});
    }
    return results;
  }

  // True when body output `v` is the body's condition input or a constant true (of the body
  // or the enclosing graph), possibly through Identity nodes.
  bool always_true(std::string v) const {
    for (;;) {
      if (v == body_->inputs[1].name) return true;
      if (body_->constant_value(v)) return body_->constant_int(v).value_or(0) != 0;
      const ir::Node* p = producer(*body_, v);
      if (!p) {  // an enclosing value (PyTorch's exports)
        return b_.graph().constant_int(v).value_or(0) != 0;
      }
      if (p->op_type != "Identity") return false;
      v = p->input(0);
    }
  }

  // A value for body input `i` (iteration number or condition): `v`, of the rank the body
  // declares (a scalar unless it says [1]).
  Tensor like_input(size_t i, int64_t v) const {
    const auto& shape = body_->inputs[i].type.shape;
    bool vector = shape && shape->size() == 1;
    if (i == 1) {
      return vector ? Tensor::from_vector<bool>({1}, {v != 0}) : Tensor::scalar<bool>(v != 0);
    }
    return vector ? Tensor::from_vector<int64_t>({1}, {v}) : Tensor::scalar<int64_t>(v);
  }

  std::vector<std::string> inline_body(const std::vector<std::string>& args, int64_t iteration) {
    return inline_graph(b_, *body_, args, prefix_ + std::to_string(iteration) + "/");
  }

  // The values, each given a new axis `axis`, concatenated along it.
  std::string stack(const std::vector<std::string>& values, int64_t axis) {
    std::vector<std::string> parts;
    for (const auto& v : values) {
      parts.push_back(unsqueeze(b_, v, {axis}, opset_));
    }
    return parts.size() == 1 ? b_.op("Identity", {parts[0]})
                             : b_.op("Concat", parts, {attr("axis", axis)});
  }

  int64_t opset_;
  const ir::Graph* body_ = nullptr;
  std::string prefix_;
};

}  // namespace

void emit_unrolled_loop(ir::GraphBuilder& b, const ir::Node& n, const Types& types, int64_t opset) {
  LoopUnroller(b, n, types, opset).run();
}

}  // namespace onyx::autodiff
