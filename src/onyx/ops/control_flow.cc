// Control flow: If, Loop, Scan. Bodies are planned once, when the kernel is made, through
// KernelInfo::compile_subgraph; each iteration runs the planned body.
#include <cstring>

#include "onyx/core/limits.h"
#include "onyx/ops/registry.h"

namespace onyx::ops {

namespace {

const ir::Graph& graph_attr(const KernelInfo& info, const char* name) {
  const ir::Attribute* a = info.node.find_attr(name);
  if (!a || a->type != ir::AttrType::Graph || !a->g) {
    info.fail(ErrorKind::InvalidModel, "graph attribute '", name, "' is required");
  }
  return *a->g;
}

bool scalar_bool(const KernelContext& ctx, size_t i) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1 || t.dtype() != DType::Bool) {
    ctx.fail(ctx.input_name(i), " must be a single bool, got ", dtype_name(t.dtype()),
             shape_str(t.shape()));
  }
  return t.data<bool>()[0];
}

// Element i along `axis` of t (the axis removed).
Tensor take_along(const Tensor& t, int64_t axis, int64_t i) {
  Shape out_shape = t.shape();
  out_shape.erase(out_shape.begin() + axis);
  Tensor out = Tensor::empty(t.dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= t.dim(d);
  for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  int64_t n = t.dim(axis);
  if (t.dtype() == DType::String) {
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < inner; ++k) {
        out.data<std::string>()[o * inner + k] = t.data<std::string>()[(o * n + i) * inner + k];
      }
    }
    return out;
  }
  size_t es = dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t o = 0; o < outer; ++o) {
    std::memcpy(dst + o * inner * es, src + ((o * n + i) * inner) * es, inner * es);
  }
  return out;
}

// Stacks equally shaped tensors along a new `axis`.
Tensor stack(const std::vector<Tensor>& parts, int64_t axis, const KernelContext& ctx) {
  const Tensor& first = parts[0];
  Shape out_shape = first.shape();
  out_shape.insert(out_shape.begin() + axis, static_cast<int64_t>(parts.size()));
  Tensor out = Tensor::empty(first.dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= first.dim(d);
  for (int64_t d = axis; d < first.rank(); ++d) inner *= first.dim(d);
  int64_t n = static_cast<int64_t>(parts.size());
  for (int64_t p = 0; p < n; ++p) {
    const Tensor& t = parts[p];
    if (t.shape() != first.shape() || t.dtype() != first.dtype()) {
      ctx.fail("scan output changes shape between iterations: ", shape_str(first.shape()), " then ",
               shape_str(t.shape()));
    }
    for (int64_t o = 0; o < outer; ++o) {
      if (t.dtype() == DType::String) {
        for (int64_t k = 0; k < inner; ++k) {
          out.data<std::string>()[(o * n + p) * inner + k] = t.data<std::string>()[o * inner + k];
        }
      } else {
        size_t es = dtype_size(t.dtype());
        std::memcpy(static_cast<char*>(out.raw_data()) + ((o * n + p) * inner) * es,
                    static_cast<const char*>(t.raw_data()) + o * inner * es, inner * es);
      }
    }
  }
  return out;
}

// An empty scan output when no iteration ran: element type from the body's declared type.
Tensor empty_scan_output(const ir::ValueInfo& info) {
  DType dt = info.type.elem == DType::Undefined ? DType::Float32 : info.type.elem;
  Shape s{0};
  if (info.type.shape) {
    for (const auto& d : *info.type.shape) s.push_back(d.value.value_or(0));
  }
  return Tensor::empty(dt, s);
}

class IfKernel final : public Kernel {
 public:
  explicit IfKernel(const KernelInfo& info)
      : then_(info.compile_subgraph(graph_attr(info, "then_branch"))),
        else_(info.compile_subgraph(graph_attr(info, "else_branch"))) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<IfKernel>(info);
  }
  void compute(KernelContext& ctx) override {
    auto outs = (scalar_bool(ctx, 0) ? then_ : else_)->run(ctx, {});
    if (outs.size() != ctx.num_outputs()) {
      ctx.fail("branch produced ", outs.size(), " outputs, the node has ", ctx.num_outputs());
    }
    for (size_t i = 0; i < outs.size(); ++i) ctx.set_output(i, std::move(outs[i]));
  }

 private:
  std::unique_ptr<SubgraphRunner> then_, else_;
};

class LoopKernel final : public Kernel {
 public:
  explicit LoopKernel(const KernelInfo& info)
      : body_graph_(graph_attr(info, "body")), body_(info.compile_subgraph(body_graph_)) {}
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<LoopKernel>(info);
  }

  void compute(KernelContext& ctx) override {
    int64_t max_trips = INT64_MAX;
    if (ctx.has_input(0)) {
      const Tensor& m = ctx.input(0);
      if (m.numel() != 1 || m.dtype() != DType::Int64)
        ctx.fail(ctx.input_name(0), " must be a single int64");
      max_trips = m.data<int64_t>()[0];
    }
    bool cond = ctx.has_input(1) ? scalar_bool(ctx, 1) : true;
    size_t n_carried = ctx.num_inputs() > 2 ? ctx.num_inputs() - 2 : 0;
    std::vector<Value> carried;
    for (size_t i = 0; i < n_carried; ++i) carried.push_back(ctx.input_value(i + 2));
    size_t n_body_out = body_graph_.outputs.size();
    if (n_body_out < 1 + n_carried) ctx.fail("body has too few outputs");
    if (ctx.num_outputs() > n_body_out - 1) {
      ctx.fail("has ", ctx.num_outputs(), " outputs, but its body makes ", n_body_out - 1,
               " after the condition");
    }
    size_t n_scan = n_body_out - 1 - n_carried;
    std::vector<std::vector<Tensor>> scans(n_scan);
    const int64_t bound = max_loop_iterations();
    for (int64_t it = 0; it < max_trips && cond; ++it) {
      if (bound > 0 && it >= bound) {
        onyx::fail(ErrorKind::ResourceLimit, ctx.node().describe(), ": stopped after ", it,
                   " iterations, the limit set (--max-loop-iterations, "
                   "SessionOptions::max_loop_iterations)");
      }
      std::vector<Value> in;
      in.emplace_back(Tensor::scalar<int64_t>(it));
      in.emplace_back(Tensor::scalar<bool>(cond));
      for (auto& v : carried) in.push_back(v);
      auto outs = body_->run(ctx, in);
      const Value& c = outs[0];
      if (!c.is_tensor() || c.tensor().numel() != 1 || c.tensor().dtype() != DType::Bool) {
        ctx.fail("body's condition output must be a single bool");
      }
      cond = c.tensor().data<bool>()[0];
      for (size_t i = 0; i < n_carried; ++i) carried[i] = std::move(outs[1 + i]);
      for (size_t i = 0; i < n_scan; ++i) {
        const Value& s = outs[1 + n_carried + i];
        if (!s.is_tensor()) ctx.fail("scan output ", i, " must be a tensor");
        scans[i].push_back(s.tensor());
      }
    }
    for (size_t i = 0; i < n_carried; ++i) ctx.set_output(i, std::move(carried[i]));
    for (size_t i = 0; i < n_scan; ++i) {
      ctx.set_output(n_carried + i, scans[i].empty()
                                        ? empty_scan_output(body_graph_.outputs[1 + n_carried + i])
                                        : stack(scans[i], 0, ctx));
    }
  }

 private:
  const ir::Graph& body_graph_;
  std::unique_ptr<SubgraphRunner> body_;
};

// Scan (opset 9+; opset 8 adds a batch axis and an optional sequence_lens input).
class ScanKernel final : public Kernel {
 public:
  explicit ScanKernel(const KernelInfo& info)
      : body_graph_(graph_attr(info, "body")),
        body_(info.compile_subgraph(body_graph_)),
        legacy_(info.opset < 9) {
    const ir::Node& n = info.node;
    num_scan_ = n.attr_int("num_scan_inputs", -1);
    if (num_scan_ < 1) info.fail(ErrorKind::InvalidModel, "num_scan_inputs must be positive");
    in_axes_ = n.attr_ints("scan_input_axes");
    in_dirs_ = n.attr_ints(legacy_ ? "directions" : "scan_input_directions");
    out_axes_ = n.attr_ints("scan_output_axes");
    out_dirs_ = n.attr_ints("scan_output_directions");
  }
  static std::unique_ptr<Kernel> make(const KernelInfo& info) {
    return std::make_unique<ScanKernel>(info);
  }

  void compute(KernelContext& ctx) override {
    size_t first = legacy_ ? 1 : 0;
    size_t n_in = ctx.num_inputs() - first;
    size_t n_scan = static_cast<size_t>(num_scan_);
    if (n_in < n_scan) ctx.fail("has fewer inputs than num_scan_inputs");
    size_t n_state = n_in - n_scan;
    // Every declared output comes from the body: fewer body outputs left some unset.
    if (body_graph_.outputs.size() < n_state || ctx.num_outputs() > body_graph_.outputs.size()) {
      ctx.fail("has ", n_state, " state values and ", ctx.num_outputs(),
               " outputs, but its body makes ", body_graph_.outputs.size(), " outputs");
    }
    if (!legacy_) {
      std::vector<Tensor> ins;
      for (size_t i = 0; i < n_in; ++i) ins.push_back(ctx.input(first + i));
      auto outs = scan_once(ctx, ins, n_state, -1);
      for (size_t i = 0; i < outs.size(); ++i) ctx.set_output(i, outs[i]);
      return;
    }
    // Opset 8: every input has a leading batch axis; run each batch entry separately.
    int64_t batch = ctx.input(first).dim(0);
    std::vector<int64_t> lens;
    if (ctx.has_input(0)) lens = ctx.input(0).to_int64s();
    std::vector<std::vector<Tensor>> per_out;
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Tensor> ins;
      for (size_t i = 0; i < n_in; ++i) ins.push_back(take_along(ctx.input(first + i), 0, b));
      auto outs = scan_once(ctx, ins, n_state, lens.empty() ? -1 : lens[b]);
      per_out.resize(outs.size());
      for (size_t i = 0; i < outs.size(); ++i) per_out[i].push_back(outs[i]);
    }
    for (size_t i = 0; i < per_out.size(); ++i) ctx.set_output(i, stack(per_out[i], 0, ctx));
  }

 private:
  std::vector<Tensor> scan_once(KernelContext& ctx, const std::vector<Tensor>& ins, size_t n_state,
                                int64_t seq_len) {
    size_t n_scan = ins.size() - n_state;
    std::vector<Value> state(ins.begin(), ins.begin() + n_state);
    int64_t steps = -1;
    std::vector<int64_t> axes(n_scan, 0);
    for (size_t j = 0; j < n_scan; ++j) {
      const Tensor& t = ins[n_state + j];
      int64_t ax = j < in_axes_.size() ? in_axes_[j] : 0;
      if (ax < 0) ax += t.rank();
      if (ax < 0 || ax >= t.rank()) ctx.fail("scan_input_axes entry ", ax, " is out of range");
      axes[j] = ax;
      if (steps >= 0 && t.dim(ax) != steps) ctx.fail("scan inputs have different lengths");
      steps = t.dim(ax);
    }
    if (seq_len >= 0) steps = std::min(steps, seq_len);
    size_t n_body_out = body_graph_.outputs.size();
    size_t n_scan_out = n_body_out - n_state;
    std::vector<std::vector<Tensor>> scans(n_scan_out);
    for (int64_t it = 0; it < steps; ++it) {
      std::vector<Value> in = state;
      for (size_t j = 0; j < n_scan; ++j) {
        bool reverse = j < in_dirs_.size() && in_dirs_[j] == 1;
        in.emplace_back(take_along(ins[n_state + j], axes[j], reverse ? steps - 1 - it : it));
      }
      auto outs = body_->run(ctx, in);
      for (size_t i = 0; i < n_state; ++i) state[i] = outs[i];
      for (size_t i = 0; i < n_scan_out; ++i) scans[i].push_back(outs[n_state + i].tensor());
    }
    std::vector<Tensor> result;
    for (auto& s : state) result.push_back(s.tensor());
    for (size_t i = 0; i < n_scan_out; ++i) {
      if (scans[i].empty()) {
        result.push_back(empty_scan_output(body_graph_.outputs[n_state + i]));
        continue;
      }
      if (i < out_dirs_.size() && out_dirs_[i] == 1) std::reverse(scans[i].begin(), scans[i].end());
      int64_t ax = i < out_axes_.size() ? out_axes_[i] : 0;
      int64_t rank = scans[i][0].rank() + 1;
      if (ax < 0) ax += rank;
      if (ax < 0 || ax >= rank) ctx.fail("scan_output_axes entry ", ax, " is out of range");
      result.push_back(stack(scans[i], ax, ctx));
    }
    return result;
  }

  const ir::Graph& body_graph_;
  std::unique_ptr<SubgraphRunner> body_;
  bool legacy_;
  int64_t num_scan_ = 0;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
};

constexpr KernelDef kDefs[] = {
    {"", "If", 1, kLatest, &IfKernel::make},
    {"", "Loop", 1, kLatest, &LoopKernel::make},
    {"", "Scan", 8, kLatest, &ScanKernel::make},
};

}  // namespace

void register_control_flow_kernels(Registry& r) {
  r.add(kDefs);
}

}  // namespace onyx::ops
