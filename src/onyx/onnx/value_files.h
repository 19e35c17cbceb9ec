// Tensor files: ONNX .pb (TensorProto, SequenceProto, OptionalProto) and NumPy .npy.
#pragma once

#include <string>

#include "onyx/core/value.h"
#include "onyx/ir/types.h"

namespace onyx::onnx_io {

// Reads a .pb or .npy file (by extension). For .pb, `hint` says which proto the file
// holds (a sequence or optional graph input); without one a TensorProto is assumed, then
// SequenceProto and OptionalProto are tried.
Value load_value_file(const std::string& path, const ir::TypeInfo* hint = nullptr);
Value parse_value_pb(const std::string& bytes, const ir::TypeInfo* hint,
                     const std::string& context);

void save_value_pb(const Value& value, const std::string& name, const std::string& path);
Tensor load_npy(const std::string& path);
Tensor parse_npy(const std::string& bytes, const std::string& context);
void save_npy(const Tensor& t, const std::string& path);

}  // namespace onyx::onnx_io
