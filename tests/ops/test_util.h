// Helpers for kernel tests: build a one-node model in memory and run it.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "onyx/ir/graph.h"
#include "onyx/runtime/session.h"

namespace onyx::testing {

// A model with one node of `op_type`; inputs named "in0".."inN" (empty type: any), outputs
// "out0".."outM". Attributes are given already built.
inline ir::Model single_node_model(const std::string& op_type, size_t num_inputs,
                                   size_t num_outputs, std::vector<ir::Attribute> attrs = {},
                                   int64_t opset = 17, const std::string& domain = "") {
  ir::Model m;
  m.set_opset("", opset);
  if (!domain.empty()) m.set_opset(domain, 1);
  ir::Node n;
  n.name = "n0";
  n.op_type = op_type;
  n.domain = domain;
  for (size_t i = 0; i < num_inputs; ++i) {
    n.inputs.push_back("in" + std::to_string(i));
    m.graph->inputs.push_back({"in" + std::to_string(i), {}, ""});
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    n.outputs.push_back("out" + std::to_string(i));
    m.graph->outputs.push_back({"out" + std::to_string(i), {}, ""});
  }
  n.attributes = std::move(attrs);
  m.graph->nodes.push_back(std::move(n));
  return m;
}

inline ir::Attribute attr_int(const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::Int;
  a.i = v;
  return a;
}
inline ir::Attribute attr_float(const std::string& name, float v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::Float;
  a.f = v;
  return a;
}
inline ir::Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::Ints;
  a.ints = std::move(v);
  return a;
}
inline ir::Attribute attr_string(const std::string& name, std::string v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::String;
  a.s = std::move(v);
  return a;
}

// Runs the model once with inputs in0..inN and returns its outputs.
// Values drawn uniformly from [lo, hi), seeded: float32, or float64 when `t` says so.
inline Tensor random_tensor(Shape shape, uint32_t seed, double lo = -1, double hi = 1,
                            DType t = DType::Float32) {
  std::mt19937 rng(seed);
  Tensor v = Tensor::empty(t, std::move(shape));
  if (t == DType::Float64) {
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < v.numel(); ++i) v.data<double>()[i] = u(rng);
  } else {
    std::uniform_real_distribution<float> u(static_cast<float>(lo), static_cast<float>(hi));
    for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = u(rng);
  }
  return v;
}

inline std::vector<Value> run_model(ir::Model model, const std::vector<Tensor>& inputs,
                                    int threads = 1) {
  runtime::SessionOptions so;
  so.threads = threads;
  runtime::Session s(std::move(model), so);
  runtime::NamedValues feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined()) feeds.emplace_back("in" + std::to_string(i), inputs[i]);
  }
  return s.run(feeds);
}

// The message of the error a run of `m` ends in ("" when it succeeds), and its kind.
inline std::string error_of(ir::Model m, const std::vector<Tensor>& inputs,
                            ErrorKind* kind = nullptr) {
  try {
    run_model(std::move(m), inputs);
  } catch (const Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

}  // namespace onyx::testing
