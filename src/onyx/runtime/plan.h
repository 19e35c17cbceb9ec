// ExecutionPlan: a graph turned, once, into steps that run without further lookups:
// value slots instead of names, one kernel per node, and for each step the slots whose
// last reader it is (released afterwards, so their buffers return to the pool).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "onyx/ir/graph.h"
#include "onyx/ops/kernel.h"

namespace onyx::runtime {

struct Frame;

// Time spent per op type, filled when profiling is on.
struct OpProfile {
  std::string op_type;
  double total_ms = 0;
  int64_t calls = 0;
};

struct PlanContext {
  const ir::Model* model;  // for opset imports
  ThreadPool* pool;
  BufferPool* buffers;
  std::vector<OpProfile>* profile = nullptr;  // null: not profiling
};

class Plan {
 public:
  // `outer` is the plan of the enclosing graph for subgraphs (null for the main graph).
  Plan(const ir::Graph& graph, const PlanContext& ctx, const Plan* outer);

  struct Step {
    const ir::Node* node;
    std::unique_ptr<ops::Kernel> kernel;
    std::vector<int> inputs;   // slot per input, -1 when omitted
    std::vector<int> outputs;  // slot per output, -1 when omitted
    std::vector<int> release;  // slots dead after this step
    // Per input: this step is the slot's last reader, and reads it once (the kernel may
    // then reuse its buffer for an output).
    std::vector<char> last_read;
  };

  const ir::Graph& graph() const { return graph_; }
  int slot(const std::string& name) const;  // -1 when unknown
  size_t num_slots() const { return slot_names_.size(); }
  const std::vector<int>& input_slots() const { return input_slots_; }
  const std::vector<int>& output_slots() const { return output_slots_; }

  // Fills constants and outer-scope values into a new frame.
  void init_frame(Frame& frame, const Frame* outer) const;
  // Runs every step; inputs must already be in the frame's slots.
  void execute(Frame& frame) const;

  struct StepTime {
    const ir::Node* node;
    double total_ms;
  };
  // Time per step of this graph over all runs so far, in step order (empty unless
  // profiling).
  std::vector<StepTime> step_times() const;

 private:
  int intern(const std::string& name);
  void record(const std::string& op_type, std::chrono::steady_clock::duration d) const;

  const ir::Graph& graph_;
  PlanContext ctx_;
  std::vector<std::string> slot_names_;
  std::unordered_map<std::string, int> slot_of_;
  std::vector<std::pair<int, Value>> constants_;
  std::vector<std::pair<int, int>> outer_imports_;  // (our slot, outer plan's slot)
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  std::vector<Step> steps_;
  mutable std::vector<double> step_ms_;  // per step, when profiling (else empty)
};

struct Frame {
  std::vector<Value> slots;
};

// The kernel a node of `model` runs with, or an error (Unsupported, InvalidModel) naming
// the node and why none fits: its domain is not imported, the op is unknown, or no kernel
// covers the model's opset.
const ops::KernelDef& kernel_for(const ir::Model& model, const ir::Node& node);
// The opset version the node's domain is imported at (1 for the runtime's own ops).
int64_t imported_opset(const ir::Model& model, const ir::Node& node);

// Every node of the model, subgraphs included, that kernel_for refuses, as its message.
std::vector<std::string> missing_kernels(const ir::Model& model);

}  // namespace onyx::runtime
