// The default domain's opset steps past libonnx 1.12's version converter (which stops at 17):
// 17 to 23 and back, one version at a time. Only the steps that change an op's form have an
// adapter; the rest of these versions widened type constraints, which needs no rewrite.
// Going down past an op's first version is refused, naming the op.
#include "onyx/onnx/opset_steps.h"

#include <algorithm>
#include <cstring>

#include "onyx/core/error.h"
#include "onyx/ir/builder.h"

namespace onyx::onnx_io {

namespace {

using ir::Attribute;
using ir::AttrType;
using ir::Graph;
using ir::Node;

[[noreturn]] void refuse(const Node& n, int64_t from, int64_t to, const std::string& why) {
  fail(ErrorKind::Unsupported, n.describe(), ": cannot convert from opset ", from, " to ", to, ": ",
       why);
}

void erase_attr(Node& n, const char* name) {
  n.attributes.erase(std::remove_if(n.attributes.begin(), n.attributes.end(),
                                    [&](const Attribute& a) { return a.name == name; }),
                     n.attributes.end());
}

void set_input(Node& n, size_t i, const std::string& value) {
  if (n.inputs.size() <= i) n.inputs.resize(i + 1);
  n.inputs[i] = value;
}

// The constant integer values of input i (an initializer or a Constant), or refuses.
std::vector<int64_t> constant_ints(const Graph& g, const Node& n, size_t i, int64_t from,
                                   int64_t to) {
  auto v = g.constant_value(n.input(i));
  if (!v || !(is_integer(v->dtype()))) {
    refuse(n, from, to,
           "input " + std::to_string(i) + " must be a constant to become an attribute");
  }
  return v->to_int64s();
}

void drop_trailing_empty(Node& n) {
  while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
}

struct Step {
  Graph& graph;
  ir::GraphBuilder& builder;
  int64_t from, to;
};

// Opset 18: the Reduce ops other than ReduceSum take axes as input 1, not an attribute.
void reduce_axes_up(Step& s, Node& n) {
  const Attribute* a = n.find_attr("axes");
  if (!a) return;  // all axes either way
  std::vector<int64_t> axes = a->ints;
  erase_attr(n, "axes");
  set_input(
      n, 1,
      s.builder.constant(n.name.empty() ? "axes" : n.name + "_axes",
                         Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes)));
}

void reduce_axes_down(Step& s, Node& n) {
  if (!n.has_input(1)) return;
  if (n.attr_int("noop_with_empty_axes", 0) != 0) {
    refuse(n, s.from, s.to, "noop_with_empty_axes has no form before opset 18");
  }
  n.attributes.push_back(ir::attr("axes", constant_ints(s.graph, n, 1, s.from, s.to)));
  n.inputs.resize(1);
}

// Opset 20: DFT's axis moved from an attribute (default 1) to input 2 (default -2).
void dft_axis_up(Step& s, Node& n) {
  int64_t axis = n.attr_int("axis", 1);
  erase_attr(n, "axis");
  set_input(n, 2,
            s.builder.constant(n.name.empty() ? "axis" : n.name + "_axis",
                               Tensor::scalar<int64_t>(axis)));
}

void dft_axis_down(Step& s, Node& n) {
  int64_t axis = n.has_input(2) ? constant_ints(s.graph, n, 2, s.from, s.to).at(0) : -2;
  if (n.attr_int("onesided", 0) && n.attr_int("inverse", 0)) {
    refuse(n, s.from, s.to, "the onesided inverse DFT has no form before opset 20");
  }
  if (n.inputs.size() > 2) n.inputs.resize(2);
  drop_trailing_empty(n);
  n.attributes.push_back(ir::attr("axis", axis));
}

// Opset 20: GridSample's modes bilinear and bicubic were renamed linear and cubic.
void rename_mode(Node& n, const char* from, const char* to) {
  for (auto& a : n.attributes) {
    if (a.name == "mode" && a.type == AttrType::String && a.s == from) a.s = to;
  }
}
void grid_sample_up(Step&, Node& n) {
  rename_mode(n, "bilinear", "linear");
  rename_mode(n, "bicubic", "cubic");
  if (!n.has_attr("mode")) n.attributes.push_back(ir::attr("mode", "linear"));  // renamed too
}
void grid_sample_down(Step&, Node& n) {
  rename_mode(n, "linear", "bilinear");
  rename_mode(n, "cubic", "bicubic");
}

// Opset 21: GroupNormalization's scale and bias went from one value per group to one per
// channel. Up: each group's value repeated over its channels, at run time (C need not be
// known): Reshape(Expand(Unsqueeze(p, 1), [G, C / G]), [-1]).
void group_norm_up(Step& s, Node& n) {
  int64_t groups = n.attr_int("num_groups", 0);
  if (groups < 1) refuse(n, s.from, s.to, "num_groups must be positive");
  ir::GraphBuilder& b = s.builder;
  auto ints = [&](std::vector<int64_t> v) {
    return b.constant("c", Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  };
  std::string channels = b.op("Gather", {b.op("Shape", {n.input(0)}), ints({1})});
  std::string per = b.op("Div", {channels, ints({groups})});
  std::string target = b.op("Concat", {ints({groups}), per}, {ir::attr("axis", int64_t{0})});
  for (size_t i : {size_t{1}, size_t{2}}) {
    std::string col = b.op("Unsqueeze", {n.input(i), ints({1})});
    n.inputs[i] = b.op("Reshape", {b.op("Expand", {col, target}), ints({-1})});
  }
}

// Down: only when every group's channels share one value (constants), else refused.
void group_norm_down(Step& s, Node& n) {
  int64_t groups = n.attr_int("num_groups", 0);
  for (size_t i : {size_t{1}, size_t{2}}) {
    auto v = s.graph.constant_value(n.input(i));
    if (!v || groups < 1 || v->numel() % groups != 0) {
      refuse(n, s.from, s.to, "per-channel scale and bias must be constants to become per-group");
    }
    int64_t per = v->numel() / groups;
    std::vector<double> values(static_cast<size_t>(v->numel()));
    for (int64_t k = 0; k < v->numel(); ++k) values[k] = v->element_as_double(k);
    Tensor out = Tensor::empty(v->dtype(), {groups});
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t c = 1; c < per; ++c) {
        if (values[g * per + c] != values[g * per]) {
          refuse(n, s.from, s.to, "the channels of a group have different scales or biases");
        }
      }
      std::memcpy(static_cast<char*>(out.raw_data()) + g * dtype_size(v->dtype()),
                  static_cast<const char*>(v->raw_data()) + g * per * dtype_size(v->dtype()),
                  dtype_size(v->dtype()));
    }
    n.inputs[i] = s.builder.constant(n.input(i) + "_per_group", out);
  }
}

using Adapter = void (*)(Step&, Node&);

struct Change {
  int64_t version;  // the op takes its new form at this opset
  const char* op_type;
  Adapter up, down;
};

constexpr Change kChanges[] = {
    {18, "ReduceL1", reduce_axes_up, reduce_axes_down},
    {18, "ReduceL2", reduce_axes_up, reduce_axes_down},
    {18, "ReduceLogSum", reduce_axes_up, reduce_axes_down},
    {18, "ReduceLogSumExp", reduce_axes_up, reduce_axes_down},
    {18, "ReduceMax", reduce_axes_up, reduce_axes_down},
    {18, "ReduceMean", reduce_axes_up, reduce_axes_down},
    {18, "ReduceMin", reduce_axes_up, reduce_axes_down},
    {18, "ReduceProd", reduce_axes_up, reduce_axes_down},
    {18, "ReduceSumSquare", reduce_axes_up, reduce_axes_down},
    {20, "DFT", dft_axis_up, dft_axis_down},
    {20, "GridSample", grid_sample_up, grid_sample_down},
    {21, "GroupNormalization", group_norm_up, group_norm_down},
};

// Ops of the default domain first defined in opsets 18 to 23.
constexpr std::pair<const char*, int64_t> kIntroduced[] = {
    {"BitwiseAnd", 18},
    {"BitwiseNot", 18},
    {"BitwiseOr", 18},
    {"BitwiseXor", 18},
    {"CenterCropPad", 18},
    {"Col2Im", 18},
    {"GroupNormalization", 18},
    {"Mish", 18},
    {"DeformConv", 19},
    {"AffineGrid", 20},
    {"Gelu", 20},
    {"ImageDecoder", 20},
    {"RegexFullMatch", 20},
    {"StringConcat", 20},
    {"StringSplit", 20},
    {"Attention", 23},
    {"RMSNormalization", 23},
    {"RotaryEmbedding", 23},
};

bool default_domain(const Node& n) {
  return n.domain.empty() || n.domain == "ai.onnx";
}

// One step (to = from +- 1) over a graph and its subgraphs.
void step_graph(Graph& g, int64_t from, int64_t to) {
  bool up = to > from;
  int64_t version = std::max(from, to);  // the opset whose change this step makes or undoes
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (auto& a : g.nodes[i].attributes) {
      if (a.g) step_graph(*a.g, from, to);
      for (auto& sub : a.graphs) step_graph(*sub, from, to);
    }
    if (!default_domain(g.nodes[i])) continue;
    if (!up) {
      for (const auto& [op, since] : kIntroduced) {
        if (g.nodes[i].op_type == op && since == version) {
          refuse(g.nodes[i], from, to,
                 std::string(op) + " exists from opset " + std::to_string(since));
        }
      }
    }
    for (const Change& c : kChanges) {
      if (c.version != version || g.nodes[i].op_type != c.op_type) continue;
      // New nodes (constants are initializers) go just before the node they feed, so the
      // graph stays in topological order.
      size_t before = g.nodes.size();
      Node node = g.nodes[i];
      ir::GraphBuilder b(g);
      Step s{g, b, from, to};
      (up ? c.up : c.down)(s, node);
      std::vector<Node> added(std::make_move_iterator(g.nodes.begin() + before),
                              std::make_move_iterator(g.nodes.end()));
      g.nodes.resize(before);
      g.nodes[i] = std::move(node);
      g.nodes.insert(g.nodes.begin() + i, std::make_move_iterator(added.begin()),
                     std::make_move_iterator(added.end()));
      i += added.size();
    }
  }
}

}  // namespace

int64_t ir_version_for_opset(int64_t opset) {
  // IR.md's release table: the IR version released with each opset.
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  if (opset <= 23) return 11;
  if (opset <= 25) return 12;
  return 13;
}

void step_opset(ir::Model& model, int64_t from, int64_t to) {
  if (from < kFirstOwnStep || to < kFirstOwnStep || from > kLastOwnStep || to > kLastOwnStep) {
    fail(ErrorKind::Unsupported, model.name_for_errors(), ": onyx converts opsets ", kFirstOwnStep,
         " to ", kLastOwnStep, " itself; asked for ", from, " to ", to);
  }
  for (int64_t v = from; v != to; v += to > from ? 1 : -1) {
    int64_t next = to > from ? v + 1 : v - 1;
    step_graph(*model.graph, v, next);
    for (auto& t : model.training_info) {
      step_graph(*t.initialization, v, next);
      step_graph(*t.algorithm, v, next);
    }
  }
  model.set_opset("", to);
  // Up: at least the IR of the new opset. Down: no newer than the IR of the old one, so
  // runtimes of that time load it.
  model.ir_version = to > from ? std::max(model.ir_version, ir_version_for_opset(to))
                               : std::min(model.ir_version, ir_version_for_opset(to));
}

}  // namespace onyx::onnx_io
