#include "onyx/runtime/session.h"

#include <algorithm>
#include <unordered_map>

#include "onyx/core/limits.h"
#include "onyx/onnx/functions.h"
#include "onyx/onnx/model_io.h"
#include "onyx/ops/registry.h"
#include "onyx/runtime/passes.h"
#include "onyx/runtime/plan.h"

namespace onyx::runtime {

struct Session::State {
  std::unique_ptr<ThreadPool> pool;
  BufferPool buffers;
  std::shared_ptr<const ir::Graph> exec_graph;  // the model's graph with function ops expanded
  std::unique_ptr<Plan> plan;
  Frame frame;
  std::mutex run_mu;
  std::unordered_map<std::string, size_t> input_index;
  std::vector<OpProfile> profile;
  struct Bound {
    size_t input, output;
    Value value;  // empty until a run produced it
  };
  std::vector<Bound> bound;
};

namespace {

std::string type_of(const Value& v) {
  if (v.is_tensor())
    return std::string(dtype_name(v.tensor().dtype())) + shape_str(v.tensor().shape());
  if (v.is_sequence()) return "sequence";
  if (v.is_optional()) return "optional";
  if (v.is_map()) return "map";
  return "nothing";
}

void check_feed(const ir::ValueInfo& info, const Value& v, const std::string& model) {
  using K = ir::TypeInfo::Kind;
  const ir::TypeInfo& t = info.type;
  auto bad = [&](const std::string& why) {
    fail(ErrorKind::InvalidArgument, model, ": input '", info.name, "': expected ", t.str(),
         ", got ", type_of(v), why.empty() ? "" : " (" + why + ")");
  };
  if (t.kind == K::Tensor) {
    if (!v.is_tensor()) bad("not a tensor");
    const Tensor& x = v.tensor();
    if (t.elem != DType::Undefined && x.dtype() != t.elem) bad("wrong element type");
    if (t.shape) {
      if (static_cast<size_t>(x.rank()) != t.shape->size()) bad("wrong rank");
      for (size_t i = 0; i < t.shape->size(); ++i) {
        const auto& d = (*t.shape)[i];
        if (d.value && *d.value != x.dim(static_cast<int64_t>(i))) {
          bad("dimension " + std::to_string(i) + " must be " + std::to_string(*d.value));
        }
      }
    }
  } else if (t.kind == K::Sequence && !v.is_sequence()) {
    bad("not a sequence");
  } else if (t.kind == K::Optional && !v.is_optional()) {
    bad("not an optional");
  } else if (t.kind == K::Map && !v.is_map()) {
    bad("not a map");
  }
}

}  // namespace

Session::Session(ir::Model model, SessionOptions options)
    : model_(std::make_unique<ir::Model>(std::move(model))), state_(std::make_unique<State>()) {
  if (options.memory_limit) set_memory_limit(options.memory_limit);
  if (options.max_loop_iterations > 0) set_max_loop_iterations(options.max_loop_iterations);
  int threads = options.threads > 0 ? options.threads : default_thread_count();
  state_->pool = std::make_unique<ThreadPool>(threads);
  PlanContext ctx{model_.get(), state_->pool.get(), &state_->buffers,
                  options.profile ? &state_->profile : nullptr};
  const std::string& name = model_->path.empty() ? std::string("model") : model_->path;
  try {
    const ir::Model& m = *model_;
    state_->exec_graph = onnx_io::expand_functions(model_->graph, m, [&m](const ir::Node& n) {
      int64_t opset = m.opset(n.domain);
      return opset == 0 || ops::registry().find(n.domain, n.op_type, opset) != nullptr;
    });
    if (options.optimize)
      state_->exec_graph = optimize_graph(state_->exec_graph, m, PassLevel::Runtime);
    state_->plan = std::make_unique<Plan>(*state_->exec_graph, ctx, nullptr);
  } catch (const Error& e) {
    rethrow_with_context(e, name);
  }
  const auto& ins = model_->graph->inputs;
  for (size_t i = 0; i < ins.size(); ++i) state_->input_index[ins[i].name] = i;
}

Session Session::from_file(const std::string& path, SessionOptions options) {
  return Session(onnx_io::load_model(path), options);
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

const std::vector<ir::ValueInfo>& Session::inputs() const {
  return model_->graph->inputs;
}
const std::vector<ir::ValueInfo>& Session::outputs() const {
  return model_->graph->outputs;
}
int Session::threads() const {
  return state_->pool->size();
}
std::vector<OpTime> Session::profile() const {
  std::vector<OpTime> out;
  for (const auto& p : state_->profile) out.push_back({p.op_type, p.total_ms, p.calls});
  std::sort(out.begin(), out.end(),
            [](const OpTime& a, const OpTime& b) { return a.total_ms > b.total_ms; });
  return out;
}

std::vector<NodeTime> Session::node_profile() const {
  std::vector<NodeTime> out;
  for (const auto& t : state_->plan->step_times()) out.push_back({t.node->describe(), t.total_ms});
  std::sort(out.begin(), out.end(),
            [](const NodeTime& a, const NodeTime& b) { return a.total_ms > b.total_ms; });
  return out;
}

size_t Session::pool_allocations() const {
  return state_->buffers.allocations();
}

std::vector<Value> Session::run(const NamedValues& feeds) {
  std::lock_guard<std::mutex> lock(state_->run_mu);
  const std::string& name = model_->path.empty() ? std::string("model") : model_->path;
  const ir::Graph& g = *model_->graph;
  Plan& plan = *state_->plan;
  Frame& frame = state_->frame;
  plan.init_frame(frame, nullptr);
  std::vector<bool> fed(g.inputs.size(), false);
  for (const auto& [input_name, value] : feeds) {
    auto it = state_->input_index.find(input_name);
    if (it == state_->input_index.end()) {
      std::string known;
      for (const auto& in : g.inputs) {
        if (!g.find_initializer(in.name)) known += (known.empty() ? "" : ", ") + in.name;
      }
      fail(ErrorKind::InvalidArgument, name, ": unknown input '", input_name,
           "'; the model's inputs are: ", known.empty() ? "(none)" : known);
    }
    check_feed(g.inputs[it->second], value, name);
    frame.slots[plan.input_slots()[it->second]] = value;
    fed[it->second] = true;
  }
  for (const auto& b : state_->bound) {
    if (!fed[b.input] && b.value.is_tensor()) {
      frame.slots[plan.input_slots()[b.input]] = b.value;
      fed[b.input] = true;
    }
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (!fed[i] && !g.find_initializer(g.inputs[i].name)) {
      fail(ErrorKind::InvalidArgument, name, ": missing input '", g.inputs[i].name, "' (",
           g.inputs[i].type.str(), ")");
    }
  }
  try {
    plan.execute(frame);
  } catch (const Error& e) {
    frame.slots.clear();
    rethrow_with_context(e, name);
  }
  std::vector<Value> out;
  out.reserve(plan.output_slots().size());
  for (int s : plan.output_slots()) out.push_back(frame.slots[s]);
  for (auto& b : state_->bound) b.value = out[b.output];
  // Drop the frame's references so that outputs the caller keeps are not shared with
  // the next run and pooled buffers return.
  for (auto& v : frame.slots) v = Value();
  return out;
}

void Session::bind(const std::vector<std::pair<std::string, std::string>>& input_output) {
  std::lock_guard<std::mutex> lock(state_->run_mu);
  const std::string& name = model_->path.empty() ? std::string("model") : model_->path;
  const ir::Graph& g = *model_->graph;
  std::vector<State::Bound> bound;
  for (const auto& pair : input_output) {
    const std::string &in = pair.first, &out = pair.second;
    auto i = state_->input_index.find(in);
    if (i == state_->input_index.end()) {
      fail(ErrorKind::InvalidArgument, name, ": cannot bind '", in, "': not an input");
    }
    auto o = std::find_if(g.outputs.begin(), g.outputs.end(),
                          [&](const ir::ValueInfo& v) { return v.name == out; });
    if (o == g.outputs.end()) {
      fail(ErrorKind::InvalidArgument, name, ": cannot bind '", in, "' to '", out,
           "': not an output");
    }
    bound.push_back({i->second, static_cast<size_t>(o - g.outputs.begin()), Value()});
  }
  state_->bound = std::move(bound);
}

Value Session::bound_value(const std::string& input) const {
  std::lock_guard<std::mutex> lock(state_->run_mu);
  auto i = state_->input_index.find(input);
  for (const auto& b : state_->bound) {
    if (i != state_->input_index.end() && b.input == i->second) {
      if (b.value.is_tensor()) return b.value;
      if (const ir::Initializer* init = model_->graph->find_initializer(input)) return init->value;
      return Value();
    }
  }
  fail(ErrorKind::InvalidArgument, "'", input, "' is not a bound input");
}

}  // namespace onyx::runtime
