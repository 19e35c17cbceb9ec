#include "onyx/ir/node.h"

namespace onyx::ir {

const char* attr_type_name(AttrType t) {
  static const char* names[] = {"undefined",      "float",      "int",        "string",
                                "tensor",         "graph",      "floats",     "ints",
                                "strings",        "tensors",    "graphs",     "sparse_tensor",
                                "sparse_tensors", "type_proto", "type_protos"};
  int i = static_cast<int>(t);
  return i >= 0 && i < 15 ? names[i] : "unknown";
}

const Attribute* Node::find_attr(const std::string& attr_name) const {
  for (const auto& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

namespace {
const Attribute* typed(const Node& n, const std::string& attr_name, AttrType want) {
  const Attribute* a = n.find_attr(attr_name);
  if (a && a->type != want) {
    fail(ErrorKind::InvalidModel, n.describe(), ": attribute '", attr_name, "' must be of type ",
         attr_type_name(want), ", got ", attr_type_name(a->type));
  }
  return a;
}
}  // namespace

int64_t Node::attr_int(const std::string& attr_name, int64_t fallback) const {
  const Attribute* a = typed(*this, attr_name, AttrType::Int);
  return a ? a->i : fallback;
}

float Node::attr_float(const std::string& attr_name, float fallback) const {
  const Attribute* a = typed(*this, attr_name, AttrType::Float);
  return a ? a->f : fallback;
}

std::string Node::attr_string(const std::string& attr_name, const std::string& fallback) const {
  const Attribute* a = typed(*this, attr_name, AttrType::String);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& attr_name,
                                     const std::vector<int64_t>& fallback) const {
  const Attribute* a = typed(*this, attr_name, AttrType::Ints);
  return a ? a->ints : fallback;
}

std::vector<float> Node::attr_floats(const std::string& attr_name,
                                     const std::vector<float>& fallback) const {
  const Attribute* a = typed(*this, attr_name, AttrType::Floats);
  return a ? a->floats : fallback;
}

std::vector<std::string> Node::attr_strings(const std::string& attr_name) const {
  const Attribute* a = typed(*this, attr_name, AttrType::Strings);
  return a ? a->strings : std::vector<std::string>{};
}

std::string Node::describe() const {
  std::string op = domain.empty() ? op_type : domain + "." + op_type;
  if (name.empty()) {
    std::string first = outputs.empty() ? std::string("?") : outputs[0];
    return "node producing '" + first + "' (" + op + ")";
  }
  return "node '" + name + "' (" + op + ")";
}

const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}

}  // namespace onyx::ir
