// Gradient rules for If and Loop. Their subgraphs read values of the enclosing graph by
// name; the backward pass is the same control flow over subgraphs that are the gradients
// of the forward ones (built by the VJP builder itself) with respect to those values.
//
// If: an If on the same condition, one gradient branch per forward branch.
//
// Loop (when unroll_loops cannot unroll it, its number of iterations depending on data):
// the forward Loop is made to record, as extra scan outputs, each iteration's number and
// loop-carried inputs. The backward pass is a Loop over the same iterations in reverse
// whose body recomputes the forward body from those records and runs its gradient graph,
// carrying the gradients of the loop-carried values and summing those of the enclosing
// values the body reads.
#include <algorithm>
#include <set>

#include "onyx/autodiff/rules.h"
#include "onyx/autodiff/vjp.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

ir::TypeInfo type_of(GradContext& g, const std::string& v) {
  auto t = g.types().find(v);
  return t != g.types().end() ? t->second : ir::TypeInfo{};
}

// Every value subgraph `bg` computes gets `prefix` (those that have it already keep their
// names), so that none repeats a name of an enclosing scope; reads follow.
void prefix_definitions(ir::Graph& bg, const std::string& prefix) {
  std::map<std::string, std::string> rename;
  for (auto& init : bg.initializers) {  // constants the gradient builder added
    if (init.name.rfind(prefix, 0) == 0) continue;
    rename[init.name] = prefix + init.name;
    init.name = rename[init.name];
  }
  for (auto& n : bg.nodes) {
    for (auto& o : n.outputs) {
      if (o.empty() || o.rfind(prefix, 0) == 0) continue;
      rename[o] = prefix + o;
      o = rename[o];
    }
  }
  ir::rename_reads(bg, rename);
}

// The gradient graph of one branch: it reads the enclosing values and the gradients
// arriving at the If's outputs, and outputs the gradient of each of `outer`.
std::shared_ptr<ir::Graph> branch_gradient(GradContext& g, const char* name,
                                           const std::vector<size_t>& seeded,
                                           const std::string& prefix) {
  const ir::Node& node = g.node();
  const ir::Attribute* a = node.find_attr(name);
  if (!a || !a->g) g.fail("attribute '", name, "' is missing");
  const ir::Graph& branch = *a->g;
  ir::Model m;
  m.ir_version = g.model().ir_version;
  m.opset_import = g.model().opset_import;
  m.graph = ir::deep_copy(branch);  // its nested subgraphs get renamed below
  ir::Graph& bg = *m.graph;
  // The branch as a graph of its own: what it reads from outside becomes its inputs.
  std::set<std::string> inputs;
  auto add_input = [&](const std::string& v) {
    if (!inputs.insert(v).second) return;
    bg.inputs.push_back({v, type_of(g, v), ""});
  };
  for (const auto& v : branch.free_variables()) add_input(v);
  for (const auto& v : g.outer()) add_input(v);
  VjpSpec spec;
  for (size_t k : seeded) {
    if (k >= branch.outputs.size()) g.fail("branch '", name, "' has too few outputs");
    spec.ys.push_back(branch.outputs[k].name);
    std::string seed = g.dy(k);
    add_input(seed);
    spec.seeds.push_back(seed);
  }
  for (size_t i = 0; i < g.outer().size(); ++i) {
    spec.wrt.push_back(g.outer()[i]);
    spec.names.push_back(prefix + "d" + std::to_string(i));
  }
  append_vjp(m, spec);
  // Back to a subgraph: the added inputs are enclosing values again.
  bg.inputs.clear();
  bg.outputs.clear();
  for (size_t i = 0; i < spec.names.size(); ++i) {
    bg.outputs.push_back({spec.names[i], type_of(g, g.outer()[i]), ""});
  }
  prefix_definitions(bg, prefix);
  bg.name = prefix + name;
  bg.remove_unused();
  return m.graph;
}

void if_rule(GradContext& g) {
  if (g.outer().empty()) return;  // the condition has no gradient
  std::vector<size_t> seeded;
  for (size_t k = 0; k < g.node().outputs.size(); ++k) {
    if (g.has_dy(k)) seeded.push_back(k);
  }
  std::string prefix = g.unique(g.node().name.empty() ? "if_grad" : g.node().name + "_grad") + "/";
  auto then_g = branch_gradient(g, "then_branch", seeded, prefix + "then/");
  auto else_g = branch_gradient(g, "else_branch", seeded, prefix + "else/");
  std::vector<std::string> grads = g.ops(
      "If", {g.x(0)}, {attr("then_branch", then_g), attr("else_branch", else_g)}, g.outer().size());
  for (size_t i = 0; i < grads.size(); ++i) g.set_outer_dx(g.outer()[i], grads[i]);
}

void loop_rule(GradContext& g) {
  const ir::Attribute* ba = g.node().find_attr("body");
  if (!ba || !ba->g) g.fail("attribute 'body' is missing");
  const ir::Graph body = *ba->g;  // a copy: edit_node below replaces the attribute's graph
  size_t carried = g.num_inputs() >= 2 ? g.num_inputs() - 2 : 0;
  if (body.inputs.size() != carried + 2 || body.outputs.size() < carried + 1) {
    g.fail("the body's inputs and outputs do not match the loop-carried values");
  }
  size_t scans = body.outputs.size() - 1 - carried;
  std::string prefix = g.unique((g.node().name.empty() ? "loop" : g.node().name) + "_grad") + "/";
  auto is_float = [](const ir::TypeInfo& t) { return is_floating(t.elem); };
  bool any = !g.outer().empty();
  for (size_t k = 0; k < carried; ++k) {
    any |= is_float(body.inputs[k + 2].type) || is_floating(g.dtype(g.x(k + 2)));
  }
  if (!any) return;  // nothing floating flows through the loop

  // The forward Loop records each iteration's number and loop-carried inputs: [T, ...].
  std::vector<std::string> records;
  g.edit_node([&](ir::Node& n) {
    n.outputs.resize(carried + scans);
    for (auto& a : n.attributes) {
      if (a.name != "body") continue;
      a.g = ir::deep_copy(*a.g);
      for (size_t k = 0; k <= carried; ++k) {
        const ir::ValueInfo& in = a.g->inputs[k == 0 ? 0 : k + 1];
        std::string rec = prefix + "record" + std::to_string(k);
        a.g->nodes.push_back(ir::make_node("Identity", {in.name}, {rec}));
        a.g->outputs.push_back({rec, in.type, ""});
        n.outputs.push_back(g.unique(rec));
        records.push_back(n.outputs.back());
      }
    }
  });
  std::string trips = g.op("Gather", {g.shape(records[0]), g.constant(Tensor::scalar<int64_t>(0))});

  // The body's gradient graph, with the enclosing values it reads as inputs for the while.
  ir::Model m;
  m.ir_version = g.model().ir_version;
  m.opset_import = g.model().opset_import;
  m.graph = ir::deep_copy(body);
  ir::Graph& bg = *m.graph;
  std::vector<std::string> free = body.free_variables();
  for (const auto& v : g.outer()) {
    if (std::find(free.begin(), free.end(), v) == free.end()) free.push_back(v);
  }
  for (const auto& v : free) bg.inputs.push_back({v, type_of(g, v), ""});
  VjpSpec spec;
  std::vector<size_t> grads;  // the carried values that get gradients (floating-point)
  std::vector<ir::ValueInfo> seeds;
  for (size_t k = 0; k < carried; ++k) {
    if (!is_float(body.inputs[k + 2].type) && !is_floating(g.dtype(g.x(k + 2)))) continue;
    grads.push_back(k);
    std::string seed = prefix + "d" + body.inputs[k + 2].name;
    seeds.push_back({seed, body.inputs[k + 2].type, ""});
    spec.ys.push_back(body.outputs[k + 1].name);
    spec.seeds.push_back(seed);
    spec.wrt.push_back(body.inputs[k + 2].name);
    spec.names.push_back(prefix + "dprev" + std::to_string(k));
  }
  std::vector<std::pair<std::string, size_t>> scan_seeds;  // seed name, Loop output index
  for (size_t j = 0; j < scans; ++j) {
    const ir::ValueInfo& out = body.outputs[1 + carried + j];
    if (!is_float(out.type) && !is_floating(g.dtype(g.y(carried + j)))) continue;
    std::string seed = prefix + "dscan" + std::to_string(j);
    bg.inputs.push_back({seed, out.type, ""});
    spec.ys.push_back(out.name);
    spec.seeds.push_back(seed);
    scan_seeds.push_back({seed, carried + j});
  }
  for (const auto& s : seeds) bg.inputs.push_back(s);
  for (size_t o = 0; o < g.outer().size(); ++o) {
    spec.wrt.push_back(g.outer()[o]);
    spec.names.push_back(prefix + "douter" + std::to_string(o));
  }
  append_vjp(m, spec);
  std::string k_in = prefix + "k", cond_in = prefix + "cond", t = prefix + "t";
  std::string one = prefix + "one", last = prefix + "last", yes = prefix + "true";

  bg.inputs = {{k_in, ir::TypeInfo::tensor(DType::Int64, Shape{}), ""},
               {cond_in, ir::TypeInfo::tensor(DType::Bool, Shape{}), ""}};
  bg.inputs.insert(bg.inputs.end(), seeds.begin(), seeds.end());
  bg.outputs = {{yes, ir::TypeInfo::tensor(DType::Bool, Shape{}), ""}};
  for (size_t i = 0; i < grads.size(); ++i)
    bg.outputs.push_back({spec.names[i], seeds[i].type, ""});
  std::vector<std::string> initial{trips, ""};
  for (size_t k : grads) initial.push_back(g.dy(k));
  for (size_t o = 0; o < g.outer().size(); ++o) {
    std::string acc = prefix + "acc" + std::to_string(o), sum = prefix + "sum" + std::to_string(o);
    bg.inputs.push_back({acc, type_of(g, g.outer()[o]), ""});
    bg.nodes.push_back(ir::make_node("Add", {acc, spec.names[grads.size() + o]}, {sum}));
    bg.outputs.push_back({sum, type_of(g, g.outer()[o]), ""});
    initial.push_back(g.zeros_like(g.outer()[o]));
  }
  // Renamed before the head below is added: the head reads enclosing values (records,
  // gradients) whose names the gradient builder did not know, and may have reused.
  prefix_definitions(bg, prefix);
  // As the backward Loop's body: iteration k redoes forward iteration t = T - 1 - k from
  // the records (and reads the scan outputs' gradients at t).
  std::vector<ir::Node> head;
  head.push_back(ir::make_node("Constant", {}, {one}, {attr("value", Tensor::scalar<int64_t>(1))}));
  head.push_back(ir::make_node("Constant", {}, {yes}, {attr("value", Tensor::scalar<bool>(true))}));
  head.push_back(ir::make_node("Sub", {trips, one}, {last}));
  head.push_back(ir::make_node("Sub", {last, k_in}, {t}));
  auto at_t = [&](const std::string& stack, const std::string& name) {
    head.push_back(ir::make_node("Gather", {stack, t}, {name}));
  };
  at_t(records[0], body.inputs[0].name);
  head.push_back(ir::make_node("Identity", {yes}, {body.inputs[1].name}));
  for (size_t k = 0; k < carried; ++k) at_t(records[k + 1], body.inputs[k + 2].name);
  for (const auto& [seed, output] : scan_seeds) at_t(g.dy(output), seed);
  bg.nodes.insert(bg.nodes.begin(), head.begin(), head.end());
  bg.name = prefix + "body";
  bg.remove_unused();
  std::vector<std::string> out =
      g.ops("Loop", initial, {attr("body", m.graph)}, grads.size() + g.outer().size());
  for (size_t i = 0; i < grads.size(); ++i) g.set_dx(grads[i] + 2, out[i]);
  for (size_t o = 0; o < g.outer().size(); ++o) g.set_outer_dx(g.outer()[o], out[grads.size() + o]);
}

constexpr GradDef kDefs[] = {
    {"", "If", 1, kLatestOpset, if_rule},
    {"", "Loop", 1, kLatestOpset, loop_rule},
};

}  // namespace

std::span<const GradDef> control_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
