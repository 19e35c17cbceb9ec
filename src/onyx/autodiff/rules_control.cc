// Gradient rule for If. Its branches read values of the enclosing graph by name; the
// backward pass is an If on the same condition whose branches are the gradients of the
// forward branches (built by the VJP builder itself) with respect to those values.
#include <set>

#include "onyx/autodiff/rules.h"
#include "onyx/autodiff/vjp.h"

namespace onyx::autodiff {

namespace {

using ir::attr;

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
    auto t = g.types().find(v);
    bg.inputs.push_back({v, t != g.types().end() ? t->second : ir::TypeInfo{}, ""});
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
  // Back to a subgraph: the added inputs are enclosing values again; every value the
  // branch computes gets the prefix, so that none repeats a name of an enclosing scope.
  bg.inputs.clear();
  std::map<std::string, std::string> rename;
  for (auto& n : bg.nodes) {
    for (auto& o : n.outputs) {
      if (o.empty() || o.rfind(prefix, 0) == 0) continue;
      rename[o] = prefix + o;
      o = rename[o];
    }
  }
  bg.outputs.clear();
  for (size_t i = 0; i < spec.names.size(); ++i) {
    auto t = g.types().find(g.outer()[i]);
    bg.outputs.push_back({spec.names[i], t != g.types().end() ? t->second : ir::TypeInfo{}, ""});
  }
  ir::rename_reads(bg, rename);
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

constexpr GradDef kDefs[] = {
    {"", "If", 1, kLatestOpset, if_rule},
};

}  // namespace

std::span<const GradDef> control_rules() {
  return kDefs;
}

}  // namespace onyx::autodiff
