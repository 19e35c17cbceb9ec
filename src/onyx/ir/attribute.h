// Node attributes, one struct for every AttributeProto type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onyx/core/tensor.h"
#include "onyx/ir/types.h"

namespace onyx::ir {

struct Graph;

enum class AttrType {
  Undefined = 0,
  Float = 1,
  Int = 2,
  String = 3,
  Tensor = 4,
  Graph = 5,
  Floats = 6,
  Ints = 7,
  Strings = 8,
  Tensors = 9,
  Graphs = 10,
  SparseTensor = 11,
  SparseTensors = 12,
  TypeProto = 13,
  TypeProtos = 14,
};

const char* attr_type_name(AttrType t);

struct Attribute {
  std::string name;
  AttrType type = AttrType::Undefined;
  std::string ref_attr_name;  // inside function bodies: refers to the caller's attribute
  std::string doc_string;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::vector<TypeInfo> type_protos;  // TYPE_PROTO(S)
  // Sparse tensor attributes stay serialized: no kernel reads them, round trip keeps them.
  std::vector<std::string> sparse_tensors_serialized;
};

}  // namespace onyx::ir
