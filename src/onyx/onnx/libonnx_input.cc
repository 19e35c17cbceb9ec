#include "onyx/onnx/libonnx_input.h"

#include <limits>
#include <unordered_map>

#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onyx/core/error.h"
#include "onyx/onnx/model_io.h"

namespace onyx::onnx_io {

namespace {

// Op versions whose libonnx 1.12 inference reads dimension 0 of these inputs without
// checking the rank (each SEGVs on a rank-0 input, found by a sweep of every schema).
struct RankNeed {
  const char* op;
  int since_version;  // the schema's version, as OpSchema::SinceVersion gives it
  std::vector<size_t> inputs;
};
const std::vector<RankNeed> kRankNeeds = {
    {"Gemm", 6, {0, 1}}, {"LSTM", 1, {0}}, {"GRU", 3, {0}}, {"RNN", 1, {0}}, {"STFT", 17, {0}},
};

// The node's domain as libonnx's registry names it ("" for ai.onnx).
std::string libonnx_domain(const ir::Node& n) {
  return n.domain == "ai.onnx" ? "" : n.domain;
}

const onnx::OpSchema* schema_of(const ir::Model& model, const ir::Node& n) {
  std::string domain = libonnx_domain(n);
  int64_t opset = model.opset(domain);
  if (opset <= 0 || opset > std::numeric_limits<int>::max()) return nullptr;
  return onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(opset), domain);
}

// The newest opset of the node's domain that libonnx has schemas for.
int64_t last_known_opset(const ir::Node& n) {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = ranges.find(libonnx_domain(n));
  return it == ranges.end() ? 0 : it->second.second;
}

// Ranks known before inference: declared types, initializers and Constant nodes, by name,
// in this scope and those around it.
using Ranks = std::unordered_map<std::string, size_t>;

void check_nodes(const ir::Model& model, const ir::Graph& g, Ranks ranks) {
  for (const auto* list : {&g.inputs, &g.value_info}) {
    for (const auto& v : *list) {
      if (v.type.kind == ir::TypeInfo::Kind::Tensor && v.type.shape)
        ranks[v.name] = v.type.shape->size();
    }
  }
  for (const auto& init : g.initializers) ranks[init.name] = init.value.shape().size();
  for (const ir::Node& n : g.nodes) {
    if (n.op_type == "Constant" && !n.outputs.empty()) {
      if (auto c = g.constant_value(n.outputs[0])) ranks[n.outputs[0]] = c->shape().size();
    }
  }
  for (const ir::Node& n : g.nodes) {
    if (const onnx::OpSchema* schema = schema_of(model, n)) {
      // libonnx's inference reads the types of as many inputs as the schema requires,
      // unchecked. (An empty name in a required place can be meant: Resize-11's scales
      // beside sizes.) Past the opsets libonnx knows its schema may be older than the
      // node's (DFT-20 took an axis input): then only too few inputs are refused, which
      // no version has allowed.
      int count = static_cast<int>(n.inputs.size());
      bool current = model.opset(libonnx_domain(n)) <= last_known_opset(n);
      if (count < schema->min_input() || (current && count > schema->max_input())) {
        fail(ErrorKind::InvalidModel, n.describe(), ": ", count, " inputs, where ", n.op_type, "-",
             schema->SinceVersion(), " takes ", schema->min_input(), " to ", schema->max_input());
      }
      for (const auto& [name, attr] : schema->attributes()) {
        if (attr.required && !n.find_attr(name)) {
          fail(ErrorKind::InvalidModel, n.describe(), ": attribute '", name, "' is required (",
               n.op_type, "-", schema->SinceVersion(), ")");
        }
      }
      for (const RankNeed& need : kRankNeeds) {
        if (n.op_type != need.op || schema->SinceVersion() != need.since_version) continue;
        for (size_t i : need.inputs) {
          auto it = ranks.find(n.input(i));
          if (it != ranks.end() && it->second == 0) {
            fail(ErrorKind::InvalidModel, n.describe(), ": input ", i, " ('", n.input(i),
                 "') is a scalar; ", n.op_type, " needs at least one dimension");
          }
        }
      }
    }
    for (const auto& attr : n.attributes) {
      if (attr.g) check_nodes(model, *attr.g, ranks);
      for (const auto& sub : attr.graphs) check_nodes(model, *sub, ranks);
    }
  }
}

bool typed(const onnx::ValueInfoProto& v) {
  return v.type().value_case() != onnx::TypeProto::VALUE_NOT_SET;
}

// The values Shape nodes read, in `g` and its subgraphs.
void shape_reads(const onnx::GraphProto& g, std::unordered_set<std::string>* reads) {
  for (const auto& n : g.node()) {
    bool shape = n.op_type() == "Shape" && (n.domain().empty() || n.domain() == "ai.onnx");
    if (shape && n.input_size() > 0 && !n.input(0).empty()) reads->insert(n.input(0));
    for (const auto& a : n.attribute()) {
      if (a.has_g()) shape_reads(a.g(), reads);
      for (const auto& sub : a.graphs()) shape_reads(sub, reads);
    }
  }
}

// Declares a tensor type for each of `wanted` that `g` or a subgraph defines (as an input
// or a node output) without a type, where it is defined; collects their names.
void declare_untyped(onnx::GraphProto* g, const std::unordered_set<std::string>& wanted,
                     std::unordered_set<std::string>* declared) {
  std::unordered_set<std::string> typed_here;
  for (const auto* list : {&g->value_info(), &g->output()}) {
    for (const auto& v : *list) {
      if (typed(v)) typed_here.insert(v.name());
    }
  }
  for (const auto& t : g->initializer()) typed_here.insert(t.name());
  for (auto& in : *g->mutable_input()) {
    if (wanted.count(in.name()) && !typed(in) && !typed_here.count(in.name())) {
      in.mutable_type()->mutable_tensor_type();
      declared->insert(in.name());
    }
  }
  std::vector<std::string> outputs;
  for (auto& n : *g->mutable_node()) {
    for (const auto& o : n.output()) {
      if (wanted.count(o) && !typed_here.count(o)) outputs.push_back(o);
    }
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) declare_untyped(a.mutable_g(), wanted, declared);
      for (auto& sub : *a.mutable_graphs()) declare_untyped(&sub, wanted, declared);
    }
  }
  for (const auto& o : outputs) {
    auto* vi = g->add_value_info();
    vi->set_name(o);
    vi->mutable_type()->mutable_tensor_type();
    declared->insert(o);
  }
}

}  // namespace

void libonnx_proto(const ir::Model& model, onnx::ModelProto* proto) {
  model.graph->check_references();
  // Up to IR 3 every initializer is also a graph input (IR.md); libonnx's import finds an
  // initializer that is not one nowhere and reads through a null value (fuzz_training).
  if (model.ir_version <= 3) {
    for (const auto& init : model.graph->initializers) {
      if (!model.graph->find_input(init.name)) {
        fail(ErrorKind::InvalidModel, "initializer '", init.name,
             "' is not a graph input, as IR version ", model.ir_version, " requires");
      }
    }
  }
  check_nodes(model, *model.graph, {});
  model_to_proto(model, proto);
}

std::unordered_set<std::string> libonnx_inference_proto(const ir::Model& model,
                                                        onnx::ModelProto* proto) {
  libonnx_proto(model, proto);
  std::unordered_set<std::string> reads, declared;
  shape_reads(proto->graph(), &reads);
  declare_untyped(proto->mutable_graph(), reads, &declared);
  return declared;
}

}  // namespace onyx::onnx_io
