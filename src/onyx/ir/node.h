// A node: one operator application. Values are referred to by name, as in ONNX; the
// empty name marks an omitted optional input or output.
#pragma once

#include <string>
#include <vector>

#include "onyx/ir/attribute.h"

namespace onyx::ir {

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is ai.onnx
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string doc_string;
  std::string extra;  // serialized NodeProto fields the IR does not model

  const Attribute* find_attr(const std::string& attr_name) const;
  // Typed accessors: return `fallback` when absent, throw InvalidModel on a wrong type.
  int64_t attr_int(const std::string& attr_name, int64_t fallback) const;
  float attr_float(const std::string& attr_name, float fallback) const;
  std::string attr_string(const std::string& attr_name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& attr_name,
                                 const std::vector<int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(const std::string& attr_name,
                                 const std::vector<float>& fallback = {}) const;
  std::vector<std::string> attr_strings(const std::string& attr_name) const;
  bool has_attr(const std::string& attr_name) const { return find_attr(attr_name) != nullptr; }

  // "node 'conv1' (Conv)" — the prefix of every error about this node.
  std::string describe() const;
  // Name of input i, or "" when absent.
  const std::string& input(size_t i) const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

}  // namespace onyx::ir
