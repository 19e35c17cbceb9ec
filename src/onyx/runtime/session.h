// Session: a model planned once for execution; run() many times.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "onyx/core/value.h"
#include "onyx/ir/graph.h"

namespace onyx::runtime {

class Plan;
struct Frame;

struct SessionOptions {
  int threads = 0;          // 0: one per hardware thread
  // The memory budget in bytes (core/limits.h: all tensors at once); 0 keeps the current one.
  size_t memory_limit = 0;
  // Most iterations a Loop node may run (core/limits.h); 0 keeps the current bound (none
  // unless set). A Loop whose condition never turns false then ends in ResourceLimit.
  int64_t max_loop_iterations = 0;
  bool profile = false;  // time every op type (see Session::profile)
  // Rewrite the graph for speed before planning (the passes of runtime/passes.h); the
  // results are the same either way, to rounding. Off: every node runs as written.
  bool optimize = true;
};

struct OpTime {
  std::string op_type;
  double total_ms;
  int64_t calls;
};

struct NodeTime {
  std::string node;  // its description: "node 'conv1' (Conv)"
  double total_ms;
};

using NamedValues = std::vector<std::pair<std::string, Value>>;

class Session {
 public:
  explicit Session(ir::Model model, SessionOptions options = {});
  static Session from_file(const std::string& path, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;

  const ir::Model& model() const { return *model_; }
  // Inputs the caller must or may feed (initializers listed as inputs are optional).
  const std::vector<ir::ValueInfo>& inputs() const;
  const std::vector<ir::ValueInfo>& outputs() const;
  int threads() const;

  // Feeds inputs by name and returns the graph outputs in order. Checks names, element
  // types and known dimensions of the inputs.
  std::vector<Value> run(const NamedValues& feeds);

  // Carries state from run to run (a training step's parameters and optimizer state):
  // after each run, output `output` becomes the value of input `input` for the next run,
  // unless that run feeds it. The tensors move; nothing is copied.
  void bind(const std::vector<std::pair<std::string, std::string>>& input_output);
  // The value a bound input holds now (its initializer until the first run).
  Value bound_value(const std::string& input) const;

  // Time per op type over all runs so far, slowest first (empty unless options.profile).
  std::vector<OpTime> profile() const;
  // Time per node of the main graph over all runs so far, slowest first (empty unless
  // options.profile). A node with a subgraph (Loop, If) counts the subgraph's time.
  std::vector<NodeTime> node_profile() const;

  // Buffers newly allocated by the pool so far (steady-state runs add none).
  size_t pool_allocations() const;

 private:
  struct State;
  std::unique_ptr<ir::Model> model_;
  std::unique_ptr<State> state_;
};

}  // namespace onyx::runtime
