#include "onyx/runtime/layout.h"

#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "onyx/ir/builder.h"
#include "onyx/ops/conv_dnnl.h"
#include "onyx/ops/registry.h"

namespace onyx::runtime {

namespace {

// Elementwise ops that give finite values on the zero padding channels, so those stay
// harmless for the convolutions that multiply them by zero weights.
constexpr std::string_view kUnary[] = {"Relu",        "LeakyRelu", "Clip", "Sigmoid",
                                       "HardSigmoid", "HardSwish", "Tanh", "Identity"};
constexpr std::string_view kBinary[] = {"Add", "Sub", "Mul", "Max", "Min"};
constexpr std::string_view kPools[] = {"MaxPool", "AveragePool", "GlobalMaxPool",
                                       "GlobalAveragePool"};

bool listed(std::span<const std::string_view> ops, const std::string& op) {
  for (std::string_view o : ops) {
    if (o == op) return true;
  }
  return false;
}

// Add(conv, r) with both blocked, where the blocked Conv's only reader is the Add, becomes
// the Conv with r as a fourth input (oneDNN adds it as a post-op); a Relu that is then the
// only reader is folded in after it. The Conv must have no activation of its own: that
// would apply before the Add.
void fold_residual_adds(ir::Graph& g, const std::unordered_set<std::string>& blocked) {
  std::unordered_map<std::string, int> reads = ir::value_reads(g);
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs) producer[o] = i;
  }
  auto sole_reader = [&](const std::string& v, const char* op) -> ir::Node* {
    if (reads[v] != 1) return nullptr;
    for (auto& n : g.nodes) {
      if (n.domain.empty() && n.op_type == op && n.inputs.size() >= 1 && n.inputs[0] == v)
        return &n;
    }
    return nullptr;
  };
  std::vector<bool> dropped(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& add = g.nodes[i];
    if (!add.domain.empty() || add.op_type != "Add" || add.inputs.size() != 2 ||
        !blocked.count(add.inputs[0]) || !blocked.count(add.inputs[1]) ||
        add.inputs[0] == add.inputs[1])
      continue;
    for (size_t side = 0; side < 2; ++side) {
      auto p = producer.find(add.inputs[side]);
      if (p == producer.end() || dropped[p->second]) continue;
      ir::Node& conv = g.nodes[p->second];
      if (conv.domain != ops::kRuntimeDomain || conv.op_type != "Conv" || conv.inputs.size() > 3 ||
          conv.has_attr("_onyx_activation") || reads[conv.outputs[0]] != 1)
        continue;
      conv.inputs.resize(3);  // B may be absent: ""
      conv.inputs.push_back(add.inputs[1 - side]);
      conv.outputs[0] = add.outputs[0];
      dropped[i] = true;
      if (ir::Node* relu = sole_reader(add.outputs[0], "Relu")) {
        conv.attributes.push_back(ir::attr("_onyx_activation", "Relu"));
        conv.outputs[0] = relu->outputs[0];
        dropped[static_cast<size_t>(relu - g.nodes.data())] = true;
      }
      break;
    }
  }
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!dropped[i]) kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
}

struct Blocked {
  int64_t channels;
  int64_t rank;      // of the plain value
  std::string name;  // of the blocked value
};

}  // namespace

std::shared_ptr<const ir::Graph> block_conv_layouts(std::shared_ptr<const ir::Graph> graph) {
  const ir::Graph& g = *graph;
  std::unordered_set<std::string> fed, names;
  for (const auto& in : g.inputs) fed.insert(in.name);
  for (const auto& in : g.inputs) names.insert(in.name);
  for (const auto& init : g.initializers) names.insert(init.name);
  for (const auto& n : g.nodes) names.insert(n.outputs.begin(), n.outputs.end());

  std::unordered_map<std::string, Blocked> blocked;  // by the plain value's name
  std::vector<std::vector<size_t>> reads_blocked(g.nodes.size());
  std::vector<ir::Node> nodes = g.nodes;  // rewritten in place: domain, attributes
  for (size_t i : g.topological_order()) {
    ir::Node& n = nodes[i];
    bool swish = n.domain == ops::kRuntimeDomain && n.op_type == "Swish";  // x * Sigmoid(x)
    if ((!n.domain.empty() && !swish) || n.outputs.size() != 1 || n.outputs[0].empty() ||
        n.inputs.empty())
      continue;
    auto in0 = blocked.find(n.inputs[0]);
    std::optional<Blocked> result;  // the output's layout, when blocked
    if (n.op_type == "Conv") {
      const ir::Initializer* w = n.inputs.size() > 1 && !fed.count(n.inputs[1])
                                     ? g.find_initializer(n.inputs[1])
                                     : nullptr;
      if (!w || w->value.dtype() != DType::Float32 || w->value.rank() < 3 || w->value.rank() > 5)
        continue;
      const Tensor& wt = w->value;
      if (in0 != blocked.end() && in0->second.rank == wt.rank() &&
          in0->second.channels == wt.dim(1) * n.attr_int("group", 1))
        reads_blocked[i].push_back(0);
      n.domain = ops::kRuntimeDomain;
      result = Blocked{wt.dim(0), wt.rank(), ""};
    } else if (in0 == blocked.end()) {
      continue;  // every other op needs X blocked already
    } else if (swish || listed(kUnary, n.op_type)) {
      reads_blocked[i].push_back(0);
      result = in0->second;
    } else if (n.op_type == "BatchNormalization") {
      // Inference mode only (one output): a scale and shift per channel.
      if (n.inputs.size() != 5 || n.attr_int("training_mode", 0) != 0 ||
          n.attr_int("spatial", 1) != 1 || in0->second.rank < 3 || in0->second.rank > 5)
        continue;
      reads_blocked[i].push_back(0);
      n.domain = ops::kRuntimeDomain;
      result = in0->second;
    } else if (listed(kPools, n.op_type)) {
      // Windows over the spatial dimensions: the runtime's blocked pooling (ops/blocked.cc).
      if (in0->second.rank < 3 || in0->second.rank > 5) continue;
      reads_blocked[i].push_back(0);
      n.domain = ops::kRuntimeDomain;
      result = in0->second;
    } else if (listed(kBinary, n.op_type) || n.op_type == "Concat") {
      // Broadcasting between blocked tensors is right when the channels and ranks agree:
      // the batch and spatial dimensions broadcast as before, the blocks line up. A
      // Concat over channels is one over blocks when every input but the last fills its
      // blocks.
      bool concat = n.op_type == "Concat";
      int64_t rank = in0->second.rank, axis = n.attr_int("axis", 0), channels = 0;
      if (concat && axis != 1 && axis != 1 - rank) continue;
      bool all = true;
      for (size_t k = 0; all && k < n.inputs.size(); ++k) {
        auto it = blocked.find(n.inputs[k]);
        all = it != blocked.end() && it->second.rank == rank &&
              (concat ? k + 1 == n.inputs.size() || it->second.channels % ops::kChannelBlock == 0
                      : it->second.channels == in0->second.channels);
        if (all) channels += it->second.channels;
      }
      if (!all) continue;
      for (size_t k = 0; k < n.inputs.size(); ++k) reads_blocked[i].push_back(k);
      result = Blocked{concat ? channels : in0->second.channels, rank, ""};
      if (concat) {
        for (auto& at : n.attributes) {
          if (at.name == "axis") at.i = 1;  // the blocked rank is one more
        }
      }
    }
    if (result) blocked[n.outputs[0]] = *result;
  }
  if (blocked.empty()) return graph;

  for (auto& [plain, b] : blocked) {
    b.name = plain + "/blocked";
    while (names.count(b.name)) b.name += "_";
    names.insert(b.name);
  }
  // Readers that need the plain value: every read (subgraphs and graph outputs included)
  // but those rewired to the blocked one.
  std::unordered_map<std::string, int> plain_reads = ir::value_reads(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (size_t k : reads_blocked[i]) --plain_reads[g.nodes[i].inputs[k]];
  }

  auto out = std::make_shared<ir::Graph>(g);
  out->nodes.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    ir::Node& n = nodes[i];
    for (size_t k : reads_blocked[i]) n.inputs[k] = blocked.at(n.inputs[k]).name;
    auto b = n.outputs.size() == 1 ? blocked.find(n.outputs[0]) : blocked.end();
    if (b == blocked.end()) {
      out->nodes.push_back(std::move(n));
      continue;
    }
    n.outputs[0] = b->second.name;
    out->nodes.push_back(std::move(n));
    if (!plain_reads[b->first]) continue;
    ir::Node back;
    back.op_type = "FromBlocked";
    back.domain = ops::kRuntimeDomain;
    back.name = b->first + "/FromBlocked";
    back.inputs = {b->second.name};
    back.outputs = {b->first};
    back.attributes.push_back(ir::attr("channels", b->second.channels));
    out->nodes.push_back(std::move(back));
  }
  std::unordered_set<std::string> blocked_names;
  for (const auto& [plain, b] : blocked) blocked_names.insert(b.name);
  fold_residual_adds(*out, blocked_names);
  return out;
}

}  // namespace onyx::runtime
