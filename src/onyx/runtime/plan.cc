#include "onyx/runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <unordered_set>

#include "onyx/core/interrupt.h"
#include "onyx/ops/registry.h"

namespace onyx::runtime {

namespace {

// Runs a subgraph (If/Loop/Scan body) planned against its enclosing plan.
class PlannedSubgraph final : public ops::SubgraphRunner {
 public:
  PlannedSubgraph(const ir::Graph& g, const PlanContext& ctx, const Plan* outer)
      : plan_(g, ctx, outer) {}
  std::vector<Value> run(ops::KernelContext& ctx, const std::vector<Value>& inputs) override {
    Frame frame;
    plan_.init_frame(frame, static_cast<const Frame*>(ctx.frame()));
    const auto& in_slots = plan_.input_slots();
    if (inputs.size() > in_slots.size()) {
      ctx.fail("subgraph '", plan_.graph().name, "' takes ", in_slots.size(), " inputs, got ",
               inputs.size());
    }
    for (size_t i = 0; i < inputs.size(); ++i) frame.slots[in_slots[i]] = inputs[i];
    plan_.execute(frame);
    std::vector<Value> out;
    for (int s : plan_.output_slots()) out.push_back(frame.slots[s]);
    return out;
  }

 private:
  Plan plan_;
};

}  // namespace

int Plan::intern(const std::string& name) {
  auto [it, added] = slot_of_.emplace(name, static_cast<int>(slot_names_.size()));
  if (added) slot_names_.push_back(name);
  return it->second;
}

int Plan::slot(const std::string& name) const {
  auto it = slot_of_.find(name);
  return it == slot_of_.end() ? -1 : it->second;
}

Plan::Plan(const ir::Graph& graph, const PlanContext& ctx, const Plan* outer)
    : graph_(graph), ctx_(ctx) {
  std::vector<std::string> outer_names;
  std::unordered_set<std::string> own;
  for (const auto& in : graph.inputs) own.insert(in.name);
  for (const auto& init : graph.initializers) own.insert(init.name);
  for (const auto& n : graph.nodes) {
    for (const auto& o : n.outputs) own.insert(o);
  }
  if (outer) {
    for (const auto& v : graph.free_variables()) {
      if (outer->slot(v) < 0) {
        fail(ErrorKind::InvalidModel, "subgraph '", graph.name, "' reads '", v,
             "', which the enclosing graph does not define");
      }
      outer_names.push_back(v);
      outer_imports_.emplace_back(intern(v), outer->slot(v));
    }
  }
  std::vector<size_t> order = graph.topological_order(outer_names);

  for (const auto& in : graph.inputs) input_slots_.push_back(intern(in.name));
  std::unordered_set<std::string> overridable;
  for (const auto& in : graph.inputs) overridable.insert(in.name);
  std::unordered_map<std::string, const Tensor*> fixed;
  for (const auto& init : graph.initializers) {
    constants_.emplace_back(intern(init.name), Value(init.value));
    if (!overridable.count(init.name)) fixed[init.name] = &init.value;
  }

  std::vector<int> last_use;
  auto touch = [&](int s, int step) {
    if (static_cast<size_t>(s) >= last_use.size()) last_use.resize(s + 1, -1);
    last_use[s] = std::max(last_use[s], step);
  };
  for (size_t k = 0; k < order.size(); ++k) {
    const ir::Node& node = graph.nodes[order[k]];
    Step step;
    step.node = &node;
    for (const auto& in : node.inputs) {
      step.inputs.push_back(in.empty() ? -1 : intern(in));
      if (!in.empty()) touch(step.inputs.back(), static_cast<int>(k));
    }
    for (const auto& out : node.outputs) step.outputs.push_back(out.empty() ? -1 : intern(out));
    // Values the node's subgraphs read from this scope must live until the node ends.
    for (const auto& attr : node.attributes) {
      std::vector<const ir::Graph*> subs;
      if (attr.g) subs.push_back(attr.g.get());
      for (const auto& g : attr.graphs) subs.push_back(g.get());
      for (const auto* g : subs) {
        for (const auto& v : g->free_variables()) touch(intern(v), static_cast<int>(k));
      }
    }

    int64_t opset = imported_opset(*ctx.model, node);
    const ops::KernelDef* def = &kernel_for(*ctx.model, node);
    ops::KernelInfo info{node, opset, {}, nullptr};
    for (const auto& in : node.inputs) {
      auto it = fixed.find(in);
      info.constant_inputs.push_back(it == fixed.end() ? nullptr : it->second);
    }
    info.compile_subgraph = [this](const ir::Graph& g) -> std::unique_ptr<ops::SubgraphRunner> {
      return std::make_unique<PlannedSubgraph>(g, ctx_, this);
    };
    step.kernel = def->make(info);
    steps_.push_back(std::move(step));
  }
  for (const auto& out : graph.outputs) {
    int s = slot(out.name);
    if (s < 0) {
      fail(ErrorKind::InvalidModel, "graph '", graph.name, "': output '", out.name,
           "' is not produced by any node, input or initializer");
    }
    output_slots_.push_back(s);
  }
  // Release a value after its last reader, unless it is a graph output, an input, a
  // constant or an outer-scope import (those belong to someone else).
  std::unordered_set<int> keep(output_slots_.begin(), output_slots_.end());
  keep.insert(input_slots_.begin(), input_slots_.end());
  for (const auto& [s, v] : constants_) keep.insert(s);
  for (const auto& [s, o] : outer_imports_) keep.insert(s);
  last_use.resize(slot_names_.size(), -1);
  for (size_t s = 0; s < last_use.size(); ++s) {
    if (last_use[s] >= 0 && !keep.count(static_cast<int>(s))) {
      steps_[last_use[s]].release.push_back(static_cast<int>(s));
    }
  }
  for (auto& step : steps_) {
    step.last_read.assign(step.inputs.size(), 0);
    for (size_t j = 0; j < step.inputs.size(); ++j) {
      int s = step.inputs[j];
      if (s < 0 || std::count(step.inputs.begin(), step.inputs.end(), s) != 1) continue;
      step.last_read[j] = std::count(step.release.begin(), step.release.end(), s) ? 1 : 0;
    }
  }
  if (ctx_.profile) step_ms_.assign(steps_.size(), 0.0);
  // Outputs nobody reads are released right after the step that makes them.
  for (size_t k = 0; k < steps_.size(); ++k) {
    for (int s : steps_[k].outputs) {
      if (s >= 0 && last_use[s] < 0 && !keep.count(s)) steps_[k].release.push_back(s);
    }
  }
}

void Plan::init_frame(Frame& frame, const Frame* outer) const {
  frame.slots.assign(slot_names_.size(), Value());
  for (const auto& [s, v] : constants_) frame.slots[s] = v;
  if (outer) {
    for (const auto& [mine, theirs] : outer_imports_) frame.slots[mine] = outer->slots[theirs];
  }
}

void Plan::record(const std::string& op_type, std::chrono::steady_clock::duration d) const {
  for (auto& p : *ctx_.profile) {
    if (p.op_type == op_type) {
      p.total_ms += std::chrono::duration<double, std::milli>(d).count();
      ++p.calls;
      return;
    }
  }
  ctx_.profile->push_back({op_type, std::chrono::duration<double, std::milli>(d).count(), 1});
}

void Plan::execute(Frame& frame) const {
  std::vector<Value*> ins, outs;
  for (const auto& step : steps_) {
    // Between nodes, where nothing is half written: one relaxed load per node.
    if (interrupt_requested()) {
      fail(ErrorKind::Interrupted, "interrupted before ", step.node->describe());
    }
    ins.clear();
    outs.clear();
    for (int s : step.inputs) ins.push_back(s < 0 ? nullptr : &frame.slots[s]);
    for (int s : step.outputs) outs.push_back(s < 0 ? nullptr : &frame.slots[s]);
    ops::KernelContext kctx(*step.node, ins, outs, *ctx_.pool, ctx_.buffers, &frame);
    kctx.set_last_reads(&step.last_read);
    auto t0 =
        ctx_.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      step.kernel->compute(kctx);
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.find(step.node->describe()) == std::string::npos) {
        rethrow_with_context(e, step.node->describe());
      }
      throw;
    } catch (const std::bad_alloc&) {
      // A kernel's own scratch (index tables, copies) that the machine could not give.
      fail(ErrorKind::ResourceLimit, step.node->describe(), ": out of memory");
    }
    if (ctx_.profile) {
      auto d = std::chrono::steady_clock::now() - t0;
      record(step.node->op_type, d);
      step_ms_[static_cast<size_t>(&step - steps_.data())] +=
          std::chrono::duration<double, std::milli>(d).count();
    }
    for (int s : step.release) frame.slots[s] = Value();
  }
}

std::vector<Plan::StepTime> Plan::step_times() const {
  std::vector<StepTime> out;
  for (size_t k = 0; k < step_ms_.size(); ++k) out.push_back({steps_[k].node, step_ms_[k]});
  return out;
}

int64_t imported_opset(const ir::Model& model, const ir::Node& node) {
  // The runtime's own ops come from its rewrites, not from the model's imports.
  return node.domain == ops::kRuntimeDomain ? 1 : model.opset(node.domain);
}

const ops::KernelDef& kernel_for(const ir::Model& model, const ir::Node& node) {
  int64_t opset = imported_opset(model, node);
  if (opset == 0) {
    fail(ErrorKind::InvalidModel, node.describe(), ": domain '", node.domain,
         "' is not imported by the model (opset_import)");
  }
  if (const ops::KernelDef* def = ops::registry().find(node.domain, node.op_type, opset))
    return *def;
  if (node.domain == "ai.onnx.preview.training" && node.op_type == "Gradient") {
    // Gradient is a graph rewrite, not a kernel, and autodiff sits above the runtime.
    fail(ErrorKind::Unsupported, node.describe(),
         ": Gradient nodes are replaced by their gradient subgraphs before a session is "
         "made: call autodiff::lower_gradient_ops(model) first (onyx run does)");
  }
  if (ops::registry().knows(node.domain, node.op_type)) {
    fail(ErrorKind::Unsupported, node.describe(), ": onyx has no kernel for ", node.op_type,
         " at opset ", opset);
  }
  fail(ErrorKind::Unsupported, node.describe(), ": unknown op '", node.op_type, "'",
       node.domain.empty() ? std::string() : " in domain '" + node.domain + "'");
}

namespace {

void collect_missing(const ir::Model& m, const ir::Graph& g, std::vector<std::string>& out) {
  for (const auto& n : g.nodes) {
    try {
      kernel_for(m, n);
    } catch (const Error& e) {
      out.push_back(e.what());
    }
    for (const auto& a : n.attributes) {
      if (a.g) collect_missing(m, *a.g, out);
      for (const auto& sg : a.graphs) collect_missing(m, *sg, out);
    }
  }
}

}  // namespace

std::vector<std::string> missing_kernels(const ir::Model& model) {
  std::vector<std::string> out;
  collect_missing(model, *model.graph, out);
  return out;
}

}  // namespace onyx::runtime
